"""Chaos: a task whose worker is SIGKILLed on every receive still ends failed for its uploader.

No attempt can publish anything when it is killed, so the redrive moves the task to the DLQ
silently; an idle worker then reports it failed and leaves it there for the operators.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from app.contracts.messages import VideoState
from app.contracts.names import TASK_MAX_RECEIVES
from tests.app.transcoder import conftest as transcoder_fixtures
from tests.app.transcoder.conftest import EVENT_WAIT_SECONDS, EXIT_WAIT_SECONDS, Pipeline, StartWorker, clip
from tests.chaos import test_transcoder_fleet as fleet
from tests.chaos.test_transcoder_fleet import _ffmpegs

pytestmark = pytest.mark.chaos

pipeline = transcoder_fixtures.pipeline
start_worker = transcoder_fixtures.start_worker
scratch = fleet.scratch


def _kill_when_transcoding(worker: subprocess.Popen[bytes], scratch: Path) -> None:
    deadline = time.monotonic() + EVENT_WAIT_SECONDS
    while worker.pid not in _ffmpegs(scratch).values():
        assert time.monotonic() < deadline, "the worker never started ffmpeg"
        time.sleep(0.02)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def test_a_task_whose_worker_is_killed_on_every_receive_ends_failed_not_silently_in_the_dlq(
    pipeline: Pipeline, start_worker: StartWorker, scratch: Path
) -> None:
    task = pipeline.submit(clip(scratch / "clip.mp4", "320x180", 2))
    for attempt in range(TASK_MAX_RECEIVES):
        _kill_when_transcoding(
            start_worker(work_dir=scratch / f"work{attempt}", visibility_timeout_seconds="10"), scratch
        )
    deadline = time.monotonic() + EVENT_WAIT_SECONDS
    while pipeline.messages_left() != {"tasks": 0, "dlq": 1}:
        # A receive is what moves a message past its receive limit to the DLQ.
        pipeline.sqs.receive_message(QueueUrl=pipeline.resources.task_queue_url, WaitTimeSeconds=1)
        assert time.monotonic() < deadline, pipeline.messages_left()
    pipeline.drain()
    assert not [e for e in pipeline.events_of(task.task_id) if e.state.terminal]  # the defect's silence

    idle = start_worker(work_dir=scratch / "idle", visibility_timeout_seconds="10")
    assert pipeline.terminal(task.task_id).state == VideoState.FAILED
    idle.send_signal(signal.SIGTERM)
    assert idle.wait(EXIT_WAIT_SECONDS) == 0
    pipeline.drain()
    assert [e.state for e in pipeline.events_of(task.task_id) if e.state.terminal] == [VideoState.FAILED]
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 1}, "kept for the operators"
