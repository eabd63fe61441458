"""Chaos: a fleet of `reelstack transcoder` processes, busy ones SIGKILLed and replaced, still gives one result per task.

ARCHITECTURE.md fix 4 (at-least-once, exactly-one result) under a bounded number of random
kills: every task ends in one terminal state (ready for a good source, failed for a corrupt
one), every ready task has one complete set of outputs under its own prefix, the task queue
and the DLQ end empty, and no ffmpeg outlives its worker. Also a worker frozen (SIGSTOP) past
its lease that wakes after another worker finished its task.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.contracts.messages import ProgressEventV1, TaskMessageV1, VideoState
from app.contracts.names import TASK_MAX_RECEIVES
from app.contracts.tickets import media_key_prefix
from tests.app.transcoder import conftest as transcoder_fixtures
from tests.app.transcoder.conftest import Pipeline, StartWorker, clip
from tests.support.processes import command_line, process_table, running

pytestmark = pytest.mark.chaos

# The transcoder tests' fixtures: moto resources with an observer on the progress topic, worker processes.
pipeline = transcoder_fixtures.pipeline
start_worker = transcoder_fixtures.start_worker

SEED = int(os.environ.get("REELSTACK_CHAOS_SEED", "20261126"))
WORKERS = 3
# A task is killed on at most TASK_MAX_RECEIVES - 1 receives, so none reaches the DLQ.
KILLS = 3
VISIBILITY_TIMEOUT = "10"
# Bounds on waiting for something that should happen; exceeding one fails the test.
CHAOS_SECONDS = 40.0
SETTLE_SECONDS = 60.0
EXIT_WAIT_SECONDS = 20.0
_SCRATCH_DIR = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-.+")


@dataclass(frozen=True)
class Source:
    path: Path
    good: bool


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> list[Source]:
    """Six tiny clips of 1-2 s between 160x90 and 320x180, a truncated one and random bytes."""
    rng = random.Random(SEED)
    base = tmp_path_factory.mktemp("chaos-media")
    sizes = ["160x90", "192x108", "256x144", "320x180", "240x136", "288x162"]
    good = [
        clip(base / f"clip{n}.mp4", size, rng.choice([1, 1.5, 2]), audio=n % 2 == 0)
        for n, size in enumerate(sizes)
    ]
    truncated = base / "truncated.mp4"
    # The moov atom is written last: without the end of the file, nothing can be decoded.
    truncated.write_bytes(good[0].read_bytes()[: good[0].stat().st_size // 2])
    noise = base / "noise.mp4"
    noise.write_bytes(rng.randbytes(64 * 1024))
    return [Source(p, True) for p in good] + [Source(truncated, False), Source(noise, False)]


def _ffmpegs(under: Path) -> dict[int, int]:
    """Live ffmpeg processes working in ``under``: pid → parent pid."""
    found = {}
    for pid, (parent, state) in process_table().items():
        args = command_line(pid)
        if state != "Z" and args and Path(args[0]).name == "ffmpeg" and any(str(under) in a for a in args):
            found[pid] = parent
    return found


def _task_of(ffmpeg_pid: int) -> uuid.UUID | None:
    """The task an ffmpeg works on, from its scratch directory ``<work_dir>/<task id>-<random>/``."""
    for arg in command_line(ffmpeg_pid):
        for part in Path(arg).parts:
            if match := _SCRATCH_DIR.fullmatch(part):
                return uuid.UUID(match[1])
    return None


class Fleet:
    """Worker processes, of which busy ones are killed (with their ffmpeg) and replaced."""

    def __init__(self, start: StartWorker, scratch: Path, rng: random.Random) -> None:
        self.start, self.scratch, self.rng = start, scratch, rng
        self.workers = [self._start() for _ in range(WORKERS)]
        self.killed_tasks: list[uuid.UUID] = []

    def _start(self) -> subprocess.Popen[bytes]:
        return self.start(grace=5.0, visibility_timeout_seconds=VISIBILITY_TIMEOUT)

    def kill_a_busy_worker(self) -> None:
        """SIGKILL a random worker transcoding a task with receives to spare; start a replacement."""
        by_worker: dict[int, list[int]] = {}
        for pid, parent in _ffmpegs(self.scratch).items():
            by_worker.setdefault(parent, []).append(pid)
        candidates = [
            (worker, by_worker[worker.pid], task)
            for worker in self.workers
            if worker.pid in by_worker
            and (task := _task_of(by_worker[worker.pid][0])) is not None
            and self.killed_tasks.count(task) < TASK_MAX_RECEIVES - 1
        ]
        if not candidates:
            return
        worker, ffmpegs, task = self.rng.choice(candidates)
        # The whole process group, as when the machine dies; ffmpeg has its own session and
        # must die by its parent-death signal.
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        self.killed_tasks.append(task)
        deadline = time.monotonic() + EXIT_WAIT_SECONDS
        while running(set(ffmpegs)):
            assert time.monotonic() < deadline, f"ffmpeg {ffmpegs} outlived its killed worker (seed {SEED})"
            time.sleep(0.05)
        self.workers[self.workers.index(worker)] = self._start()

    def stop(self) -> None:
        for worker in self.workers:
            worker.send_signal(signal.SIGTERM)
        codes = [worker.wait(EXIT_WAIT_SECONDS) for worker in self.workers]
        assert codes == [0] * len(codes), f"workers exited with {codes} (seed {SEED})"


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    # Whatever happened, no ffmpeg of this test keeps running.
    for pid in _ffmpegs(tmp_path):
        os.kill(pid, signal.SIGKILL)


def _playlist_entries(text: str) -> list[str]:
    """URIs a playlist refers to: its lines that are not tags, and EXT-X-MAP's init segment."""
    entries = []
    for line in text.splitlines():
        if line.startswith("#EXT-X-MAP:") and 'URI="' in line:
            entries.append(line.split('URI="', 1)[1].split('"', 1)[0])
        elif line and not line.startswith("#"):
            entries.append(line)
    return entries


