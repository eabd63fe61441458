"""The graph builder, checked on the ffmpeg command it compiles to; ffmpeg never runs here."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import ffmpeg
import pytest

from app.contracts.messages import (
    FlipFilter,
    GrayscaleFilter,
    RotateFilter,
    TaskMessageV1,
    TrimFilter,
)
from app.transcoder.graph import (
    OutputPaths,
    PlanError,
    build_download,
    build_graph,
    build_stills,
    plan_ladder,
    plan_transcode,
)
from app.transcoder.posters import BATCH, CANDIDATE_COUNT, MAX_SAMPLES_PER_SECOND, plan_candidates
from app.transcoder.probe import ProbeResult

LADDER = [1080, 720, 480, 360, 240]
PATHS = OutputPaths(source=Path("/work/t/source"), root=Path("/work/t/out"))


def _probe(
    width: int = 1280, height: int = 720, *, rotation: int = 0, duration: float = 10.0, has_audio: bool = True
) -> ProbeResult:
    return ProbeResult(
        width=width, height=height, rotation=rotation, duration=duration, has_audio=has_audio, fps=30.0
    )


def _task(*filters: object, **fields: object) -> TaskMessageV1:
    return TaskMessageV1.model_validate(
        {
            "video_id": uuid.uuid4(),
            "owner_id": "user-1",
            "source_bucket": "uploads",
            "source_key": "uploads/x; rm -rf / #.mp4",
            "filters": list(filters),
            **fields,
        }
    )


def _argv(probe: ProbeResult, task: TaskMessageV1, ladder: list[int] = LADDER) -> list[str]:
    return list(ffmpeg.compile(build_graph(probe, task, ladder, PATHS)))


def _filter_complex(argv: list[str]) -> str:
    return argv[argv.index("-filter_complex") + 1]


def test_one_decode_feeds_every_rendition_the_candidates_the_poster_and_the_storyboard() -> None:
    argv = _argv(_probe(), _task())
    assert argv.count("-i") == 1
    graph = _filter_complex(argv)
    # Capital V: the video stream, never a cover picture ffprobe also lists as video.
    # 720, 480, 360, 240, the candidates' samples, the fixed-time poster and the storyboard's tiles.
    assert graph.startswith("[0:V]split=7")
    assert graph.count("split=") == 2  # that one split, and the audio's
    assert "asplit=5" in graph  # the four renditions and the audio-only variant
    assert re.findall(r"scale=(\d+):(\d+)", graph) == [
        ("1280", "720"),
        ("854", "480"),
        ("640", "360"),
        ("426", "240"),
        ("1280", "720"),
        ("160", "90"),
    ]


# passthrough: image2 would otherwise repeat frames to fill a constant frame rate.
_EACH_FRAME_ONCE = ["-f", "image2", "-fps_mode", "passthrough"]


def test_the_candidate_branch_samples_evenly_and_writes_every_sample_from_the_start() -> None:
    """Every sample is written, so the output has its first frame at the video's start: ffmpeg
    reports no progress before every output has one (test_transcode_progress.py)."""
    argv = _argv(_probe(duration=40.0), _task())
    chain = re.sub(r"\[s\d+\];\[s\d+\]", ",", _filter_complex(argv))
    assert "fps=fps=0.500000" in chain
    assert "blackframe" not in chain and "thumbnail" not in chain
    samples = argv.index("/work/t/out/stills/sample-%d.jpg")
    assert argv[samples - 8 : samples] == [*_EACH_FRAME_ONCE, "-q:v", "2", "-start_number", "1"]


def test_after_the_transcode_candidates_drop_black_and_blurred_samples_and_pick_one_per_batch() -> None:
    plan = plan_transcode(_probe(duration=40.0), _task(), LADDER)
    argv = list(ffmpeg.compile(build_stills(PATHS, plan, storyboard=False, candidates=True)))
    assert argv[1:7] == ["-f", "image2", "-start_number", "1", "-i", "/work/t/out/stills/sample-%d.jpg"]
    assert argv.count("-i") == 1
    assert (
        "[0]format=yuv420p,blackframe=amount=0:threshold=32,"
        "metadata=function=less:key=lavfi.blackframe.pblack:mode=select:value=90,blurdetect,"
        "metadata=function=less:key=lavfi.blur:mode=select:value=10.0,thumbnail=n=5,scale=1280:720,setsar=1"
    ) in re.sub(r"\[s\d+\];\[s\d+\]", ",", _filter_complex(argv))
    pattern = str(PATHS.candidates / "candidate-%d.jpg")
    assert pattern == "/work/t/out/candidates/candidate-%d.jpg"
    assert argv[argv.index(pattern) - 10 : argv.index(pattern)] == [
        *_EACH_FRAME_ONCE,
        "-frames:v",
        str(CANDIDATE_COUNT),
        "-q:v",
        "3",
        "-start_number",
        "1",
    ]


@pytest.mark.parametrize(
    ("duration", "rate"), [(40.0, 0.5), (3600.0, 20 / 3600), (1.0, MAX_SAMPLES_PER_SECOND)]
)
def test_candidates_sample_a_batch_per_candidate_over_the_whole_video_never_faster_than_the_cap(
    duration: float, rate: float
) -> None:
    plan = plan_candidates(duration)
    assert (plan.count, plan.batch) == (CANDIDATE_COUNT, BATCH)
    assert plan.sample_rate == pytest.approx(rate)


def test_the_audio_only_variant_is_an_hls_output_of_the_sound_alone_at_a_low_bit_rate() -> None:
    argv = _argv(_probe(), _task())
    playlist = argv.index("/work/t/out/audio/index.m3u8")
    start = (
        max(i for i in range(playlist) if argv[i].startswith("/work/t/out/") and argv[i].endswith(".m3u8"))
        + 1
    )
    options = argv[start:playlist]
    assert options[:2] == ["-map", options[1]] and options.count("-map") == 1
    assert "-c:v" not in options and options[options.index("-c:a") + 1] == "aac"
    assert options[options.index("-b:a") + 1] == "64000"
    assert options[options.index("-hls_segment_type") + 1] == "fmp4"
    assert "/work/t/out/audio/seg_%05d.m4s" in options


def test_the_download_is_a_faststart_remux_of_the_top_rendition_read_as_local_hls_only() -> None:
    top = plan_transcode(_probe(), _task(), LADDER).renditions[0]
    argv = list(ffmpeg.compile(build_download(PATHS, top)))
    assert argv[: argv.index("/work/t/out/download.mp4") + 1] == [
        "ffmpeg",
        "-f",
        "hls",
        "-protocol_whitelist",
        "file",
        "-i",
        "/work/t/out/720p/index.m3u8",
        "-f",
        "mp4",
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        "/work/t/out/download.mp4",
    ]
    assert "filter_complex" not in " ".join(argv)


def test_the_storyboard_branch_writes_one_tile_per_interval_as_it_comes() -> None:
    argv = _argv(_probe(duration=10.0), _task())
    chain = re.sub(r"\[s\d+\];\[s\d+\]", ",", _filter_complex(argv))
    assert "fps=eof_action=pass:fps=1/2,scale=160:90,setsar=1" in chain
    assert "tile=" not in chain
    tiles = argv.index("/work/t/out/stills/tile-%d.jpg")
    assert argv[tiles - 8 : tiles] == [*_EACH_FRAME_ONCE, "-q:v", "2", "-start_number", "1"]


def test_after_the_transcode_the_tiles_are_packed_into_numbered_sprite_sheets() -> None:
    plan = plan_transcode(_probe(duration=10.0), _task(), LADDER)
    argv = list(ffmpeg.compile(build_stills(PATHS, plan, storyboard=True, candidates=False)))
    assert argv[1:7] == ["-f", "image2", "-start_number", "1", "-i", "/work/t/out/stills/tile-%d.jpg"]
    assert "[0]tile=5x5[s0]" in _filter_complex(argv)
    sprites = argv.index(str(PATHS.sprites))
    assert argv[sprites - 8 : sprites] == [*_EACH_FRAME_ONCE, "-q:v", "5", "-start_number", "1"]
    assert str(PATHS.sprites) == "/work/t/out/storyboard/sprite-%d.jpg"


def test_renditions_never_exceed_the_source_height() -> None:
    plan = plan_transcode(_probe(1280, 720), _task(), LADDER)
    assert [r.height for r in plan.renditions] == [720, 480, 360, 240]


def test_a_source_below_every_rung_keeps_its_own_even_height() -> None:
    assert [(r.width, r.height) for r in plan_ladder(321, 181, LADDER, 30)] == [(322, 182)]


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (720, 1280, [(608, 1080), (406, 720), (270, 480), (202, 360), (136, 240)]),
        (854, 481, [(852, 480), (640, 360), (426, 240)]),
        (1920, 1080, [(1920, 1080), (1280, 720), (854, 480), (640, 360), (426, 240)]),
    ],
)
def test_renditions_keep_the_aspect_with_even_sizes(
    width: int, height: int, expected: list[tuple[int, int]]
) -> None:
    renditions = plan_ladder(width, height, LADDER, 30)
    assert [(r.width, r.height) for r in renditions] == expected
    for r in renditions:
        assert r.width % 2 == 0 and r.height % 2 == 0
        assert abs(r.width / r.height - width / height) < 0.02


def test_rotation_metadata_and_rotate_filter_swap_the_frame_before_scaling() -> None:
    rotated_source = plan_transcode(_probe(1280, 720, rotation=90), _task(), LADDER)
    assert (rotated_source.width, rotated_source.height) == (720, 1280)
    rotated_by_task = plan_transcode(_probe(1280, 720), _task({"type": "rotate", "degrees": 270}), LADDER)
    assert (rotated_by_task.width, rotated_by_task.height) == (720, 1280)
    upside_down = plan_transcode(_probe(1280, 720), _task({"type": "rotate", "degrees": 180}), LADDER)
    assert (upside_down.width, upside_down.height) == (1280, 720)


@pytest.mark.parametrize(
    ("spec", "nodes"),
    [
        (RotateFilter(degrees=90), ["transpose=dir=clock"]),
        (RotateFilter(degrees=270), ["transpose=dir=cclock"]),
        (RotateFilter(degrees=180), ["hflip", "vflip"]),
        (GrayscaleFilter(), ["format=gray", "format=yuv420p"]),
        (FlipFilter(axis="horizontal"), ["hflip"]),
        (FlipFilter(axis="vertical"), ["vflip"]),
    ],
)
def test_each_allow_listed_filter_becomes_its_filter_nodes_before_the_split(
    spec: object, nodes: list[str]
) -> None:
    graph = _filter_complex(_argv(_probe(), _task(spec)))
    before_split = graph[: graph.index("split=")]
    positions = [before_split.index(node) for node in nodes]
    assert positions == sorted(positions)


def test_trim_cuts_video_and_audio_alike_and_shortens_the_plan() -> None:
    task = _task(TrimFilter(start=1.5, end=4))
    graph = _filter_complex(_argv(_probe(), task))
    assert "[0:V]trim=end=4.000000:start=1.500000" in graph
    assert "[0:a]atrim=end=4.000000:start=1.500000" in graph
    assert "asetpts=PTS-STARTPTS" in graph and "setpts=PTS-STARTPTS" in graph
    assert plan_transcode(_probe(), task, LADDER).duration == pytest.approx(2.5)


def test_trim_past_the_end_of_the_source_is_refused() -> None:
    with pytest.raises(PlanError, match="after the end"):
        plan_transcode(_probe(duration=3.0), _task(TrimFilter(start=5)), LADDER)


def test_trim_end_beyond_the_source_stops_at_its_end() -> None:
    assert plan_transcode(_probe(duration=3.0), _task(TrimFilter(start=1, end=60)), LADDER).duration == 2.0


def test_without_audio_no_audio_is_mapped_or_encoded() -> None:
    argv = _argv(_probe(has_audio=False), _task())
    assert "asplit" not in _filter_complex(argv)
    assert "/work/t/out/audio/index.m3u8" not in argv
    assert "0:a" not in " ".join(argv)
    assert "-c:a" not in argv


def test_each_rendition_is_an_hls_output_of_four_second_fmp4_segments() -> None:
    argv = _argv(_probe(), _task())
    assert argv.count("hls") == 5  # and the audio-only variant
    assert argv.count("fmp4") == 5
    assert {argv[i + 1] for i, a in enumerate(argv) if a == "-hls_time"} == {"4"}
    assert "/work/t/out/480p/index.m3u8" in argv
    assert "/work/t/out/480p/seg_%05d.m4s" in argv
    assert argv[argv.index("/work/t/out/poster.jpg") - 1] == "3"  # -q:v 3, one JPEG frame
    assert "-progress" in argv and argv[argv.index("-progress") + 1] == "pipe:1"


def test_the_ladder_is_the_intersection_of_the_task_request_and_the_configuration() -> None:
    plan = plan_transcode(_probe(1920, 1080), _task(ladder=[1080, 480, 144]), [720, 480, 360])
    assert [r.height for r in plan.renditions] == [480]


def test_no_string_from_the_task_reaches_the_command_line() -> None:
    task = _task(TrimFilter(start=1, end=2), RotateFilter(degrees=90), GrayscaleFilter())
    argv = " ".join(_argv(_probe(), task))
    assert task.source_key not in argv
    assert task.owner_id not in argv
    assert str(task.video_id) not in argv
    assert "/work/t/source" in argv


def test_the_source_is_read_only_by_video_demuxers_from_the_local_file_up_to_its_probed_duration() -> None:
    argv = _argv(_probe(duration=10.0), _task())
    assert argv[: argv.index("-i")] == [
        "ffmpeg",
        "-format_whitelist",
        "mov,matroska,avi,mpegts,flv,mpeg,ogg,asf",
        "-protocol_whitelist",
        "file",
        "-t",
        "11.000000",
    ]


def test_without_the_storyboard_the_split_feeds_only_the_ladder_and_the_poster() -> None:
    """The bench's baseline for what the storyboard costs (bench/one_decode.py)."""
    argv = list(ffmpeg.compile(build_graph(_probe(), _task(), LADDER, PATHS, storyboard=False)))
    graph = _filter_complex(argv)
    assert graph.startswith("[0:V]split=6") and "tile=" not in graph
    assert str(PATHS.tiles) not in argv


def test_a_tasks_later_run_makes_neither_candidates_nor_the_audio_only_variant_again() -> None:
    """A long source's second run (checkpoints.py) encodes the lower rungs; the candidate posters
    and the audio-only variant came with the first, at the top rung's size."""
    argv = list(
        ffmpeg.compile(
            build_graph(_probe(), _task(), [480, 360], PATHS, storyboard=False, once_per_task=False)
        )
    )
    graph = _filter_complex(argv)
    assert graph.startswith("[0:V]split=3") and "asplit=2" in graph  # 480, 360 and the poster
    assert "blackframe" not in graph and "thumbnail=" not in graph
    assert "/work/t/out/audio/index.m3u8" not in argv
    assert str(PATHS.samples) not in argv
