"""Runs one ffmpeg command, turning its ``-progress pipe:1`` output into seconds done."""

from __future__ import annotations

import math
import resource
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO

_STDERR_LINES_KEPT = 20
_CANCEL_POLL_SECONDS = 0.2


@dataclass
class Pace:
    """How far the current task has got, to judge whether it can finish before a deadline."""

    started: float = field(default_factory=time.monotonic)
    fraction: float = 0.0

    def remaining_seconds(self, now: float) -> float:
        """Seconds left at the pace so far; unknown (infinite) before any progress."""
        if self.fraction <= 0:
            return math.inf
        return (now - self.started) * (1 - self.fraction) / self.fraction


def children_cpu_seconds() -> float:
    """CPU time (user + system) of this process's finished children so far: ffprobe and ffmpeg
    (setpriv execs ffmpeg in its own process). A worker runs one task at a time, so the difference
    across a task is that task's."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class FfmpegFailed(RuntimeError):
    """ffmpeg exited non-zero on a source that probed and decoded: treated as transient."""


class Cancelled(RuntimeError):
    """The run was stopped from outside (shutdown grace period over, or the video deleted)."""


class TimedOut(RuntimeError):
    """The run took longer than its wall-clock budget and was stopped."""


def out_time_seconds(line: str) -> float | None:
    """Seconds of output written, from one ``key=value`` line of ffmpeg's progress output."""
    key, _, value = line.strip().partition("=")
    if key != "out_time_us" or not value.lstrip("-").isdigit():
        return None
    return max(0, int(value)) / 1_000_000


def _collect(stream: IO[bytes], lines: deque[str]) -> None:
    for line in stream:
        lines.append(line.decode("utf-8", "replace").rstrip())


def run_ffmpeg(
    args: Sequence[str],
    on_progress: Callable[[float], None],
    cancelled: Callable[[], bool],
    timeout_seconds: float = math.inf,
) -> None:
    """Run ``args`` (with ``-progress pipe:1``), calling ``on_progress(seconds)``; kill it once
    ``cancelled()`` (asked every 0.2 s) is true or once it has run ``timeout_seconds``."""
    process = subprocess.Popen(
        # util-linux's setpriv makes the kernel kill ffmpeg if this worker dies first (even by
        # SIGKILL), so no orphan keeps transcoding a task that is already being redelivered.
        ["setpriv", "--pdeathsig", "KILL", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Its own session: a SIGTERM or Ctrl-C sent to the worker's process group reaches only
        # the worker, which decides whether ffmpeg finishes or is stopped.
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    stderr_tail: deque[str] = deque(maxlen=_STDERR_LINES_KEPT)
    stderr_reader = threading.Thread(target=_collect, args=(process.stderr, stderr_tail), daemon=True)
    stderr_reader.start()

    deadline = time.monotonic() + timeout_seconds
    timed_out = threading.Event()

    def kill_on_cancel() -> None:
        while process.poll() is None:
            if cancelled():
                process.kill()
                return
            if time.monotonic() >= deadline:
                timed_out.set()
                process.kill()
                return
            time.sleep(_CANCEL_POLL_SECONDS)

    threading.Thread(target=kill_on_cancel, daemon=True).start()
    try:
        for raw in process.stdout:
            seconds = out_time_seconds(raw.decode("ascii", "replace"))
            if seconds is not None:
                on_progress(seconds)
        returncode = process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        stderr_reader.join(timeout=5)
    if returncode != 0 and cancelled():
        raise Cancelled("ffmpeg was stopped from outside")
    if returncode != 0 and timed_out.is_set():
        raise TimedOut(f"ffmpeg was stopped after {timeout_seconds:g} s")
    if returncode != 0:
        detail = "; ".join(stderr_tail) or f"exit status {returncode}"
        raise FfmpegFailed(f"ffmpeg failed: {detail[-500:]}")