def _check_one_complete_set(pipeline: Pipeline, task: TaskMessageV1, ready: ProgressEventV1) -> None:
    """Every object of the video is the one set the ready event names, and the playlists' references exist."""
    bucket = pipeline.resources.media_bucket
    prefix = media_key_prefix(task.video_id, task.task_id)
    keys = pipeline.media_keys(f"videos/{task.video_id}/")
    assert ready.outputs is not None, f"seed {SEED}"
    assert ready.outputs.master_playlist_key == prefix + "master.m3u8", f"seed {SEED}"

    def read(key: str) -> str:
        assert key in keys, f"{key} is referenced but missing; the video has {sorted(keys)} (seed {SEED})"
        body: bytes = pipeline.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body.decode()

    # The poster candidates, and the fixed-time frame the worker keeps beside them.
    referenced = {
        ready.outputs.master_playlist_key,
        ready.outputs.thumbnail_key,
        prefix + "poster.jpg",
        *ready.outputs.thumbnail_candidates,
    }
    assert ready.outputs.thumbnail_key in keys, f"seed {SEED}"
    variants = _playlist_entries(read(ready.outputs.master_playlist_key))
    assert variants, f"task {task.task_id}: the master playlist lists no variant (seed {SEED})"
    # The ladder's rungs and its audio-only variant, each listed in the master playlist.
    audio = {ready.outputs.audio.playlist_key} if ready.outputs.audio else set()
    assert {r.playlist_key for r in ready.outputs.renditions} | audio == {prefix + v for v in variants}, (
        f"seed {SEED}"
    )
    for variant in variants:
        directory = variant.rsplit("/", 1)[0] + "/" if "/" in variant else ""
        referenced.add(prefix + variant)
        for entry in _playlist_entries(read(prefix + variant)):
            referenced.add(prefix + directory + entry)
            assert prefix + directory + entry in keys, f"{entry} of {variant} is missing (seed {SEED})"
    storyboard = ready.outputs.storyboard
    assert storyboard is not None, f"task {task.task_id}: no storyboard (seed {SEED})"
    referenced.add(storyboard.vtt_key)
    directory = storyboard.vtt_key.rsplit("/", 1)[0] + "/"
    sprites = {
        directory + line.split("#", 1)[0]
        for line in read(storyboard.vtt_key).splitlines()
        if "#xywh=" in line
    }
    assert sprites == {f"{directory}sprite-{n}.jpg" for n in range(1, storyboard.sprite_count + 1)}, (
        f"seed {SEED}"
    )
    for sprite in sprites:
        assert sprite in keys, f"{sprite} of the storyboard is missing (seed {SEED})"
    referenced |= sprites
    # Nothing beyond that one set: no second set, no leftovers of a killed attempt.
    assert keys == referenced, f"task {task.task_id}: extra {sorted(keys - referenced)} (seed {SEED})"


