"""The HLS master playlist, written from what ffmpeg actually produced.

Each variant's BANDWIDTH is the peak bit rate of its segments (AVERAGE-BANDWIDTH the
mean), and CODECS comes from probing the variant itself, so players choose correctly.
The audio-only variant comes last, an EXT-X-STREAM-INF without RESOLUTION whose CODECS names
AAC alone (RFC 8216, section 4.3.4.2): a client on a network no video rung fits switches to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

# profile_idc and the constraint flags byte, per the names ffprobe reports (RFC 6381 avc1.PPCCLL).
_AVC_PROFILES = {
    "Constrained Baseline": (0x42, 0xC0),
    "Baseline": (0x42, 0x00),
    "Main": (0x4D, 0x40),
    "High": (0x64, 0x00),
}
_AAC_LC = "mp4a.40.2"


class OutputError(RuntimeError):
    """ffmpeg finished but an output is missing or unreadable."""


@dataclass(frozen=True)
class Variant:
    playlist: str
    """URI relative to the master playlist."""
    width: int
    height: int
    peak_bandwidth: int
    average_bandwidth: int
    codecs: str
    frame_rate: float


def segments(playlist: Path) -> list[tuple[float, Path]]:
    """(duration, file) of each media segment, in order."""
    entries: list[tuple[float, Path]] = []
    duration: float | None = None
    for line in playlist.read_text().splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line.removeprefix("#EXTINF:").split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            entries.append((duration, playlist.parent / line))
            duration = None
    if not entries:
        raise OutputError(f"{playlist.name} lists no segments")
    return entries


def playlist_duration(playlist: Path) -> float:
    return sum(duration for duration, _ in segments(playlist))


def bandwidth(playlist: Path) -> tuple[int, int]:
    """(peak, average) bits per second over the segments; the init segment counts towards the first."""
    entries = segments(playlist)
    init = playlist.parent / "init.mp4"
    sizes = [path.stat().st_size for _, path in entries]
    if init.exists():
        sizes[0] += init.stat().st_size
    rates = [size * 8 / max(duration, 0.001) for size, (duration, _) in zip(sizes, entries, strict=True)]
    total_duration = sum(duration for duration, _ in entries)
    return int(max(rates)) + 1, int(sum(sizes) * 8 / max(total_duration, 0.001)) + 1


def codecs(info: dict[str, Any]) -> str:
    """The RFC 6381 CODECS value of a probed variant (H.264 video, optionally AAC-LC audio)."""
    names = []
    for stream in info.get("streams", []):
        if stream.get("codec_type") == "video":
            if stream.get("codec_name") != "h264" or stream.get("profile") not in _AVC_PROFILES:
                raise OutputError(
                    f"unexpected video codec {stream.get('codec_name')}/{stream.get('profile')}"
                )
            profile, constraints = _AVC_PROFILES[stream["profile"]]
            names.append(f"avc1.{profile:02x}{constraints:02x}{int(stream['level']):02x}")
        elif stream.get("codec_type") == "audio":
            names.append(_AAC_LC)
    if not names or not names[0].startswith("avc1."):
        raise OutputError("the variant has no video stream")
    return ",".join(names)


def describe_variant(root: Path, playlist: str, frame_rate: float) -> Variant:
    """Probe and measure one rendition ffmpeg wrote under ``root``."""
    path = root / playlist
    try:
        info = ffmpeg.probe(str(path))
    except ffmpeg.Error as exc:
        raise OutputError(f"ffprobe cannot read {playlist}") from exc
    video = next(s for s in info["streams"] if s.get("codec_type") == "video")
    peak, average = bandwidth(path)
    return Variant(
        playlist=playlist,
        width=int(video["width"]),
        height=int(video["height"]),
        peak_bandwidth=peak,
        average_bandwidth=average,
        codecs=codecs(info),
        frame_rate=frame_rate,
    )


@dataclass(frozen=True)
class AudioVariant:
    playlist: str
    """URI relative to the master playlist."""
    peak_bandwidth: int
    average_bandwidth: int


def describe_audio_variant(root: Path, playlist: str) -> AudioVariant:
    """Probe and measure the audio-only rendition ffmpeg wrote under ``root``: AAC and nothing else."""
    path = root / playlist
    try:
        info = ffmpeg.probe(str(path))
    except ffmpeg.Error as exc:
        raise OutputError(f"ffprobe cannot read {playlist}") from exc
    kinds = [(s.get("codec_type"), s.get("codec_name")) for s in info.get("streams", [])]
    if kinds != [("audio", "aac")]:
        raise OutputError(f"the audio-only variant holds {kinds}, not one AAC stream")
    peak, average = bandwidth(path)
    return AudioVariant(playlist=playlist, peak_bandwidth=peak, average_bandwidth=average)


def master_playlist(variants: list[Variant], audio: AudioVariant | None = None) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for variant in variants:
        attributes = (
            f"BANDWIDTH={variant.peak_bandwidth},AVERAGE-BANDWIDTH={variant.average_bandwidth},"
            f"RESOLUTION={variant.width}x{variant.height},FRAME-RATE={variant.frame_rate:.3f},"
            f'CODECS="{variant.codecs}"'
        )
        lines += [f"#EXT-X-STREAM-INF:{attributes}", variant.playlist]
    if audio is not None:
        attributes = (
            f'BANDWIDTH={audio.peak_bandwidth},AVERAGE-BANDWIDTH={audio.average_bandwidth},CODECS="{_AAC_LC}"'
        )
        lines += [f"#EXT-X-STREAM-INF:{attributes}", audio.playlist]
    return "\n".join(lines) + "\n"
