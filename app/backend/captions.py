"""Caption tracks: an owner's WebVTT or SRT files, stored as WebVTT and published as HLS
subtitle renditions.

Plain functions over a SQLAlchemy session and the AWS clients; no Flask here.

A track is a WebVTT file and a one-segment HLS media playlist over it, under the video's
captions prefix (``contracts.names.caption_key_prefix``), named after their content so the media
edge never serves a stale copy of a replaced track. The transcoder's master playlist does not
change after transcoding; the backend writes a second one beside the tracks, the transcoder's
with an ``EXT-X-MEDIA`` line per track and ``SUBTITLES`` on every variant, and plays that one
while it was built over the video's current master playlist (``playback_key``).

An owner may add tracks before the video is ready (with the upload): they are stored then, and
published by the status consumer with the ready event's record (``publish_for_ready``).
"""

from __future__ import annotations

import hashlib
import logging
import math
import posixpath
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.backend import caption_files
from app.backend.aws import AwsClients
from app.backend.caption_files import CaptionError, CaptionFormat, Cue
from app.backend.models import CaptionTrack, Video, utcnow
from app.contracts.errors import ApiError
from app.contracts.messages import ProgressEventV1, VideoState
from app.contracts.names import caption_key_prefix
from app.contracts.settings import BackendSettings

log = logging.getLogger(__name__)

# A feature film's subtitles take 50-150 KB; 512 KiB leaves room for dense or styled ones and
# stays well inside the API's 1 MiB request body once JSON-escaped.
MAX_CAPTION_BYTES = 512 * 1024
MAX_TRACKS_PER_VIDEO = 20
SUBTITLES_GROUP = "subs"
VTT_TYPE = "text/vtt; charset=utf-8"
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"


@dataclass(frozen=True)
class TrackEntry:
    """What the master playlist says of one track."""

    language: str
    label: str
    playlist_name: str
    """The track's media playlist, relative to the captions prefix (where the master lives)."""


def _content_name(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def subtitle_playlist(vtt_name: str, duration_seconds: float) -> str:
    """A VOD media playlist of one WebVTT segment spanning the whole video (RFC 8216 sections
    3.5, 4.3.3.1: the target duration is the segment's duration rounded up)."""
    return "\n".join(
        [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{max(1, math.ceil(duration_seconds))}",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-PLAYLIST-TYPE:VOD",
            f"#EXTINF:{duration_seconds:.3f},",
            vtt_name,
            "#EXT-X-ENDLIST",
            "",
        ]
    )


_URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')
_ABSOLUTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|/)")


def _rebased(uri: str, from_dir: str, to_dir: str) -> str:
    if _ABSOLUTE.match(uri):
        return uri
    return posixpath.relpath(posixpath.normpath(posixpath.join(from_dir, uri)), to_dir)


def master_with_subtitles(master: str, master_key: str, at_dir: str, tracks: list[TrackEntry]) -> str:
    """The transcoder's master playlist (stored at ``master_key``), to be stored in ``at_dir``:
    its relative URIs rebased, an ``EXT-X-MEDIA`` subtitles rendition per track before the
    first variant, and ``SUBTITLES`` naming their group on every ``EXT-X-STREAM-INF`` (RFC 8216
    sections 4.3.4.1, 4.3.4.2; I-frame variants take no SUBTITLES, section 4.3.4.3)."""
    from_dir, to_dir = posixpath.dirname(master_key), at_dir.rstrip("/")
    media = [
        f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{SUBTITLES_GROUP}",NAME="{t.label}",LANGUAGE="{t.language}",'
        f'DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="{t.playlist_name}"'
        for t in tracks
    ]
    out: list[str] = []
    for line in master.splitlines():
        line = line.strip()
        if line.startswith(("#EXT-X-STREAM-INF:", "#EXT-X-I-FRAME-STREAM-INF:")) and media:
            out += media
            media = []
        if line.startswith("#EXT-X-STREAM-INF:"):
            if "SUBTITLES=" in line:
                raise ValueError(f"{master_key} already names a subtitles group")
            line += f',SUBTITLES="{SUBTITLES_GROUP}"'
        if line.startswith("#"):
            line = _URI_ATTRIBUTE.sub(lambda m: f'URI="{_rebased(m.group(1), from_dir, to_dir)}"', line)
        elif line:
            line = _rebased(line, from_dir, to_dir)
        out.append(line)
    if media:
        raise ValueError(f"{master_key} lists no variant")
    return "\n".join(out) + "\n"


