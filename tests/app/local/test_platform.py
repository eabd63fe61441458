"""`reelstack up` as a process: it starts every service and stops them all, leaving nothing behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
import sqlalchemy

from tests.e2e.conftest import start_platform
from tests.support.processes import command_line, descendants, running

GUNICORN_PLAIN_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:]+ [+-]\d{4}\] \[\d+\] \[[A-Z]+\] ")


def _wait_until_gone(pids: set[int], timeout: float = 30.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while running(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return running(pids)


def test_up_refuses_a_port_in_use_before_starting_anything() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", "up", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"127.0.0.1:{port} is in use" in result.stderr


def test_up_serves_every_route_family_and_ctrl_c_leaves_no_process_behind(tmp_path: Path) -> None:
    platform = start_platform(tmp_path / "state", transcoders=1)
    try:
        tree = descendants(platform.process.pid)
        commands = [" ".join(command_line(pid)) for pid in running(tree)]
        for role in ("app.local.emulator", "backend", "status-consumer", "transcoder", "gateway_serve"):
            assert any(role in command for command in commands), role
        assert sum("app.cli progress" in command for command in commands) >= 2
        assert requests.get(f"{platform.base_url}/api/health/ready", timeout=10).status_code == 200
        assert requests.get(f"{platform.base_url}/events/health/ready", timeout=10).status_code == 200
        assert (tmp_path / "state" / "reelstack.db").exists()
    finally:
        # Ctrl-C; the e2e fixtures stop their platforms with SIGTERM and check the same.
        code = platform.stop(signal.SIGINT)
    assert code == 0
    assert running(tree) == set()
    # Every service's gunicorn, the gateway's included, logs JSON lines rather than its plain format.
    assert [line for line in platform.log().splitlines() if GUNICORN_PLAIN_LINE.match(line)] == []


def test_a_child_that_dies_stops_everything_with_an_error_naming_it(tmp_path: Path) -> None:
    platform = start_platform(tmp_path / "state", transcoders=0)
    try:
        tree = descendants(platform.process.pid)
        [consumer] = [pid for pid in running(tree) if "status-consumer" in " ".join(command_line(pid))]
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


@pytest.mark.postgres
def test_up_runs_on_postgresql_given_a_database_url(tmp_path: Path, postgres_url: str) -> None:
    # A database of its own: the session's server is shared with the backend's tests.
    name = f"platform_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = sqlalchemy.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    platform = start_platform(tmp_path / "state", transcoders=0, database_url=url)
    try:
        health = requests.get(f"{platform.base_url}/api/health/ready", timeout=10)
        assert health.json()["database"] == "ok"
        assert requests.get(f"{platform.base_url}/api/videos", timeout=10).status_code == 200
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as connection:
            assert "videos" in sqlalchemy.inspect(connection).get_table_names()
        engine.dispose()
    finally:
        assert platform.stop() == 0
    assert not (tmp_path / "state" / "reelstack.db").exists()
