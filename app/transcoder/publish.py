"""Progressive publishing: a video plays while it is transcoded, and its upload hides behind ffmpeg.

ffmpeg writes each rendition as an HLS EVENT playlist (``graph.py``), rewritten, through a
temporary file, each time a segment is complete; a segment is complete once its playlist lists
it. While ffmpeg runs, a thread uploads every listed segment (the init segment first) under its
final key, then the playlist that lists it, so a player reloading the EVENT playlist never
meets a segment that is not there. Once the lowest rung lists a segment, the master playlist
goes up too, listing that rung alone, and ``on_playable`` is told (the worker reports it on a
``transcoding`` event: ``ProgressEventV1.playable``). The lowest rung because every rung
advances together in the single-decode ladder, and the lowest is the one any viewer's network
carries; the worker's final upload replaces the master playlist with the whole ladder and each
playlist with its VOD form, ENDLIST included, and reports ready.

Why progressively rather than rung by rung: with one decode feeding every rung, no rung is
complete before ffmpeg ends, so "the first complete rung" is the whole ladder; the lowest rung's
first segment is one segment duration of video into the transcode.

A failed or killed attempt leaves an EVENT playlist without its end: the video stays
``transcoding`` (or becomes ``failed``, which the backend never plays), and the task's next
attempt writes the same keys again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from app.transcoder.hls import OutputError, describe_variant, master_playlist, segments

logger = logging.getLogger("app.transcoder")

_POLL_SECONDS = 0.5
INIT_SEGMENT = "init.mp4"
EVENT_TYPE = "#EXT-X-PLAYLIST-TYPE:EVENT"
VOD_TYPE = "#EXT-X-PLAYLIST-TYPE:VOD"
ENDLIST = "#EXT-X-ENDLIST"

Put = Callable[[str, Path], None]
"""Upload the file at the path under the key (relative to the task's prefix)."""


def finish_playlists(root: Path) -> None:
    """Once ffmpeg has ended: every finished EVENT playlist under ``root`` becomes the VOD
    playlist it now is (RFC 8216, 4.3.3.5: a VOD playlist cannot change)."""
    for playlist in root.rglob("*.m3u8"):
        text = playlist.read_text()
        if EVENT_TYPE in text and ENDLIST in text:
            playlist.write_text(text.replace(EVENT_TYPE, VOD_TYPE))


class ProgressivePublisher:
    """Uploads the renditions' segments and EVENT playlists under ``root`` while ffmpeg writes them.

    ``playlists`` are the media playlists relative to ``root`` (the renditions' and the audio-only
    variant's), ``lowest`` the lowest rung's height and playlist; ``put`` uploads under the
    relative name (an error stops publishing, e.g. the video was deleted);
    ``on_playable(heights)`` is called once, after the master playlist listing the lowest rung is
    uploaded.
    """

    def __init__(
        self,
        root: Path,
        playlists: list[str],
        lowest: tuple[int, str],
        frame_rate: float,
        put: Put,
        on_playable: Callable[[list[int]], None],
        poll_seconds: float = _POLL_SECONDS,
    ) -> None:
        self._root = root
        self._playlists = playlists
        self._lowest = lowest
        self._frame_rate = frame_rate
        self._put = put
        self._on_playable = on_playable
        self._poll_seconds = poll_seconds
        self.published: dict[str, int] = {}
        """Relative path → size of every segment uploaded; they never change once listed."""
        self._listed: dict[str, int] = {}
        self.playable = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)

    def __enter__(self) -> ProgressivePublisher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            try:
                self.publish_once()
            except Exception:
                # Publishing early is a head start, not the record: the worker's final upload
                # sends whatever did not go up (and a deleted video stops ffmpeg by itself).
                logger.warning("stopped publishing early; the final upload sends the rest", exc_info=True)
                return

    def publish_once(self) -> None:
        """Upload what ffmpeg has completed since the last call."""
        for playlist in self._playlists:
            self._publish_rendition(playlist)
        lowest_height, lowest = self._lowest
        if not self.playable and self._listed.get(lowest, 0) > 0:
            variant = describe_variant(self._root, lowest, self._frame_rate)
            master = self._root / "master.m3u8"
            master.write_text(master_playlist([variant]))
            self._put("master.m3u8", master)
            self.playable = True
            self._on_playable([lowest_height])

    def _publish_rendition(self, playlist: str) -> None:
        path = self._root / playlist
        # A snapshot of what ffmpeg last renamed into place: what it lists is what goes up.
        snapshot = path.with_name(f"{path.stem}.published{path.suffix}")
        try:
            snapshot.write_bytes(path.read_bytes())
            listed = segments(snapshot)
        except (FileNotFoundError, OutputError):
            return  # no segment complete yet
        try:
            if len(listed) == self._listed.get(playlist, 0):
                return
            for segment in [path.parent / INIT_SEGMENT] + [file for _, file in listed]:
                name = segment.relative_to(self._root).as_posix()
                if name not in self.published:
                    self._put(name, segment)
                    self.published[name] = segment.stat().st_size
            self._put(playlist, snapshot)  # after its segments: a player finds each one it lists
            self._listed[playlist] = len(listed)
        finally:
            snapshot.unlink()
