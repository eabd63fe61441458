"""The service roles as processes: `reelstack backend` under gunicorn, `reelstack status-consumer`, `reelstack migrate`."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.backend.db import make_engine
from app.backend.models import Video
from app.contracts.messages import ProgressEventV1, VideoState
from app.local.moto_server import free_port, wait_for_http
from app.local.provision import LocalResources, client
from tests.app.backend.conftest import add_queued_video
from tests.support.emf import metric_lines


def _env(resources: LocalResources, url: str) -> dict[str, str]:
    return {
        **os.environ,
        **resources.env_for(
            "backend",
            database_url=url,
            media_base_url="http://127.0.0.1:8080/media",
            media_revocation_store="http://127.0.0.1:8080/_local/revocations",
        ),
    }


def _reelstack(*args: str, env: dict[str, str], **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )


def test_migrate_then_backend_serves_health_logs_json_and_stops_on_sigterm(
    local_resources: LocalResources, tmp_path: Path
) -> None:
    # gunicorn's control socket defaults to one path per user, which every backend on a host
    # (and the local platform's other servers) would fight over; the backend must not open one.
    runtime_dir = tmp_path / "runtime"
    runtime_dir.mkdir()
    env = {
        **_env(local_resources, f"sqlite:///{tmp_path / 'db.sqlite'}"),
        "XDG_RUNTIME_DIR": str(runtime_dir),
    }
    assert _reelstack("migrate", env=env).wait(timeout=60) == 0
    port = free_port()
    process = _reelstack(
        "backend", "--bind", f"127.0.0.1:{port}", "--workers", "1",
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/health/ready", timeout=60, process=process)  # type: ignore[arg-type]
        response = requests.get(f"http://127.0.0.1:{port}/api/health/ready", timeout=10)
        assert response.json() == {"status": "ok", "database": "ok"}
        assert not (runtime_dir / "gunicorn.ctl").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    documents = [json.loads(line) for line in output.splitlines() if line.strip()]
    # Log lines, and the request metrics' EMF lines (tests/support/emf.py checks those).
    lines = [line for line in documents if "_aws" not in line]
    access = [line for line in lines if line["logger"] == "reelstack.access"]
    assert any(line["path"] == "/api/health/ready" and line["status"] == "200" for line in access)
    assert all(line["service"] == "backend" for line in lines)
    health = [m for m in metric_lines(output, "backend") if m.dimensions["route"] == "GET /api/health/ready"]
    assert health and all(m.values["Errors5xx"] == [0] for m in health)


def test_a_backend_that_may_not_open_the_files_its_connections_need_refuses_to_start(
    local_resources: LocalResources, tmp_path: Path
) -> None:
    """systemd's default soft limit (1,024) is below a threaded worker's 1,000 connections plus
    its pools and logs; refused at start, not with "Too many open files" under load."""
    process = _reelstack(
        "backend", "--bind", f"127.0.0.1:{free_port()}",
        env=_env(local_resources, f"sqlite:///{tmp_path / 'db.sqlite'}"),
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024)),
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _, errors = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 2
    assert "open files but the process may open 1024; raise LimitNOFILE" in errors


def _listening_sockets(port: int) -> int:
    """TCP sockets in LISTEN on 127.0.0.1:``port`` (``/proc/net/tcp``: address and port in hex, state 0A)."""
    local = f"0100007F:{port:04X}"
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if row[1] == local and row[3] == "0A")


def test_each_backend_worker_listens_on_its_own_socket_so_the_kernel_spreads_connections(
    local_resources: LocalResources, tmp_path: Path
) -> None:
    """With one socket shared by the workers, keep-alive connections accepted in a burst could all
    land on one worker, which then served alone on one core (issue 14: 5 of 15 runs, throughput
    halved). gunicorn's ``reuse_port`` gives each worker its own SO_REUSEPORT socket, among which
    Linux spreads new connections evenly (https://docs.gunicorn.org/en/stable/settings.html#reuse-port,
    https://lwn.net/Articles/542629/)."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    env = _env(local_resources, url)
    assert _reelstack("migrate", env=env).wait(timeout=60) == 0
    port = free_port()
    process = _reelstack(
        "backend", "--bind", f"127.0.0.1:{port}", "--workers", "2",
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/health/live", timeout=60, process=process)  # type: ignore[arg-type]
        deadline = time.monotonic() + 30
        while _listening_sockets(port) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)  # the second worker may still be booting
        assert _listening_sockets(port) == 2
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_status_consumer_records_published_events_and_stops_on_sigterm(
    local_resources: LocalResources, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    env = _env(local_resources, url)
    assert _reelstack("migrate", env=env).wait(timeout=60) == 0
    engine = make_engine(url)
    task_id = uuid.uuid4()
    video_id = add_queued_video(engine, task_id)
    sns = client("sns", local_resources.endpoint_url)
    event = ProgressEventV1(
        task_id=task_id, video_id=video_id, state=VideoState.TRANSCODING, percent=42, sequence=3
    )
    sns.publish(TopicArn=local_resources.progress_topic_arn, Message=event.model_dump_json())

    process = _reelstack("status-consumer", "--wait-seconds", "1", env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        progress = 0.0
        while progress != 42 and time.monotonic() < deadline:
            time.sleep(0.2)
            with Session(engine) as session:
                progress = session.scalars(select(Video.progress).where(Video.id == video_id)).one()
        assert progress == 42
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=60)
        engine.dispose()
    assert process.returncode == 0, errors
    sqs = client("sqs", local_resources.endpoint_url)
    attributes = sqs.get_queue_attributes(
        QueueUrl=local_resources.status_queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
