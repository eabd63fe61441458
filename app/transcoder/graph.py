"""From (probe result, task) to one ffmpeg command: a pure function, tested without running ffmpeg.

One decode feeds everything: the task's allow-listed filters become filter nodes, then
``split`` fans the frames out to one scaler per rendition, to the poster thumbnail, to the
candidate posters' samples (``posters.py``) and to the storyboard's tiles (``storyboard.py``);
``asplit`` fans the sound out to every rendition and to the audio-only variant.

ffmpeg reports no progress until every output has written its header, which it does on its
first frame (fftools/ffmpeg.c ``print_report``). So every output gets its first frame near the
start of the video: the samples and the tiles are written one by one as they come, and
``build_stills`` — a second, cheap step over those small images, no second decode of the
source — picks the candidates and packs the sprite sheets once the transcode has ended. A
branch that waited (for a sheet to fill, for a batch of samples that are not black) would
hold the live progress at 0 until it produced something, at worst until the end.
Only numbers and enums validated by the task schema, and paths the worker chose,
reach the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from app.contracts.messages import FlipFilter, GrayscaleFilter, RotateFilter, TaskMessageV1, TrimFilter
from app.transcoder.posters import (
    BLACK_FRAME_PERCENT,
    BLACK_PIXEL_LUMA,
    CANDIDATE_PATTERN,
    MAX_BLUR,
    CandidatePlan,
    plan_candidates,
)
from app.transcoder.probe import SOURCE_INPUT_OPTIONS, ProbeResult
from app.transcoder.storyboard import SPRITE_PATTERN, VTT_NAME, StoryboardPlan, plan_storyboard

SEGMENT_SECONDS = 4
AUDIO_BITRATE = 128_000
# The audio-only variant: enough for speech and music on a network no video rung fits.
AUDIO_ONLY_BITRATE = 64_000
AUDIO_ONLY_PLAYLIST = "audio/index.m3u8"
DOWNLOAD_NAME = "download.mp4"
# Bits per pixel per frame for H.264 at the "veryfast" preset: about 2.8 Mbit/s for 720p30.
_BITS_PER_PIXEL = 0.1
_MIN_VIDEO_BITRATE = 150_000
_MAX_FPS_FOR_BITRATE = 60.0
_THUMBNAIL_AT_MOST_SECONDS = 2.0
# The decode reads the source's probed duration and this much more, never all a lying header hides.
DECODE_MARGIN_SECONDS = 1.0


class PlanError(ValueError):
    """The task cannot apply to this source (e.g. a trim beyond its end): a permanent failure."""


@dataclass(frozen=True)
class RenditionPlan:
    width: int
    height: int
    video_bitrate: int

    @property
    def name(self) -> str:
        return f"{self.height}p"

    @property
    def playlist(self) -> str:
        """Path of the media playlist, relative to the output root (and to the master playlist)."""
        return f"{self.name}/index.m3u8"


@dataclass(frozen=True)
class TranscodePlan:
    width: int
    """Frame size after the task's filters, before scaling."""
    height: int
    duration: float
    """Seconds of output, after trims."""
    renditions: tuple[RenditionPlan, ...]
    thumbnail_at: float
    storyboard: StoryboardPlan
    candidates: CandidatePlan


