"""What the worker needs to know about a source, read with ffprobe.

A source that ffprobe cannot read, that has no video stream, or whose first frame
cannot be decoded is *not a video*: a permanent failure, never retried.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import ffmpeg

# Seconds a probe or decode check may take before the source counts as unreadable.
_CHECK_TIMEOUT_SECONDS = 120
_ROTATE_TAG = re.compile(r"-?[0-9]{1,6}")

# Every ffmpeg/ffprobe reading an upload gets these: only video container demuxers (an
# upload that is really an HLS playlist or a concat script would otherwise make ffmpeg
# fetch URLs or read local files it names), and no protocol but the local file.
SOURCE_INPUT_OPTIONS = {
    "format_whitelist": "mov,matroska,avi,mpegts,flv,mpeg,ogg,asf",
    "protocol_whitelist": "file",
}


class NotAVideo(Exception):
    """The source is corrupt, truncated, not a video, or cannot be decoded."""


@dataclass(frozen=True)
class ProbeResult:
    width: int
    height: int
    rotation: int
    """Display rotation in degrees (0, 90, 180, 270); ffmpeg applies it when decoding, so only
    its effect on the frame size matters here."""
    duration: float
    has_audio: bool
    fps: float
    sample_aspect: Fraction = Fraction(1)

    @property
    def display_width(self) -> int:
        """Width as shown, after the rotation metadata and non-square pixels are applied."""
        width = round(self.width * self.sample_aspect)
        return self.height if self.rotation in (90, 270) else width

    @property
    def display_height(self) -> int:
        return round(self.width * self.sample_aspect) if self.rotation in (90, 270) else self.height


def _fraction(value: Any, default: Fraction) -> Fraction:
    try:
        result = Fraction(str(value).replace(":", "/"))
    except (ValueError, ZeroDivisionError):
        return default
    return result if result > 0 else default


def _rotation(stream: dict[str, Any]) -> int:
    # Both come from the uploaded file: anything but a plain number means no rotation.
    for side_data in stream.get("side_data_list", []):
        if "rotation" in side_data:
            # ffprobe reports the display matrix counter-clockwise; the legacy tag, clockwise.
            try:
                return int(-float(side_data["rotation"])) % 360
            except (TypeError, ValueError, OverflowError):
                return 0
    rotate = str(stream.get("tags", {}).get("rotate", ""))
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    return int(rotate) % 360 if _ROTATE_TAG.fullmatch(rotate) else 0


def _duration(info: dict[str, Any], video: dict[str, Any]) -> float:
    for value in (info.get("format", {}).get("duration"), video.get("duration")):
        if value is None:
            continue
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            continue
        if seconds > 0:
            return seconds
    raise NotAVideo("the source has no duration")


def parse_probe(info: dict[str, Any]) -> ProbeResult:
    """Turn ffprobe's JSON (``-show_format -show_streams``) into a ProbeResult."""
    streams = info.get("streams", [])
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
        ),
        None,
    )
    if video is None:
        raise NotAVideo("the source has no video stream")
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise NotAVideo("the video stream has no frame size")
    rotation = _rotation(video)
    if rotation not in (0, 90, 180, 270):
        raise NotAVideo(f"unsupported rotation metadata of {rotation} degrees")
    fps = _fraction(video.get("avg_frame_rate"), Fraction(0)) or _fraction(
        video.get("r_frame_rate"), Fraction(30)
    )
    return ProbeResult(
        width=width,
        height=height,
        rotation=rotation,
        duration=_duration(info, video),
        has_audio=any(s.get("codec_type") == "audio" for s in streams),
        fps=float(fps),
        sample_aspect=_fraction(video.get("sample_aspect_ratio"), Fraction(1)),
    )


def probe(path: Path) -> ProbeResult:
    """Probe ``path`` and check that its first video frame decodes; raises NotAVideo otherwise."""
    try:
        info = ffmpeg.probe(str(path), **SOURCE_INPUT_OPTIONS)
    except ffmpeg.Error as exc:
        raise NotAVideo(
            f"the upload is not a video file we can read ({_last_line(exc.stderr, path)})"
        ) from None
    result = parse_probe(info)
    check = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:V:0",
            "-frames:v",
            "1",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        timeout=_CHECK_TIMEOUT_SECONDS,
        check=False,
    )
    if check.returncode != 0:
        raise NotAVideo(f"the video in the upload cannot be decoded ({_last_line(check.stderr, path)})")
    return result


def _last_line(stderr: bytes | None, path: Path) -> str:
    """ffmpeg's last complaint, for the uploader: without the worker's path, which ffmpeg puts
    first (``/scratch/x/source: Invalid data...``) and anywhere else it names the file."""
    lines = (stderr or b"").decode("utf-8", "replace").strip().splitlines()
    if not lines:
        return "no detail"
    complaint = lines[-1].removeprefix(f"{path}: ")
    return complaint.replace(str(path), "the upload")[:300]
