"""Progressive publishing over files as ffmpeg leaves them, without ffmpeg: what goes up, in what order."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.transcoder import publish
from app.transcoder.hls import Variant
from app.transcoder.publish import ProgressivePublisher, finish_playlists

HEADER = '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MAP:URI="init.mp4"\n'


def _write(root: Path, rung: str, segments: int, *, ended: bool = False) -> None:
    folder = root / rung
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "init.mp4").write_bytes(b"init")
    text = HEADER
    for n in range(segments):
        (folder / f"seg_{n:05d}.m4s").write_bytes(b"x" * 100)
        text += f"#EXTINF:4.000000,\nseg_{n:05d}.m4s\n"
    (folder / "index.m3u8").write_text(text + ("#EXT-X-ENDLIST\n" if ended else ""))


def _publisher(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[ProgressivePublisher, list[tuple[str, str]], list[list[int]]]:
    uploads: list[tuple[str, str]] = []
    playable: list[list[int]] = []
    monkeypatch.setattr(
        publish,
        "describe_variant",
        lambda _root, playlist, rate: Variant(
            playlist, 426, 240, 500_000, 400_000, "avc1.64001e,mp4a.40.2", rate
        ),
    )
    publisher = ProgressivePublisher(
        root,
        ["240p/index.m3u8", "720p/index.m3u8"],
        (240, "240p/index.m3u8"),
        30.0,
        lambda name, path: uploads.append((name, path.read_text(errors="replace"))),
        playable.append,
    )
    return publisher, uploads, playable


def test_nothing_goes_up_before_a_rung_lists_a_segment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, "240p", 0)
    publisher, uploads, playable = _publisher(tmp_path, monkeypatch)
    publisher.publish_once()
    assert uploads == [] and playable == []


def test_segments_go_up_before_the_playlist_that_lists_them_and_each_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, "240p", 1)
    _write(tmp_path, "720p", 1)
    publisher, uploads, playable = _publisher(tmp_path, monkeypatch)
    publisher.publish_once()
    names = [name for name, _ in uploads]
    assert names == [
        "240p/init.mp4",
        "240p/seg_00000.m4s",
        "240p/index.m3u8",
        "720p/init.mp4",
        "720p/seg_00000.m4s",
        "720p/index.m3u8",
        "master.m3u8",
    ]
    # The master playlist lists the lowest rung alone, and says so once.
    assert uploads[-1][1].splitlines()[-1] == "240p/index.m3u8" and "720p" not in uploads[-1][1]
    assert playable == [[240]]

    uploads.clear()
    publisher.publish_once()  # nothing new
    assert uploads == []
    _write(tmp_path, "240p", 2)
    publisher.publish_once()
    assert [name for name, _ in uploads] == ["240p/seg_00001.m4s", "240p/index.m3u8"]
    assert playable == [[240]]
    assert publisher.published == {
        "240p/init.mp4": 4,
        "240p/seg_00000.m4s": 100,
        "240p/seg_00001.m4s": 100,
        "720p/init.mp4": 4,
        "720p/seg_00000.m4s": 100,
    }
    # The snapshot it uploads the playlist from is gone, so the final upload never sees it.
    assert sorted(p.name for p in (tmp_path / "240p").glob("*.m3u8")) == ["index.m3u8"]


def test_an_upload_that_fails_stops_publishing_and_leaves_the_rest_to_the_final_upload(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path, "240p", 1)
    calls: list[str] = []

    def refuse(name: str, _path: Path) -> None:
        calls.append(name)
        raise RuntimeError("the video was deleted")

    publisher = ProgressivePublisher(
        tmp_path,
        ["240p/index.m3u8"],
        (240, "240p/index.m3u8"),
        30.0,
        refuse,
        lambda _h: None,
        poll_seconds=0.01,
    )
    with publisher:
        for _ in range(1000):  # bounds the wait for the thread's first upload
            if "stopped publishing early" in caplog.text:
                break
            publisher._stop.wait(0.01)
        _write(tmp_path, "240p", 2)
        publisher._stop.wait(0.05)
    assert calls == ["240p/init.mp4"] and publisher.published == {} and not publisher.playable
    assert "stopped publishing early" in caplog.text


def test_a_finished_event_playlist_becomes_vod_and_an_unfinished_one_stays_event(tmp_path: Path) -> None:
    _write(tmp_path, "240p", 2, ended=True)
    _write(tmp_path, "720p", 1)
    finish_playlists(tmp_path)
    finished = (tmp_path / "240p" / "index.m3u8").read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in finished and "EVENT" not in finished
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in (tmp_path / "720p" / "index.m3u8").read_text()
