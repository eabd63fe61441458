"""Limits on a source, checked on its probe: pure functions, and the decode cap run on real ffmpeg."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import ffmpeg
import pytest

from app.contracts.messages import TaskMessageV1
from app.contracts.settings import TranscoderSettings
from app.transcoder.graph import OutputPaths, build_graph, plan_transcode
from app.transcoder.limits import SourceLimits, SourceRefused, check_source, clock
from app.transcoder.probe import ProbeResult, probe
from app.transcoder.runner import TimedOut, run_ffmpeg
from tests.app.transcoder.conftest import Media, ffprobe

LIMITS = SourceLimits(max_seconds=600, max_fps=60, min_side=64, max_side=1920, max_pixel_frames=5 * 10**10)


def _source(
    width: int = 1280, height: int = 720, fps: float = 30, duration: float = 60, **kw: object
) -> ProbeResult:
    return ProbeResult(
        width=width,
        height=height,
        rotation=0,
        duration=duration,
        has_audio=False,
        fps=fps,
        **kw,  # type: ignore[arg-type]
    )


def test_a_source_inside_every_limit_passes() -> None:
    check_source(_source(), LIMITS)
    check_source(
        _source(width=1920, height=64, fps=60, duration=600), SourceLimits(600, 60, 64, 1920, 10**13)
    )


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (_source(width=16, height=16), "the video is 16x16 pixels; each side must be at least 64 pixels"),
        (_source(width=1280, height=40), "each side must be at least 64 pixels"),
        (_source(width=3840, height=2160), "the video is 3840x2160 pixels; no side may be more than 1920"),
        (_source(fps=240), "the video has 240 frames per second; at most 60 are accepted"),
        (_source(duration=3600), "the video is 1 h long; the longest accepted is 10 min"),
        (_source(width=1920, height=1080, fps=60, duration=600), "too much work to transcode"),
    ],
)
def test_a_source_outside_a_limit_is_refused_with_a_reason(source: ProbeResult, reason: str) -> None:
    with pytest.raises(SourceRefused, match=reason):
        check_source(source, LIMITS)


def test_the_picture_as_shown_is_what_the_side_limits_measure() -> None:
    """A portrait phone video is stored landscape with rotation metadata; non-square pixels widen it."""
    rotated = ProbeResult(width=1920, height=40, rotation=90, duration=1, has_audio=False, fps=30)
    with pytest.raises(SourceRefused, match="the video is 40x1920 pixels"):
        check_source(rotated, LIMITS)
    anamorphic = _source(width=1440, height=1080, sample_aspect=Fraction(4, 3))
    with pytest.raises(SourceRefused, match="the video is 1920x1080 pixels"):
        check_source(anamorphic, SourceLimits(600, 60, 64, 1800, 10**13))


def test_the_defaults_refuse_the_abuses_of_the_report_and_accept_an_hour_of_1080p60() -> None:
    settings = TranscoderSettings(
        task_queue_url="q", task_dlq_url="d", uploads_bucket="u", media_bucket="m", progress_topic_arn="t"
    )
    limits = SourceLimits.from_settings(settings)
    check_source(_source(width=1920, height=1080, fps=60, duration=3600), limits)
    with pytest.raises(SourceRefused):
        check_source(_source(width=16, height=16, duration=3600), limits)  # the "16p" rendition
    with pytest.raises(SourceRefused):
        check_source(_source(width=1920, height=1080, fps=30, duration=7200), limits)


def test_the_smallest_side_cannot_exceed_the_largest() -> None:
    with pytest.raises(ValueError, match="min_source_side must not exceed max_source_side"):
        TranscoderSettings(
            task_queue_url="q",
            task_dlq_url="d",
            uploads_bucket="u",
            media_bucket="m",
            progress_topic_arn="t",
            min_source_side=500,
            max_source_side=400,
        )


def test_clock_reads_like_a_person_writes() -> None:
    assert [clock(s) for s in (3725.4, 600, 2, 1.5, 0.2)] == [
        "1 h 2 min 5 s",
        "10 min",
        "2 s",
        "1.5 s",
        "0.2 s",
    ]


def test_the_decode_stops_at_the_probed_duration_whatever_the_file_holds(
    media: Media, tmp_path: Path
) -> None:
    """A header claiming 0.5 s on a longer stream gets 0.5 s (plus the margin) decoded, not the rest."""
    honest = probe(media.landscape)
    assert honest.duration == pytest.approx(4.0, abs=0.1)
    lying = ProbeResult(
        width=honest.width,
        height=honest.height,
        rotation=0,
        duration=0.5,
        has_audio=honest.has_audio,
        fps=honest.fps,
    )
    task = TaskMessageV1(
        video_id="00000000-0000-0000-0000-000000000001", owner_id="u", source_bucket="uploads", source_key="k"
    )
    paths = OutputPaths(source=media.landscape, root=tmp_path)
    paths.make_directories(plan_transcode(lying, task, [360]))
    run_ffmpeg(ffmpeg.compile(build_graph(lying, task, [360], paths)), lambda _: None, lambda: False)
    assert float(ffprobe(tmp_path / "360p" / "index.m3u8")["format"]["duration"]) <= 1.6


def test_ffmpeg_is_stopped_at_its_wall_clock_budget() -> None:
    endless = [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc2",
        "-progress",
        "pipe:1",
        "-f",
        "null",
        "-",
    ]
    with pytest.raises(TimedOut):  # it would run forever otherwise
        run_ffmpeg(endless, lambda _: None, lambda: False, timeout_seconds=1)
