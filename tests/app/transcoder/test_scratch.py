"""Scratch directories in a shared work dir: a sweep removes a dead worker's, never a live one's."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.transcoder.protection import STATE_DIR_NAME, ScaleInProtection
from app.transcoder.scratch import LOCK_NAME, LOCKLESS_MAX_AGE_SECONDS, scratch_dir, sweep

# A worker in the middle of a task: its scratch dir holds a partial download, optionally a child
# process that inherits every descriptor it may (as a careless Popen would), then it waits to be killed.
_OWNER = """
import subprocess, sys, time
from pathlib import Path
from app.transcoder.scratch import scratch_dir
with scratch_dir(Path(sys.argv[1]), "task-") as path:
    (path / "source").write_bytes(b"partial")
    child = subprocess.Popen(["sleep", "600"], close_fds=False) if sys.argv[2] == "child" else None
    print(child.pid if child else 0, path, flush=True)
    time.sleep(600)
"""


@dataclass(frozen=True)
class Owner:
    process: subprocess.Popen[str]
    scratch: Path
    child_pid: int

    def kill(self) -> None:
        """SIGKILL the owner alone, not its child."""
        self.process.kill()
        self.process.wait()


@pytest.fixture
def start_owner(tmp_path: Path) -> Iterator[Callable[..., Owner]]:
    owners: list[Owner] = []

    def start(*, child: bool = False) -> Owner:
        process = subprocess.Popen(
            [sys.executable, "-c", _OWNER, str(tmp_path / "work"), "child" if child else "none"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        pid, path = process.stdout.readline().split(" ", 1)
        owner = Owner(process, Path(path.strip()), int(pid))
        owners.append(owner)
        return owner

    yield start
    for owner in owners:
        if owner.process.poll() is None:
            owner.kill()
        if owner.child_pid:
            # Orphaned by the owner's death: init reaps it.
            with contextlib.suppress(ProcessLookupError):
                os.kill(owner.child_pid, signal.SIGKILL)


def test_a_sweep_keeps_the_scratch_dir_of_a_live_worker(
    start_owner: Callable[..., Owner], tmp_path: Path
) -> None:
    owner = start_owner()
    assert sweep(tmp_path / "work") == []
    assert (owner.scratch / "source").read_bytes() == b"partial"


def test_a_sweep_removes_the_scratch_dir_of_a_killed_worker(
    start_owner: Callable[..., Owner], tmp_path: Path
) -> None:
    dead, live = start_owner(), start_owner()
    dead.kill()
    assert sweep(tmp_path / "work") == [dead.scratch]
    assert not dead.scratch.exists()
    assert sorted((tmp_path / "work").iterdir()) == [live.scratch]


def test_a_child_process_of_a_killed_worker_does_not_keep_its_scratch_dir_locked(
    start_owner: Callable[..., Owner], tmp_path: Path
) -> None:
    owner = start_owner(child=True)
    owner.kill()
    assert Path(f"/proc/{owner.child_pid}").exists()  # the child lives on, yet holds no lock
    assert sweep(tmp_path / "work") == [owner.scratch]


def test_a_sweep_keeps_a_young_dir_without_a_lock_file(tmp_path: Path) -> None:
    # What a sweep sees while a worker is between creating its directory and its lock file.
    young = tmp_path / "task-young"
    young.mkdir()
    assert sweep(tmp_path) == []
    assert sweep(tmp_path, now=young.stat().st_mtime + LOCKLESS_MAX_AGE_SECONDS - 1) == []
    assert young.is_dir()


def test_a_sweep_removes_a_dir_without_a_lock_file_once_it_is_old(tmp_path: Path) -> None:
    old = tmp_path / "task-old"
    old.mkdir()
    (old / "source").write_bytes(b"partial")
    assert sweep(tmp_path, now=old.stat().st_mtime + LOCKLESS_MAX_AGE_SECONDS + 1) == [old]
    assert not old.exists()


def test_a_sweep_leaves_files_in_the_work_dir_alone(tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("not a scratch dir")
    assert sweep(tmp_path, now=note.stat().st_mtime + LOCKLESS_MAX_AGE_SECONDS + 1) == []
    assert note.exists()


def test_a_sweep_leaves_the_workers_shared_protection_state_alone(tmp_path: Path) -> None:
    ScaleInProtection(autoscaling=None, group="g", instance_id="i-1", work_dir=tmp_path)
    state = tmp_path / STATE_DIR_NAME
    assert sweep(tmp_path, now=state.stat().st_mtime + LOCKLESS_MAX_AGE_SECONDS + 1) == []
    assert state.is_dir()


def test_a_sweep_of_a_work_dir_not_yet_created_removes_nothing(tmp_path: Path) -> None:
    assert sweep(tmp_path / "work") == []


def test_a_scratch_dir_is_locked_while_in_use_and_removed_after_even_on_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), scratch_dir(tmp_path / "work", "task-") as path:
        (path / "source").write_bytes(b"partial")
        assert (path / LOCK_NAME).is_file()
        assert sweep(tmp_path / "work") == []  # its own lock counts, even from the same process
        raise RuntimeError("transcoding failed")
    assert list((tmp_path / "work").iterdir()) == []