def playback_key(video: Video) -> str | None:
    """The master playlist a viewer plays: the one with the captions while it was built over the
    video's current master playlist (a new transcode falls back to its own, captionless)."""
    if video.captions_master_key and video.captions_base_key == video.master_playlist_key:
        return video.captions_master_key
    return video.master_playlist_key


# Reading
def tracks(session: Session, video: Video) -> list[CaptionTrack]:
    return list(
        session.scalars(
            select(CaptionTrack).where(CaptionTrack.video_id == video.id).order_by(CaptionTrack.language)
        )
    )


def _language(tag: str) -> str:
    try:
        return caption_files.language_tag(tag)
    except CaptionError as exc:
        raise ApiError(422, "invalid_language", str(exc)) from None


def track_of(session: Session, video: Video, language: str) -> CaptionTrack:
    track = session.get(CaptionTrack, (video.id, _language(language)))
    if track is None:
        raise ApiError(404, "caption_not_found", f"the video has no caption track in {language!r}")
    return track


# Changes
def _storage_failed(video: Video, done: str) -> ApiError:
    log.exception("caption storage failed", extra={"video_id": video.id})
    return ApiError(503, "storage_unavailable", f"{done}; try again")


def _converted(content: str, fmt: CaptionFormat) -> tuple[bytes, list[Cue]]:
    size = len(content.encode("utf-8", "surrogatepass"))  # a lone surrogate is the parser's to refuse
    if size > MAX_CAPTION_BYTES:
        raise ApiError(
            413,
            "caption_too_large",
            f"the caption file has {size} bytes; at most {MAX_CAPTION_BYTES} are accepted",
        )
    try:
        cues = caption_files.parse(content, fmt)
    except CaptionError as exc:
        raise ApiError(422, "caption_invalid", f"not a valid {fmt.name} file: {exc}") from None
    vtt = caption_files.to_webvtt(cues).encode("utf-8")
    if len(vtt) > MAX_CAPTION_BYTES:  # an SRT file's escapes can make its WebVTT form larger
        raise ApiError(
            413,
            "caption_too_large",
            f"the caption file converted to WebVTT has {len(vtt)} bytes; at most {MAX_CAPTION_BYTES} are accepted",
        )
    return vtt, cues


