"""A video's poster: one of the candidates its transcode picked, or an image its owner uploads.

An uploaded image is never served as sent. Its first bytes must be those of a JPEG, PNG or WebP
file (the request's content type is not asked); the decoder of that one format alone then reads
it (ffmpeg with the format forced, pipes only, corrupt data an error, a pixel count bound against
decompression bombs), and what is stored is the picture re-encoded as a JPEG that fits in
``POSTER_BOX``, under a key of its own (a new key per upload, so no cached copy of an earlier
poster is ever served in its place). Plain functions; no Flask here.
"""

from __future__ import annotations

import logging
import math
import subprocess
import uuid
from typing import Any

from sqlalchemy.orm import Session

from app.backend.models import Video
from app.contracts.errors import ApiError
from app.contracts.messages import VideoState
from app.contracts.names import poster_key_prefix
from app.contracts.settings import BackendSettings

log = logging.getLogger(__name__)

# Sent base64-encoded in a JSON body, which the API caps at 1 MiB: 512 KiB of image fits.
POSTER_UPLOAD_MAX_BYTES = 512 * 1024
POSTER_UPLOAD_BASE64_MAX = 4 * math.ceil(POSTER_UPLOAD_MAX_BYTES / 3)
# The stored poster fits in this box (the largest rendition's usual size).
POSTER_BOX = (1280, 720)
# 8K by 4K: a larger picture is refused before it is decoded (a small file can claim any size).
MAX_PIXELS = 8192 * 4096
_REENCODE_SECONDS = 10


def image_format(data: bytes) -> str | None:
    """The ffmpeg demuxer of the image format ``data`` starts like (its magic number); None for
    anything but JPEG, PNG and WebP."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg_pipe"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png_pipe"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp_pipe"
    return None


def reencode_poster(data: bytes) -> bytes:
    """``data`` decoded as the image format its bytes announce and re-encoded as a JPEG within
    ``POSTER_BOX``; 400 ``not_an_image`` when it is none of JPEG, PNG, WebP or does not decode,
    413 ``image_too_large`` over ``POSTER_UPLOAD_MAX_BYTES``."""
    if len(data) > POSTER_UPLOAD_MAX_BYTES:
        raise ApiError(
            413,
            "image_too_large",
            f"the image is {len(data)} bytes; at most {POSTER_UPLOAD_MAX_BYTES} are accepted",
        )
    demuxer = image_format(data)
    if demuxer is None:
        raise ApiError(400, "not_an_image", "the file is not a JPEG, PNG or WebP image")
    width, height = POSTER_BOX
    args = [
        "ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-xerror",
        "-protocol_whitelist", "pipe", "-f", demuxer,
        "-max_pixels", str(MAX_PIXELS), "-err_detect", "explode", "-i", "pipe:0",
        "-frames:v", "1",
        "-vf", f"scale=w={width}:h={height}:force_original_aspect_ratio=decrease,format=yuvj420p",
        "-q:v", "3", "-f", "image2pipe", "-c:v", "mjpeg", "pipe:1",
    ]  # fmt: skip
    try:
        done = subprocess.run(args, input=data, capture_output=True, timeout=_REENCODE_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise ApiError(400, "not_an_image", "the image could not be decoded in time") from None
    if done.returncode != 0 or not done.stdout.startswith(b"\xff\xd8\xff"):
        log.info("refused a poster image: %s", done.stderr.decode(errors="replace")[-300:])
        raise ApiError(
            400, "not_an_image", f"the file does not decode as the {demuxer.split('_')[0]} it claims to be"
        )
    return done.stdout


def _require_ready(video: Video) -> None:
    if video.status != VideoState.READY or not video.master_playlist_key:
        raise ApiError(
            409, "not_ready", f"the video is {video.status.value}; a poster is chosen once it is ready"
        )


def _forget_custom_poster(s3: Any, settings: BackendSettings, video: Video) -> None:
    """Delete the uploaded poster ``video`` shows now, if it shows one: it is replaced."""
    if video.thumbnail_key and video.thumbnail_key.startswith(poster_key_prefix(video.id)):
        s3.delete_object(Bucket=settings.media_bucket, Key=video.thumbnail_key)


def choose_candidate(session: Session, s3: Any, settings: BackendSettings, video: Video, index: int) -> Video:
    """Show the ``index``-th candidate poster of the video's transcode."""
    _require_ready(video)
    candidates = video.thumbnail_candidates or []
    if index >= len(candidates):
        raise ApiError(
            400, "no_such_candidate", f"the video has {len(candidates)} candidate posters; {index} is not one"
        )
    _forget_custom_poster(s3, settings, video)
    video.thumbnail_key = candidates[index]
    session.commit()
    return video


def upload_poster(session: Session, s3: Any, settings: BackendSettings, video: Video, image: bytes) -> Video:
    """Show ``image``, re-encoded (``reencode_poster``), as the video's poster."""
    _require_ready(video)
    jpeg = reencode_poster(image)
    key = f"{poster_key_prefix(video.id)}{uuid.uuid4()}.jpg"
    s3.put_object(Bucket=settings.media_bucket, Key=key, Body=jpeg, ContentType="image/jpeg")
    _forget_custom_poster(s3, settings, video)
    video.thumbnail_key = key
    session.commit()
    log.info("poster uploaded", extra={"video_id": video.id})
    return video
