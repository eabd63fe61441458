"""What a source may cost: limits checked on its probe, before any encoding.

A worker's time is the platform's money (the fleet scales on backlog), so a source outside
the stack's limits is refused as a permanent failure with a reason for the uploader. The
probe's numbers come from the upload's headers and can lie; the decode itself is therefore
also capped (``graph.build_graph`` reads no more than the probed duration, and the worker
stops ffmpeg at ``transcode_timeout_seconds``).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.contracts.settings import TranscoderSettings
from app.transcoder.probe import ProbeResult


class SourceRefused(Exception):
    """The source is outside the configured limits; the message is written for the uploader."""


@dataclass(frozen=True)
class SourceLimits:
    max_seconds: float
    max_fps: float
    min_side: int
    """Of the picture as shown (rotation and pixel aspect applied), in pixels."""
    max_side: int
    max_pixel_frames: int
    """width x height x frame rate x duration: the decoding and scaling work, in pixels."""

    @classmethod
    def from_settings(cls, settings: TranscoderSettings) -> SourceLimits:
        return cls(
            max_seconds=settings.max_source_seconds,
            max_fps=settings.max_source_fps,
            min_side=settings.min_source_side,
            max_side=settings.max_source_side,
            max_pixel_frames=settings.max_source_pixel_frames,
        )


def clock(seconds: float) -> str:
    """``3725.4`` → ``1 h 2 min 5 s``, for reasons a person reads."""
    if seconds < 60:
        return f"{seconds:.3g} s"
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]
    return " ".join(p for p in parts if p)


def check_source(source: ProbeResult, limits: SourceLimits) -> None:
    """Raise SourceRefused naming the first limit ``source`` exceeds."""
    width, height = source.display_width, source.display_height
    size = f"{width}x{height} pixels"
    if min(width, height) < limits.min_side:
        raise SourceRefused(f"the video is {size}; each side must be at least {limits.min_side} pixels")
    if max(width, height) > limits.max_side:
        raise SourceRefused(
            f"the video is {size}; no side may be more than {limits.max_side} pixels, scale it down"
        )
    if source.fps > limits.max_fps:
        raise SourceRefused(
            f"the video has {source.fps:.3g} frames per second; at most {limits.max_fps:g} are accepted"
        )
    if source.duration > limits.max_seconds:
        raise SourceRefused(
            f"the video is {clock(source.duration)} long; the longest accepted is {clock(limits.max_seconds)},"
            " cut it shorter"
        )
    pixel_frames = source.width * source.height * source.fps * source.duration
    if pixel_frames > limits.max_pixel_frames:
        raise SourceRefused(
            f"the video is too much work to transcode: {size} at {source.fps:.3g} frames per second for"
            f" {clock(source.duration)}; lower its resolution or frame rate, or cut it shorter"
        )
