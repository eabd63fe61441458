"""ffmpeg reports how far the worker's one transcode has got while it runs, not only at its end.

ffmpeg (fftools/ffmpeg.c ``print_report``) prints no progress until every output file has
written its header, which an output does on its first frame: a branch of the graph whose first
frame comes late (a storyboard sheet filling up, a candidate poster picked among samples that
are all black) holds every report back. These run the worker's real graph on generated clips.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import ffmpeg
import pytest

from app.contracts.messages import TaskMessageV1
from app.transcoder.graph import OutputPaths, build_graph, build_stills, plan_transcode
from app.transcoder.probe import probe
from app.transcoder.runner import run_ffmpeg
from tests.app.transcoder.conftest import clip

LADDER = [360, 240]
SECONDS = 12.0


def _task() -> TaskMessageV1:
    return TaskMessageV1(
        video_id=uuid.uuid4(), owner_id="test", source_bucket="uploads", source_key="source", ladder=LADDER
    )


def _reported(source: Path, root: Path, *, storyboard: bool) -> list[float]:
    """The seconds ffmpeg reported, in order, running the graph the worker runs."""
    probed, task = probe(source), _task()
    paths = OutputPaths(source=source, root=root)
    plan = plan_transcode(probed, task, LADDER)
    paths.make_directories(plan)
    argv = list(ffmpeg.compile(build_graph(probed, task, LADDER, paths, storyboard=storyboard)))
    # Reports every 50 ms instead of ffmpeg's 0.5 s, so that even a fast machine sees several:
    # what is checked is whether reports flow at all before the end, not how often.
    argv[1:1] = ["-stats_period", "0.05"]
    seen: list[float] = []
    run_ffmpeg(argv, seen.append, lambda: False)
    stills = build_stills(paths, plan, storyboard=storyboard, candidates=True)
    run_ffmpeg(ffmpeg.compile(stills), lambda _s: None, lambda: False)
    return seen


def _black_clip(path: Path) -> Path:
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"color=black:size=640x360:rate=30:duration={SECONDS}",
            "-c:v", "libx264", "-preset", "ultrafast", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def _assert_reported_along_the_way(seen: list[float], duration: float) -> None:
    along = sorted({s for s in seen if 0 < s < duration - 1})
    assert len(along) >= 3, seen
    # The first report comes early in the video, not once most of it is done.
    assert along[0] < duration / 3, seen


def test_ffmpeg_reports_progress_from_the_start_with_the_storyboard_and_the_candidates(
    tmp_path: Path,
) -> None:
    source = clip(tmp_path / "source.mp4", "640x360", SECONDS)
    seen = _reported(source, tmp_path / "out", storyboard=True)
    _assert_reported_along_the_way(seen, SECONDS)
    # The sheets and candidates are still made, after ffmpeg, from the stills it wrote.
    assert sorted(p.name for p in (tmp_path / "out" / "storyboard").glob("sprite-*.jpg")) == ["sprite-1.jpg"]
    assert len(list((tmp_path / "out" / "candidates").glob("candidate-*.jpg"))) == 4


@pytest.mark.parametrize("storyboard", [True, False])
def test_a_video_black_throughout_still_reports_progress_from_the_start(
    tmp_path: Path, storyboard: bool
) -> None:
    """No sample is a candidate here: before, the candidates' output never got a frame."""
    source = _black_clip(tmp_path / "black.mp4")
    seen = _reported(source, tmp_path / "out", storyboard=storyboard)
    _assert_reported_along_the_way(seen, SECONDS)
    assert list((tmp_path / "out" / "candidates").glob("candidate-*.jpg")) == []