def put_track(
    session: Session,
    aws: AwsClients,
    settings: BackendSettings,
    video: Video,
    language: str,
    *,
    label: str,
    fmt: CaptionFormat,
    content: str,
) -> tuple[CaptionTrack, bool]:
    """Store (or replace) the video's track in ``language`` and publish it; True when created.

    A video not ready yet (uploading, queued, transcoding, or failed and possibly retried) keeps
    the track unpublished until its ready event is recorded (``publish_for_ready``).

    Refusals, before anything is stored: 422 ``invalid_language``, 413 ``caption_too_large``, 422 ``caption_invalid``
    (naming the line), 409 ``caption_label_taken`` (a group's NAMEs differ, RFC 8216 section
    4.3.4.1.1), 409 ``too_many_captions``; 409 ``caption_conflict`` when a concurrent request
    took the language or label first; 503 ``storage_unavailable`` when S3 fails.
    """
    tag = _language(language)
    vtt, cues = _converted(content, fmt)
    existing = {t.language: t for t in tracks(session, video)}
    if any(t.label == label and t.language != tag for t in existing.values()):
        raise ApiError(
            409, "caption_label_taken", f"another caption track of the video is labelled {label!r}"
        )
    if tag not in existing and len(existing) >= MAX_TRACKS_PER_VIDEO:
        raise ApiError(
            409, "too_many_captions", f"the video has {MAX_TRACKS_PER_VIDEO} caption tracks, the most allowed"
        )
    name = f"{tag}-{_content_name(vtt)}"
    prefix = caption_key_prefix(video.id)
    vtt_key, playlist_key = f"{prefix}{name}.vtt", f"{prefix}{name}.m3u8"
    # Before the first transcode the video's duration is unknown: the cues' end stands in until
    # the ready event has the playlist rewritten (``publish_for_ready``).
    duration = video.duration_seconds or cues[-1].end_ms / 1000
    try:
        aws.s3.put_object(Bucket=settings.media_bucket, Key=vtt_key, Body=vtt, ContentType=VTT_TYPE)
        _put_media_playlist(aws.s3, settings.media_bucket, playlist_key, duration)
    except (BotoCoreError, ClientError):
        raise _storage_failed(video, "the caption track was not stored") from None
    track = existing.get(tag)
    created = track is None
    replaced = set() if track is None else {track.vtt_key, track.playlist_key} - {vtt_key, playlist_key}
    if track is None:
        track = CaptionTrack(video_id=video.id, language=tag)
        session.add(track)
    track.label, track.vtt_key, track.playlist_key = label, vtt_key, playlist_key
    track.size_bytes, track.cue_count, track.updated_at = len(vtt), len(cues), utcnow()
    try:
        session.flush()
    except IntegrityError:  # a concurrent request added this language or took this label first
        session.rollback()
        raise ApiError(
            409, "caption_conflict", "the video's captions changed meanwhile; send it again"
        ) from None
    _publish(session, aws.s3, settings.media_bucket, video, replaced)
    return track, created


def delete_track(
    session: Session, aws: AwsClients, settings: BackendSettings, video: Video, language: str
) -> None:
    """Remove the track from the published master playlist, then its files; 404
    ``caption_not_found`` when the video has none in ``language``."""
    track = track_of(session, video, language)
    doomed = {track.vtt_key, track.playlist_key}
    session.delete(track)
    session.flush()
    _publish(session, aws.s3, settings.media_bucket, video, doomed)


def _put_media_playlist(s3: Any, media_bucket: str, playlist_key: str, duration_seconds: float) -> None:
    """The track's media playlist over its WebVTT file, which lies beside it under the same name."""
    vtt_name = posixpath.basename(playlist_key).removesuffix(".m3u8") + ".vtt"
    s3.put_object(
        Bucket=media_bucket,
        Key=playlist_key,
        Body=subtitle_playlist(vtt_name, duration_seconds).encode(),
        ContentType=PLAYLIST_TYPE,
    )


@dataclass(frozen=True)
class ReadyCaptions:
    """The caption tracks published over a task's outputs before its ready event is recorded."""

    columns: dict[str, Any]
    """What the record of the ready event sets besides the event's own values."""
    entries: list[TrackEntry]
    written: str
    previous: str | None
    """The captioned master playlist the record replaces."""


def publish_for_ready(
    session: Session, s3: Any, media_bucket: str, event: ProgressEventV1
) -> ReadyCaptions | None:
    """Before a ready event of the video's current task is recorded (its first transcode, or a
    new one): the tracks' media playlists over the transcode's duration (a track added before it
    had the last cue's end) and their master playlist over the transcode's, so that the record
    makes the video ready and captioned in one commit (``columns``); a viewer asking in between
    would otherwise play the transcoder's playlist without them. None when there is nothing to
    publish, or when storing fails (logged: the video plays without captions until its tracks
    change). Settle with ``settle_ready`` once the record is done."""
    outputs = event.outputs
    video = session.get(Video, event.video_id)
    if outputs is None or video is None or video.task_id != event.task_id:
        return None
    base = outputs.master_playlist_key
    current = tracks(session, video)
    if not current or video.captions_base_key == base:
        return None
    entries = [TrackEntry(t.language, t.label, posixpath.basename(t.playlist_key)) for t in current]
    try:
        for track in current:
            _put_media_playlist(s3, media_bucket, track.playlist_key, outputs.duration_seconds)
        written = _write_master(s3, media_bucket, video.id, base, entries)
    except (BotoCoreError, ClientError, ValueError):
        log.warning("captions not published over the transcode", exc_info=True, extra={"video_id": video.id})
        return None
    return ReadyCaptions(
        columns={"captions_master_key": written, "captions_base_key": base},
        entries=entries,
        written=written,
        previous=video.captions_master_key,
    )