@dataclass(frozen=True)
class OutputPaths:
    source: Path
    root: Path
    """Everything under here is uploaded, keyed by its relative path."""

    @property
    def master_playlist(self) -> Path:
        return self.root / "master.m3u8"

    @property
    def thumbnail(self) -> Path:
        return self.root / "poster.jpg"

    @property
    def candidates(self) -> Path:
        """The candidate posters, ``candidate-1.jpg`` ... in the order they occur."""
        return self.root / "candidates"

    @property
    def audio_playlist(self) -> Path:
        return self.root / AUDIO_ONLY_PLAYLIST

    @property
    def download(self) -> Path:
        """The MP4 for download, remuxed from the top rendition when the task asks for it."""
        return self.root / DOWNLOAD_NAME

    @property
    def storyboard(self) -> Path:
        """The sprite sheets and their WebVTT track."""
        return self.root / "storyboard"

    @property
    def storyboard_vtt(self) -> Path:
        return self.storyboard / VTT_NAME

    @property
    def sprites(self) -> Path:
        return self.storyboard / SPRITE_PATTERN

    @property
    def stills(self) -> Path:
        """What the transcode writes for ``build_stills``; removed (never uploaded) once it ran."""
        return self.root / "stills"

    @property
    def tiles(self) -> Path:
        return self.stills / "tile-%d.jpg"

    @property
    def samples(self) -> Path:
        return self.stills / "sample-%d.jpg"

    def make_directories(self, plan: TranscodePlan) -> None:
        """The directories ffmpeg writes into: its muxers create files, not directories."""
        for rendition in plan.renditions:
            self.playlist(rendition).parent.mkdir(parents=True, exist_ok=True)
        self.storyboard.mkdir(parents=True, exist_ok=True)
        self.candidates.mkdir(parents=True, exist_ok=True)
        self.stills.mkdir(parents=True, exist_ok=True)
        self.audio_playlist.parent.mkdir(parents=True, exist_ok=True)

    def playlist(self, rendition: RenditionPlan) -> Path:
        return self.root / rendition.playlist

    def segments(self, rendition: RenditionPlan) -> Path:
        return self.root / rendition.name / "seg_%05d.m4s"


def _even(value: float) -> int:
    return max(2, int(value / 2 + 0.5) * 2)


