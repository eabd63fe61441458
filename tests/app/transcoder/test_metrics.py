"""The transcoder's task metrics: started, succeeded, failed by a bounded reason, and its pace (EMF lines)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.transcoder.worker import Worker
from tests.app.transcoder.conftest import Pipeline, clip, run_one
from tests.support.emf import metric_lines

MakeWorker = Callable[..., Worker]


def test_a_transcoded_task_is_counted_started_and_succeeded_with_its_pace(
    pipeline: Pipeline, make_worker: MakeWorker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline.submit(clip(tmp_path / "clip.mp4", "320x180", 1))
    run_one(make_worker())

    lines = metric_lines(capsys.readouterr().out, "transcoder")
    assert [(set(line.values), line.dimensions) for line in lines] == [
        ({"TasksStarted"}, {"service": "transcoder"}),
        ({"TranscodeSecondsPerSourceSecond"}, {"service": "transcoder"}),
        ({"TasksSucceeded"}, {"service": "transcoder"}),
    ]
    [pace] = lines[1].values["TranscodeSecondsPerSourceSecond"]
    assert pace > 0 and lines[1].units["TranscodeSecondsPerSourceSecond"] == "None"


def test_failed_tasks_are_counted_by_the_class_of_their_failure(
    pipeline: Pipeline, make_worker: MakeWorker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2048)
    pipeline.submit(junk)
    pipeline.send('{"task_id": "not a task"}')
    worker = make_worker()
    run_one(worker)
    run_one(worker)

    failures = [
        line for line in metric_lines(capsys.readouterr().out, "transcoder") if "TasksFailed" in line.values
    ]
    assert sorted(line.dimensions["reason"] for line in failures) == ["invalid_message", "not_a_video"]
    assert all(
        line.values["TasksFailed"] == [1] and line.units["TasksFailed"] == "Count" for line in failures
    )