def test_a_fleet_with_busy_workers_killed_and_replaced_gives_each_task_exactly_one_result(
    pipeline: Pipeline,
    start_worker: StartWorker,
    sources: list[Source],
    scratch: Path,
) -> None:
    print(f"chaos seed {SEED} (rerun with REELSTACK_CHAOS_SEED={SEED})")  # shown with any failure
    rng = random.Random(SEED)
    order = rng.sample(sources, len(sources))
    # Workers first, so that the batch is spread over the whole fleet from the start.
    fleet = Fleet(start_worker, scratch, rng)
    submitted = [(source, pipeline.submit(source.path)) for source in order]

    # The chaos: a bounded number of kills while work remains, at random moments.
    deadline = time.monotonic() + CHAOS_SECONDS
    while (
        len(fleet.killed_tasks) < KILLS and pipeline.messages_left()["tasks"] and time.monotonic() < deadline
    ):
        time.sleep(rng.uniform(0.05, 0.5))
        fleet.kill_a_busy_worker()
    assert fleet.killed_tasks, f"no worker was ever caught transcoding (seed {SEED})"

    deadline = time.monotonic() + SETTLE_SECONDS
    while pipeline.messages_left() != {"tasks": 0, "dlq": 0}:
        assert time.monotonic() < deadline, f"left: {pipeline.messages_left()} (seed {SEED})"
        time.sleep(0.5)
    fleet.stop()
    pipeline.drain()

    for source, task in submitted:
        events = pipeline.events_of(task.task_id)
        context = f"task {task.task_id} of {source.path.name}, killed {fleet.killed_tasks} (seed {SEED})"
        terminal = [e for e in events if e.state.terminal]
        expected = VideoState.READY if source.good else VideoState.FAILED
        assert {e.state for e in terminal} == {expected}, (
            f"{context}: {[(e.state, e.error_reason) for e in terminal]}"
        )
        # Sequences count from receive count * 1_000_000: a killed task finished on a later receive.
        assert terminal[-1].sequence // 1_000_000 > fleet.killed_tasks.count(task.task_id), context
        if source.good:
            _check_one_complete_set(pipeline, task, terminal[-1])
        else:
            assert terminal[-1].error_reason, context
            assert pipeline.media_keys(f"videos/{task.video_id}/") == set(), context
    assert _ffmpegs(scratch) == {}, f"orphan ffmpeg processes (seed {SEED})"


def test_a_worker_frozen_past_its_lease_and_resumed_after_another_finished_the_task_leaves_one_result(
    pipeline: Pipeline, start_worker: StartWorker, sources: list[Source], scratch: Path
) -> None:
    """A stopped VM or a long pause: the lease runs out, another worker finishes, the first wakes up."""
    print(f"chaos seed {SEED} (rerun with REELSTACK_CHAOS_SEED={SEED})")  # shown with any failure
    source = random.Random(SEED).choice([s for s in sources if s.good])
    frozen = start_worker(grace=5.0, visibility_timeout_seconds=VISIBILITY_TIMEOUT)
    task = pipeline.submit(source.path)
    deadline = time.monotonic() + EXIT_WAIT_SECONDS
    while not (ffmpegs := [pid for pid, parent in _ffmpegs(scratch).items() if parent == frozen.pid]):
        assert time.monotonic() < deadline, f"the worker never started ffmpeg (seed {SEED})"
        time.sleep(0.02)
    for pid in [frozen.pid, *ffmpegs]:
        with contextlib.suppress(ProcessLookupError):  # an ffmpeg may end just before
            os.kill(pid, signal.SIGSTOP)

    other = start_worker(grace=5.0, visibility_timeout_seconds=VISIBILITY_TIMEOUT)
    finished = pipeline.wait_for(lambda e: e.task_id == task.task_id and e.state.terminal)
    for pid in [frozen.pid, *ffmpegs]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    # The frozen attempt runs to its end too: at least once means it may report ready again.
    pipeline.wait_for(
        lambda e: e.task_id == task.task_id and e.state.terminal and e.sequence < finished.sequence
    )
    for worker in (frozen, other):
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(EXIT_WAIT_SECONDS) == 0, f"seed {SEED}"
    pipeline.drain()

    terminal = [e for e in pipeline.events_of(task.task_id) if e.state.terminal]
    assert [e.state for e in terminal] == [VideoState.READY, VideoState.READY], f"seed {SEED}"
    assert terminal[-1] == finished, f"seed {SEED}"
    _check_one_complete_set(pipeline, task, finished)
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 0}, f"seed {SEED}"
