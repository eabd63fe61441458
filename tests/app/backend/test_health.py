"""Liveness is all the load balancer and the group act on; readiness reports the database."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from app.backend import AwsClients, create_app
from app.backend.db import CONNECT_TIMEOUT_SECONDS, make_engine
from app.local.moto_server import free_port
from app.local.provision import LocalResources
from infra.backend import BackendServiceArgs
from tests.app.backend.conftest import backend_settings


def test_liveness_holds_while_the_database_is_away_and_readiness_says_so(
    local_resources: LocalResources, aws: AwsClients, caplog: pytest.LogCaptureFixture
) -> None:
    """A database failover must not fail the load balancer's check (every instance would fail
    it at once and the group would replace them all); readiness reports and logs it."""
    away = f"postgresql+psycopg://reelstack@127.0.0.1:{free_port()}/reelstack"  # nothing listens
    settings = backend_settings(local_resources, away)
    engine = make_engine(away)
    http = create_app(settings, aws=aws, engine=engine).test_client()
    try:
        live = http.get("/api/health/live")
        with caplog.at_level(logging.ERROR):
            ready = http.get("/api/health/ready")
    finally:
        engine.dispose()

    assert (live.status_code, live.json) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json) == (503, {"status": "unavailable", "database": "unreachable"})
    assert any("not ready" in r.getMessage() for r in caplog.records)


def test_the_path_the_load_balancer_checks_is_the_liveness_route(
    local_resources: LocalResources, aws: AwsClients
) -> None:
    path = BackendServiceArgs.health_check_path
    app = create_app(backend_settings(local_resources, "sqlite://"), aws=aws)
    adapter = app.url_map.bind("backend.internal")
    assert adapter.match(path, method="GET")[0] == "health.live"


def test_readiness_gives_up_on_a_database_that_never_answers(
    local_resources: LocalResources, aws: AwsClients
) -> None:
    """In a failover the old address may accept nothing or say nothing; without a connect timeout
    each request would hold a worker thread for minutes and starve the liveness check too."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # the kernel completes the handshake; no PostgreSQL ever answers
    url = f"postgresql+psycopg://reelstack@127.0.0.1:{silent.getsockname()[1]}/reelstack"
    engine = make_engine(url)
    http = create_app(backend_settings(local_resources, url), aws=aws, engine=engine).test_client()
    try:
        started = time.monotonic()
        ready = http.get("/api/health/ready")
        waited = time.monotonic() - started
    finally:
        engine.dispose()
        silent.close()

    assert ready.status_code == 503
    assert waited < CONNECT_TIMEOUT_SECONDS + 5
