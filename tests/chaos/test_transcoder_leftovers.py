"""Chaos: a SIGKILLed transcoder's scratch directory does not outlive it in the shared work dir."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from app.contracts.messages import VideoState
from app.transcoder.scratch import LOCK_NAME
from tests.app.transcoder import conftest as transcoder_fixtures
from tests.app.transcoder.conftest import EXIT_WAIT_SECONDS, Pipeline, StartWorker, clip
from tests.chaos.test_transcoder_fleet import SEED, _ffmpegs

pytestmark = pytest.mark.chaos

pipeline = transcoder_fixtures.pipeline
start_worker = transcoder_fixtures.start_worker


def _open_files(pid: int) -> list[str]:
    files = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):  # closed meanwhile
            files.append(os.readlink(fd))
    return files


def test_a_worker_restarted_in_the_work_dir_of_a_killed_one_leaves_no_scratch_behind(
    pipeline: Pipeline, start_worker: StartWorker, tmp_path: Path
) -> None:
    # As under systemd: the restarted unit gets the same REELSTACK_TRANSCODER_WORK_DIR.
    work = tmp_path / "work"
    task = pipeline.submit(clip(tmp_path / "clip.mp4", "320x180", 2))
    killed = start_worker(work_dir=work, visibility_timeout_seconds="10")
    deadline = time.monotonic() + EXIT_WAIT_SECONDS
    while not (ffmpeg := [pid for pid, parent in _ffmpegs(work).items() if parent == killed.pid]):
        assert time.monotonic() < deadline, "the worker never started ffmpeg"
        time.sleep(0.02)
    # ffmpeg does not hold the scratch dir's lock: only its worker's life does.
    assert not [f for f in _open_files(ffmpeg[0]) if f.endswith(LOCK_NAME)]
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    assert len(list(work.iterdir())) == 1  # what the fix is for: the killed attempt's scratch dir

    replacement = start_worker(work_dir=work, visibility_timeout_seconds="10")
    assert pipeline.terminal(task.task_id).state == VideoState.READY
    replacement.send_signal(signal.SIGTERM)
    assert replacement.wait(EXIT_WAIT_SECONDS) == 0
    assert list(work.iterdir()) == [], f"seed {SEED}"