def settle_ready(s3: Any, media_bucket: str, prepared: ReadyCaptions, recorded: bool) -> None:
    """Delete the captioned master the record replaced, or, when the event was not recorded (a
    stale or superseded one), the one written for it in vain."""
    doomed = prepared.previous if recorded else prepared.written
    if doomed and prepared.previous != prepared.written:
        _delete_quietly(s3, media_bucket, doomed)


def publish_after_ready(
    session: Session, s3: Any, media_bucket: str, video_id: Any, prepared: ReadyCaptions | None
) -> None:
    """Once a ready event is recorded: publish again if the video's tracks changed after
    ``publish_for_ready`` listed them. A track put or deleted meanwhile saw the video not ready
    and left publishing to the ready event's record, which did not have it; whichever of the two
    commits last republishes (``_publish`` checks after its commit too)."""
    video = session.get(Video, video_id, populate_existing=True)
    if video is None or video.status != VideoState.READY:
        return
    current = [
        TrackEntry(t.language, t.label, posixpath.basename(t.playlist_key)) for t in tracks(session, video)
    ]
    if current == (prepared.entries if prepared else []):
        return
    try:
        _publish(session, s3, media_bucket, video, set())
    except ApiError:
        log.warning(
            "captions changed while the video became ready were not published", extra={"video_id": video.id}
        )


def _write_master(s3: Any, media_bucket: str, video_id: Any, base: str, entries: list[TrackEntry]) -> str:
    """Store the master playlist of ``entries`` over the transcoder's at ``base``; its key."""
    transcoded = s3.get_object(Bucket=media_bucket, Key=base)["Body"].read().decode("utf-8")
    body = master_with_subtitles(transcoded, base, caption_key_prefix(video_id), entries).encode()
    key = f"{caption_key_prefix(video_id)}master-{_content_name(body)}.m3u8"
    s3.put_object(Bucket=media_bucket, Key=key, Body=body, ContentType=PLAYLIST_TYPE)
    return key


def _delete_quietly(s3: Any, media_bucket: str, key: str) -> None:
    """A failed delete leaves an unlisted object under the video's prefix, removed with the video."""
    try:
        s3.delete_object(Bucket=media_bucket, Key=key)
    except (BotoCoreError, ClientError):
        log.warning("could not delete a replaced caption object", exc_info=True, extra={"key": key})


def _publish(session: Session, s3: Any, media_bucket: str, video: Video, doomed: set[str]) -> None:
    """Write the master playlist of the video's tracks (none: the transcoder's is played), commit,
    then delete ``doomed`` and the master it replaces. A failed write rolls everything back."""
    entries = [
        TrackEntry(t.language, t.label, posixpath.basename(t.playlist_key)) for t in tracks(session, video)
    ]
    # Published over a ready video only: a transcode under way is published when recorded ready.
    base = video.master_playlist_key if video.status == VideoState.READY else None
    old_master = video.captions_master_key
    new_master = None
    try:
        if entries and base:
            new_master = _write_master(s3, media_bucket, video.id, base, entries)
    except (BotoCoreError, ClientError):
        session.rollback()
        raise _storage_failed(video, "the caption tracks were not published") from None
    video.captions_master_key = new_master
    video.captions_base_key = base if new_master else None
    session.commit()
    log.info("captions published", extra={"video_id": video.id})
    if old_master and old_master != new_master:
        doomed.add(old_master)
    for key in sorted(doomed):
        _delete_quietly(s3, media_bucket, key)
    if base is None:
        # The video may have been recorded ready since it was read, by a status consumer that
        # listed the tracks before this commit: publish over it now.
        session.refresh(video)
        if video.status == VideoState.READY and video.master_playlist_key:
            _publish(session, s3, media_bucket, video, set())
