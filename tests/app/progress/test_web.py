"""The HTTP edge of the progress app, through Flask's test client: refusals, headers, slots, health."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.contracts import tickets
from app.contracts.settings import ProgressSettings
from app.contracts.signout_records import record_sign_out
from app.contracts.signouts import SignOuts
from app.progress.hub import Hub
from app.progress.poller import UNHEALTHY_AFTER_FAILURES, Poller
from app.progress.web import create_app
from tests.support.signouts import TABLE, FakeTable

KEY = b"k" * 48
QUEUED = {"state": "queued", "percent": 0, "sequence": -1}


@pytest.fixture
def hub() -> Hub:
    return Hub(buffer_size=8, max_videos=8, max_streams=1)


@pytest.fixture
def poller(hub: Hub) -> Poller:
    return Poller(sqs=None, queue_url="unused", hub=hub)


@pytest.fixture
def signout_table() -> FakeTable:
    return FakeTable()


@pytest.fixture
def web(hub: Hub, poller: Poller, signout_table: FakeTable) -> FlaskClient:
    settings = ProgressSettings(
        user_pool_client_id="client",
        jwt_issuer="https://issuer",
        jwks_url="https://issuer/jwks",
        ticket_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:key",
        progress_topic_arn="arn:aws:sns:us-east-1:123456789012:progress",
        progress_queue_prefix="t-progress-",
        signout_table=TABLE,
        heartbeat_seconds=0.01,
    )
    app = create_app(
        settings,
        hub=hub,
        ticket_key=KEY,
        signouts=SignOuts(signout_table, TABLE),
        instance_id="i-1",
        queue_name="t-progress-i-1-b00t",
        poller=poller,
    )
    return app.test_client()


def _ticket(video: uuid.UUID, snapshot: dict[str, Any] | None = None, key: bytes = KEY, ttl: int = 60) -> str:
    return tickets.issue_events_ticket(
        key, user_id="u", video_id=video, snapshot=QUEUED if snapshot is None else snapshot, ttl_seconds=ttl
    )


def _error(web: FlaskClient, path: str, **kwargs: Any) -> tuple[int, str]:
    response = web.get(path, **kwargs)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return response.status_code, body["error"]["code"]


def test_requests_without_a_valid_ticket_are_refused_with_the_error_shape(web: FlaskClient) -> None:
    video = uuid.uuid4()
    path = f"/events/videos/{video}"
    assert _error(web, path) == (401, "ticket_required")
    assert _error(web, path, query_string={"ticket": "not-a-jwt"}) == (401, "invalid_ticket")
    assert _error(web, path, query_string={"ticket": _ticket(video, key=b"x" * 48)}) == (
        401,
        "invalid_ticket",
    )
    assert _error(web, path, query_string={"ticket": _ticket(video, ttl=-5)}) == (401, "invalid_ticket")
    other = _ticket(uuid.uuid4())
    assert _error(web, path, query_string={"ticket": other}) == (403, "ticket_for_another_video")
    media = tickets.issue_media_grant(KEY, video_id=video, ttl_seconds=60)
    assert _error(web, path, query_string={"ticket": media}) == (401, "invalid_ticket")


def test_a_ticket_of_a_session_signed_out_since_is_refused(
    web: FlaskClient, signout_table: FakeTable
) -> None:
    """The ticket outlives a logout by up to its lifetime; progress checks the sign-out itself."""
    video = uuid.uuid4()
    path = f"/events/videos/{video}"
    now = int(time.time())
    record_sign_out(signout_table, TABLE, sub="u", signed_out_at=now, expires_at=now + 3600)
    before = tickets.issue_events_ticket(
        KEY, user_id="u", video_id=video, snapshot=QUEUED, ttl_seconds=60, token_issued_at=now - 10
    )
    assert _error(web, path, query_string={"ticket": before}) == (401, "signed_out")
    after = tickets.issue_events_ticket(
        KEY, user_id="u", video_id=video, snapshot=QUEUED, ttl_seconds=60, token_issued_at=now + 1
    )
    with web.get(path, query_string={"ticket": after}) as response:
        assert response.status_code == 200


def test_malformed_requests_get_a_4xx_never_500(web: FlaskClient) -> None:
    video = uuid.uuid4()
    # As the backend answers /api/videos/not-a-uuid.
    assert _error(web, "/events/videos/not-a-uuid", query_string={"ticket": _ticket(video)}) == (
        404,
        "not_found",
    )
    query = {"ticket": _ticket(video)}
    headers = {"Last-Event-ID": "seven"}
    assert _error(web, f"/events/videos/{video}", query_string=query, headers=headers) == (
        400,
        "invalid_last_event_id",
    )
    bad_snapshot = {"ticket": _ticket(video, {"state": "melting", "percent": 500})}
    assert _error(web, f"/events/videos/{video}", query_string=bad_snapshot) == (400, "invalid_ticket")


@pytest.mark.parametrize("last_event_id", ["\u00b2", "9" * 5000, "-1", "1.5"])
def test_a_last_event_id_that_is_not_a_plain_sequence_number_is_a_400(
    web: FlaskClient, last_event_id: str
) -> None:
    # "\u00b2" (superscript two) is a digit to str.isdigit() but not to int().
    video = uuid.uuid4()
    headers = {"Last-Event-ID": last_event_id}
    query = {"ticket": _ticket(video)}
    assert _error(web, f"/events/videos/{video}", query_string=query, headers=headers) == (
        400,
        "invalid_last_event_id",
    )


def test_unknown_paths_and_methods_answer_with_the_error_shape(web: FlaskClient) -> None:
    assert _error(web, "/events/nothing")[0] == 404
    assert web.post(f"/events/videos/{uuid.uuid4()}").status_code == 405


def test_a_stream_is_unbuffered_event_stream_and_ends_at_a_terminal_state(web: FlaskClient, hub: Hub) -> None:
    video = uuid.uuid4()
    failed = {"state": "failed", "percent": 100, "sequence": 4, "error_reason": "corrupt input"}
    response = web.get(f"/events/videos/{video}", query_string={"ticket": _ticket(video, failed)})
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache, no-transform"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert response.get_data(as_text=True) == (
        'id: 4\ndata: {"state":"failed","percent":100.0,"sequence":4,"error_reason":"corrupt input"}\n\n'
    )
    response.close()  # as the WSGI server does once the body is sent
    assert hub.stream_count == 0


def test_a_ticket_in_the_backends_shape_streams_its_state_and_outputs(web: FlaskClient) -> None:
    video = uuid.uuid4()
    outputs = {
        "master_playlist_key": f"videos/{video}/t/master.m3u8",
        "thumbnail_key": f"videos/{video}/t/poster.jpg",
        "duration_seconds": 10.0,
        "renditions": [{"height": 720, "width": 1280}],
    }
    ready = {"state": "ready", "percent": 100.0, "sequence": 12, "outputs": outputs}
    response = web.get(f"/events/videos/{video}", query_string={"ticket": _ticket(video, ready)})
    id_line, data_line, *_ = response.get_data(as_text=True).split("\n")
    response.close()
    assert id_line == "id: 12"
    assert json.loads(data_line.removeprefix("data: ")) == ready


def test_the_state_before_any_event_is_sent_without_an_id(web: FlaskClient) -> None:
    video = uuid.uuid4()
    response = web.get(f"/events/videos/{video}", query_string={"ticket": _ticket(video)}, buffered=False)
    first = next(iter(response.response))
    response.close()
    assert first == b'data: {"state":"queued","percent":0.0,"sequence":-1}\n\n'


def test_a_client_gone_before_reading_frees_its_slot_and_the_next_one_is_served(
    web: FlaskClient, hub: Hub
) -> None:
    video = uuid.uuid4()
    first = web.get(f"/events/videos/{video}", query_string={"ticket": _ticket(video)}, buffered=False)
    assert first.status_code == 200 and hub.stream_count == 1
    refused = web.get(f"/events/videos/{video}", query_string={"ticket": _ticket(video)})
    assert refused.status_code == 503 and refused.get_json()["error"]["code"] == "too_many_streams"
    assert refused.headers["Retry-After"]
    first.close()
    assert hub.stream_count == 0
    second = web.get(f"/events/videos/{video}", query_string={"ticket": _ticket(video)}, buffered=False)
    assert second.status_code == 200
    second.close()


def test_readiness_reports_the_instance_and_its_queue_and_turns_503_when_polling_keeps_failing(
    web: FlaskClient, poller: Poller
) -> None:
    ok = web.get("/events/health/ready")
    assert ok.status_code == 200
    assert ok.get_json() == {
        "status": "ok",
        "instance_id": "i-1",
        "queue": "t-progress-i-1-b00t",
        "polling_failures": 0,
        "streams": 0,
        "videos": 0,
    }
    poller.consecutive_failures = UNHEALTHY_AFTER_FAILURES
    degraded = web.get("/events/health/ready")
    assert degraded.status_code == 503
    assert degraded.get_json()["status"] == "degraded"
    assert degraded.get_json()["polling_failures"] == UNHEALTHY_AFTER_FAILURES


def test_liveness_stays_200_while_the_queue_cannot_be_polled(web: FlaskClient, poller: Poller) -> None:
    """The load balancer and the group act on liveness: a dependency that fails everywhere at
    once (SQS unreachable, the queue gone) must not mark every instance unhealthy and have the
    group replace the whole fleet, which would not mend the dependency."""
    poller.consecutive_failures = UNHEALTHY_AFTER_FAILURES * 10
    live = web.get("/events/health/live")
    assert live.status_code == 200
    assert live.get_json() == {"status": "ok", "instance_id": "i-1"}


def test_a_stopping_instance_refuses_new_streams_and_fails_its_health_check(
    web: FlaskClient, hub: Hub
) -> None:
    hub.close()
    video = uuid.uuid4()
    assert _error(web, f"/events/videos/{video}", query_string={"ticket": _ticket(video)}) == (
        503,
        "shutting_down",
    )
    for path in ("/events/health/live", "/events/health/ready"):
        health = web.get(path)
        assert health.status_code == 503 and health.get_json()["status"] == "stopping", path


def test_options_and_405_answer_without_html(web: FlaskClient) -> None:
    options = web.options("/events/health/live")
    assert options.status_code == 204 and "text/html" not in options.headers.get("Content-Type", "")
    refused = web.delete("/events/health/live")
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (405, "method_not_allowed")
    assert "GET" in refused.headers["Allow"]
