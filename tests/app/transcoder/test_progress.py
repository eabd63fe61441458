from __future__ import annotations

import math
import uuid
from pathlib import Path

from app.contracts.messages import PlayableOutputs, ProgressEventV1, Rendition, TaskOutputs, VideoState
from app.transcoder.hls import AudioVariant, Variant, bandwidth, codecs, master_playlist, playlist_duration
from app.transcoder.progress import ProgressReporter
from app.transcoder.runner import Pace, out_time_seconds

TASK_ID, VIDEO_ID = uuid.uuid4(), uuid.uuid4()
OUTPUTS = TaskOutputs(
    prefix="videos/v/t/",
    master_playlist_key="videos/v/t/master.m3u8",
    thumbnail_key="videos/v/t/poster.jpg",
    duration_seconds=3.0,
    renditions=[
        Rendition(height=240, width=426, bandwidth=400_000, playlist_key="videos/v/t/240p/index.m3u8")
    ],
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _reporter(attempt: int = 1) -> tuple[ProgressReporter, list[ProgressEventV1], FakeClock]:
    events: list[ProgressEventV1] = []
    clock = FakeClock()
    return ProgressReporter(events.append, TASK_ID, VIDEO_ID, attempt, clock=clock), events, clock


def test_reports_are_throttled_to_one_percent_steps() -> None:
    reporter, events, _ = _reporter()
    for tenth in range(0, 301):
        reporter.transcoding(tenth / 10)
    assert [e.percent for e in events] == [float(p) for p in range(0, 31)]


def test_a_slow_task_still_reports_every_second() -> None:
    reporter, events, clock = _reporter()
    reporter.transcoding(0)
    reporter.transcoding(0.2)
    clock.now = 1.0
    reporter.transcoding(0.3)
    assert [e.percent for e in events] == [0.0, 0.3]


def test_progress_always_starts_at_zero_ends_at_100_then_ready() -> None:
    reporter, events, _ = _reporter()
    reporter.transcoding(37.5)
    reporter.transcoding(12.0)
    reporter.ready(OUTPUTS)
    assert [(e.state, e.percent) for e in events] == [
        (VideoState.TRANSCODING, 0.0),
        (VideoState.TRANSCODING, 37.5),
        (VideoState.TRANSCODING, 100.0),
        (VideoState.READY, 100.0),
    ]
    assert events[-1].outputs == OUTPUTS


def test_sequences_increase_within_and_across_attempts() -> None:
    first, first_events, _ = _reporter(attempt=1)
    for percent in (0, 50, 99):
        first.transcoding(percent)
    second, second_events, _ = _reporter(attempt=2)
    second.transcoding(0)
    second.failed("boom")
    sequences = [e.sequence for e in first_events + second_events]
    assert sequences == sorted(set(sequences))
    assert second_events[-1].state == VideoState.FAILED and second_events[-1].error_reason == "boom"


def test_ffmpeg_progress_lines_give_seconds_written() -> None:
    assert out_time_seconds("out_time_us=2500000\n") == 2.5
    assert out_time_seconds("out_time_us=N/A") is None
    assert out_time_seconds("out_time_ms=2500000") is None
    assert out_time_seconds("progress=continue") is None


def test_master_playlist_lists_each_variant_with_bandwidth_resolution_and_codecs() -> None:
    variant = Variant("720p/index.m3u8", 1280, 720, 3_000_000, 2_000_000, "avc1.64001f,mp4a.40.2", 30.0)
    text = master_playlist([variant])
    assert text.startswith("#EXTM3U\n")
    assert (
        '#EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2000000,RESOLUTION=1280x720,FRAME-RATE=30.000,CODECS="avc1.64001f,mp4a.40.2"\n720p/index.m3u8\n'
        in text
    )


def test_the_audio_only_variant_is_listed_last_without_resolution_and_with_the_audio_codec_alone() -> None:
    """RFC 8216, section 4.3.4.2 (https://www.rfc-editor.org/rfc/rfc8216#section-4.3.4.2): every
    EXT-X-STREAM-INF carries BANDWIDTH; RESOLUTION belongs to variants that include video."""
    variant = Variant("720p/index.m3u8", 1280, 720, 3_000_000, 2_000_000, "avc1.64001f,mp4a.40.2", 30.0)
    text = master_playlist([variant], AudioVariant("audio/index.m3u8", 70_000, 66_000))
    assert text.endswith(
        '#EXT-X-STREAM-INF:BANDWIDTH=70000,AVERAGE-BANDWIDTH=66000,CODECS="mp4a.40.2"\naudio/index.m3u8\n'
    )
    assert text.index("720p/index.m3u8") < text.index("audio/index.m3u8")


def test_codecs_follow_the_probed_profile_and_level() -> None:
    info = {
        "streams": [
            {"codec_type": "video", "codec_name": "h264", "profile": "High", "level": 31},
            {"codec_type": "audio", "codec_name": "aac", "profile": "LC"},
        ]
    }
    assert codecs(info) == "avc1.64001f,mp4a.40.2"


def test_bandwidth_is_the_peak_and_mean_of_the_segments(tmp_path: Path) -> None:
    (tmp_path / "a.m4s").write_bytes(b"x" * 1000)
    (tmp_path / "b.m4s").write_bytes(b"x" * 3000)
    playlist = tmp_path / "index.m3u8"
    playlist.write_text("#EXTM3U\n#EXTINF:4.000,\na.m4s\n#EXTINF:2.000,\nb.m4s\n#EXT-X-ENDLIST\n")
    assert bandwidth(playlist) == (12_001, 5_334)
    assert playlist_duration(playlist) == 6.0


def test_pace_estimates_the_time_left_from_the_time_so_far() -> None:
    pace = Pace(started=100.0)
    assert pace.remaining_seconds(now=110.0) == math.inf
    pace.fraction = 0.25
    assert pace.remaining_seconds(now=110.0) == 30.0


def test_the_video_playing_early_is_said_once_on_a_transcoding_event_at_the_percent_reached() -> None:
    reporter, events, _ = _reporter()
    reporter.transcoding(20.0)
    early = PlayableOutputs(master_playlist_key="videos/v/t/master.m3u8", heights=[240])
    reporter.playable(early)
    reporter.transcoding(21.0)
    assert [(e.state, e.percent, e.playable) for e in events] == [
        (VideoState.TRANSCODING, 0.0, None),
        (VideoState.TRANSCODING, 20.0, None),
        (VideoState.TRANSCODING, 20.0, early),
        (VideoState.TRANSCODING, 21.0, None),
    ]
    assert [e.sequence for e in events] == sorted({e.sequence for e in events})