def video_bitrate(width: int, height: int, fps: float) -> int:
    bits = width * height * min(fps, _MAX_FPS_FOR_BITRATE) * _BITS_PER_PIXEL
    return max(_MIN_VIDEO_BITRATE, int(bits) // 1000 * 1000)


def plan_ladder(width: int, height: int, ladder: list[int], fps: float) -> tuple[RenditionPlan, ...]:
    """One rendition per ladder height not above the source; the source height alone if all are."""
    heights = sorted({h for h in ladder if h <= height}, reverse=True) or [height]
    renditions = []
    for target in heights:
        h = _even(target)
        w = _even(width * h / height)
        renditions.append(RenditionPlan(width=w, height=h, video_bitrate=video_bitrate(w, h, fps)))
    return tuple(renditions)


def plan_transcode(probe: ProbeResult, task: TaskMessageV1, ladder: list[int]) -> TranscodePlan:
    """Frame size and duration after the task's filters, and the renditions to produce."""
    width, height, duration = probe.display_width, probe.display_height, probe.duration
    for spec in task.filters:
        if isinstance(spec, RotateFilter) and spec.degrees in (90, 270):
            width, height = height, width
        elif isinstance(spec, TrimFilter):
            if spec.start >= duration:
                raise PlanError(
                    f"trim starts at {spec.start:g} s, after the end of the video ({duration:.3f} s)"
                )
            duration = min(spec.end, duration) - spec.start if spec.end is not None else duration - spec.start
    requested: list[int] = [h for h in task.ladder if h in ladder] or ladder
    return TranscodePlan(
        width=width,
        height=height,
        duration=duration,
        renditions=plan_ladder(width, height, requested, probe.fps),
        thumbnail_at=min(_THUMBNAIL_AT_MOST_SECONDS, duration / 10),
        storyboard=plan_storyboard(width, height, duration),
        candidates=plan_candidates(duration),
    )


def _seconds(value: float) -> str:
    return f"{value:.6f}"


def _apply_filters(video: Any, audio: Any, task: TaskMessageV1) -> tuple[Any, Any]:
    for spec in task.filters:
        if isinstance(spec, TrimFilter):
            window = {"start": _seconds(spec.start)}
            if spec.end is not None:
                window["end"] = _seconds(spec.end)
            video = video.filter("trim", **window).filter("setpts", "PTS-STARTPTS")
            if audio is not None:
                audio = audio.filter("atrim", **window).filter("asetpts", "PTS-STARTPTS")
        elif isinstance(spec, RotateFilter):
            if spec.degrees == 180:
                video = video.filter("hflip").filter("vflip")
            else:
                video = video.filter("transpose", dir="clock" if spec.degrees == 90 else "cclock")
        elif isinstance(spec, GrayscaleFilter):
            # Through gray and back: the chroma planes come out flat (128), not merely desaturated.
            video = video.filter("format", "gray").filter("format", "yuv420p")
        elif isinstance(spec, FlipFilter):
            video = video.filter("hflip" if spec.axis == "horizontal" else "vflip")
    return video, audio


def _hls_options(segments: Path) -> dict[str, Any]:
    return {
        "f": "hls",
        "hls_time": SEGMENT_SECONDS,
        # EVENT: ffmpeg rewrites the playlist as each segment completes (a VOD playlist only at
        # the end), so the worker publishes segments as they come (``publish.py``), and makes it
        # VOD once ffmpeg ends. temp_file: the playlist is renamed into place, never read half-written.
        "hls_playlist_type": "event",
        "hls_segment_type": "fmp4",
        "hls_fmp4_init_filename": "init.mp4",
        "hls_flags": "independent_segments+temp_file",
        "hls_segment_filename": str(segments),
    }


def _rendition_output(video: Any, audio: Any, rendition: RenditionPlan, paths: OutputPaths) -> Any:
    scaled = video.filter("scale", rendition.width, rendition.height).filter("setsar", 1)
    streams = [scaled] if audio is None else [scaled, audio]
    options: dict[str, Any] = {
        "c:v": "libx264",
        "preset": "veryfast",
        "profile:v": "high",
        "pix_fmt": "yuv420p",
        "b:v": rendition.video_bitrate,
        "maxrate:v": rendition.video_bitrate * 3 // 2,
        "bufsize:v": rendition.video_bitrate * 3,
        # A keyframe at every segment boundary, so every segment starts independently.
        "force_key_frames": f"expr:gte(t,n_forced*{SEGMENT_SECONDS})",
        **_hls_options(paths.segments(rendition)),
    }
    if audio is not None:
        options.update({"c:a": "aac", "b:a": AUDIO_BITRATE, "ac": 2})
    return ffmpeg.output(*streams, str(paths.playlist(rendition)), **options)


def _audio_only_output(audio: Any, paths: OutputPaths) -> Any:
    """The ladder's audio-only variant: the sound alone, segmented as the renditions are."""
    options = {
        "c:a": "aac",
        "b:a": AUDIO_ONLY_BITRATE,
        "ac": 2,
        **_hls_options(paths.audio_playlist.parent / "seg_%05d.m4s"),
    }
    return ffmpeg.output(audio, str(paths.audio_playlist), **options)


# Stills are decoded again by ``build_stills``: near-lossless, so it measures what the source shows.
_STILL_QUALITY = 2
# image2 writes each frame once (it would otherwise repeat frames to fill a constant rate).
_EACH_FRAME_ONCE = {"fps_mode": "passthrough", "f": "image2", "start_number": 1}


def _samples_output(video: Any, plan: CandidatePlan, paths: OutputPaths) -> Any:
    """Frames sampled evenly over the video, every one written: the candidates are picked after."""
    sampled = video.filter("fps", fps=f"{plan.sample_rate:.6f}")
    return ffmpeg.output(sampled, str(paths.samples), **{"q:v": _STILL_QUALITY, **_EACH_FRAME_ONCE})


def _candidates_output(samples: Any, plan: CandidatePlan, top: RenditionPlan, paths: OutputPaths) -> Any:
    """Black and blurred samples dropped, one picked per batch (``posters.py``)."""
    picked = (
        # Back from the JPEG's full range to the video's, where the black bound is set.
        samples.filter("format", "yuv420p")
        # amount=0: every frame gets its percentage of black pixels, which the next node bounds.
        .filter("blackframe", amount=0, threshold=BLACK_PIXEL_LUMA)
        .filter(
            "metadata",
            mode="select",
            key="lavfi.blackframe.pblack",
            value=BLACK_FRAME_PERCENT,
            function="less",
        )
        .filter("blurdetect")
        .filter("metadata", mode="select", key="lavfi.blur", value=MAX_BLUR, function="less")
        .filter("thumbnail", n=plan.batch)
        .filter("scale", top.width, top.height)
        .filter("setsar", 1)
    )
    options = {"frames:v": plan.count, "q:v": 3, **_EACH_FRAME_ONCE}
    return ffmpeg.output(picked, str(paths.candidates / CANDIDATE_PATTERN), **options)


def _tiles_output(video: Any, board: StoryboardPlan, paths: OutputPaths) -> Any:
    """One tile every ``interval`` seconds, written as it comes: the sheets are packed after."""
    tiles = (
        video
        # eof_action=pass: the last, partial interval gets its tile too (storyboard.tile_count).
        .filter("fps", fps=f"1/{board.interval}", eof_action="pass")
        .filter("scale", board.tile_width, board.tile_height)
        .filter("setsar", 1)
    )
    return ffmpeg.output(tiles, str(paths.tiles), **{"q:v": _STILL_QUALITY, **_EACH_FRAME_ONCE})


def _sprites_output(tiles: Any, board: StoryboardPlan, paths: OutputPaths) -> Any:
    sheets = tiles.filter("tile", f"{board.columns}x{board.rows}")
    return ffmpeg.output(sheets, str(paths.sprites), **{"q:v": 5, **_EACH_FRAME_ONCE})


def build_graph(
    probe: ProbeResult,
    task: TaskMessageV1,
    ladder: list[int],
    paths: OutputPaths,
    *,
    storyboard: bool = True,
    once_per_task: bool = True,
) -> Any:
    """The whole transcode as one ffmpeg-python graph; ``ffmpeg.compile`` turns it into argv.

    ``storyboard=False`` leaves the seek previews' branch out, for measuring what it costs
    (``bench/one_decode.py``) and in a task's later runs (``checkpoints.py``);
    ``once_per_task=False`` leaves out the candidate posters and the audio-only variant, which
    a task's first run has made."""
    plan = plan_transcode(probe, task, ladder)
    source = ffmpeg.input(
        str(paths.source), t=_seconds(probe.duration + DECODE_MARGIN_SECONDS), **SOURCE_INPUT_OPTIONS
    )
    # "V": video streams that are not cover pictures, as parse_probe chose.
    video, audio = _apply_filters(source["V"], source.audio if probe.has_audio else None, task)

    frames = video.split()
    sounds = audio.asplit() if audio is not None else None
    outputs = [
        _rendition_output(frames[i], sounds[i] if sounds is not None else None, rendition, paths)
        for i, rendition in enumerate(plan.renditions)
    ]
    top = plan.renditions[0]
    branch = len(plan.renditions)
    if once_per_task:
        if sounds is not None:
            outputs.append(_audio_only_output(sounds[branch], paths))
        outputs.append(_samples_output(frames[branch], plan.candidates, paths))
        branch += 1
    poster = (
        frames[branch]
        .filter("trim", start=_seconds(plan.thumbnail_at))
        .filter("scale", top.width, top.height)
        .filter("setsar", 1)
    )
    outputs.append(ffmpeg.output(poster, str(paths.thumbnail), **{"frames:v": 1, "q:v": 3, "f": "image2"}))
    if not storyboard:
        return _finish(outputs)
    outputs.append(_tiles_output(frames[branch + 1], plan.storyboard, paths))
    return _finish(outputs)


def build_stills(paths: OutputPaths, plan: TranscodePlan, *, storyboard: bool, candidates: bool) -> Any:
    """After the transcode (``build_graph`` with the same flags), from the stills it wrote: the
    storyboard's sprite sheets, ``columns`` x ``rows`` tiles each, and the candidate posters.
    A few hundred small JPEGs at most; the caller removes ``paths.stills`` once this ran."""
    outputs = []
    if storyboard:
        tiles = ffmpeg.input(str(paths.tiles), f="image2", start_number=1)
        outputs.append(_sprites_output(tiles, plan.storyboard, paths))
    if candidates:
        samples = ffmpeg.input(str(paths.samples), f="image2", start_number=1)
        outputs.append(_candidates_output(samples, plan.candidates, plan.renditions[0], paths))
    return _finish(outputs)


def _finish(outputs: list[Any]) -> Any:
    return (
        ffmpeg.merge_outputs(*outputs)
        .global_args("-nostdin", "-hide_banner", "-loglevel", "error", "-progress", "pipe:1", "-nostats")
        .overwrite_output()
    )


def build_download(paths: OutputPaths, top: RenditionPlan) -> Any:
    """The MP4 for download, copied out of the top rendition ffmpeg already encoded: a remux, no
    second encode. ``faststart`` puts the index first, so the file plays while it downloads."""
    rendition = ffmpeg.input(str(paths.playlist(top)), f="hls", protocol_whitelist="file")
    return _finish([ffmpeg.output(rendition, str(paths.download), c="copy", movflags="+faststart", f="mp4")])
