"""`reelstack up` as a process: it starts every service and stops them all, leaving nothing behind."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import requests

from tests.e2e.conftest import descendants, running, start_platform


def _command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _wait_until_gone(pids: set[int], timeout: float = 30.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while running(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return running(pids)


def test_up_serves_every_route_family_and_sigterm_leaves_no_process_behind(tmp_path: Path) -> None:
    platform = start_platform(tmp_path / "state", transcoders=1)
    try:
        tree = descendants(platform.process.pid)
        commands = [_command_line(pid) for pid in running(tree)]
        for role in ("moto.server", "backend", "status-consumer", "transcoder", "gateway_serve"):
            assert any(role in command for command in commands), role
        assert sum("app.cli progress" in command for command in commands) >= 2
        assert requests.get(f"{platform.base_url}/api/health", timeout=10).status_code == 200
        assert requests.get(f"{platform.base_url}/events/health", timeout=10).status_code == 200
        assert (tmp_path / "state" / "reelstack.db").exists()
    finally:
        code = platform.stop(signal.SIGTERM)
    assert code == 0
    assert running(tree) == set()


def test_a_child_that_dies_stops_everything_with_an_error_naming_it(tmp_path: Path) -> None:
    platform = start_platform(tmp_path / "state", transcoders=0)
    try:
        tree = descendants(platform.process.pid)
        [consumer] = [pid for pid in running(tree) if "status-consumer" in _command_line(pid)]
        os.kill(consumer, signal.SIGKILL)
        code = platform.process.wait(60)
    finally:
        platform.stop()
    assert code == 1
    assert "status-consumer" in platform.log()
    assert "exited unexpectedly" in platform.log()
    assert running(tree) == set()


def test_children_die_with_the_platform_even_when_it_is_killed_outright(tmp_path: Path) -> None:
    platform = start_platform(tmp_path / "state", transcoders=0)
    tree = descendants(platform.process.pid)
    platform.process.kill()
    platform.process.wait()
    assert _wait_until_gone(tree) == set()
