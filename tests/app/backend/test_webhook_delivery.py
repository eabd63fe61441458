"""Delivering video events to webhooks: signed, retried with exponential backoff on no answer,
408, 429 and 5xx (the event hidden on its queue until the next attempt), failed at once on any
other answer, never sent twice once delivered, refused at delivery when the URL turned private."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.backend import video_events
from app.backend.db import session_factory
from app.backend.models import DeliveryStatus, User, Webhook, WebhookDelivery
from app.backend.webhook_delivery import RetryPolicy, WebhookDeliverer, retryable
from app.backend.webhook_targets import Answer, Target
from app.contracts.messages import VideoEventType, VideoEventV1
from app.contracts.names import WEBHOOK_DELIVERY_ATTEMPTS
from app.contracts.settings import BackendSettings
from app.contracts.webhook_signatures import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    SignatureError,
    verify,
)
from app.local.provision import LocalResources, client
from tests.app.backend.conftest import drain

NOW = 1_800_000_000.0
OWNER = "webhook-owner"


def test_the_retry_policy_doubles_the_wait_and_stops_after_its_attempts() -> None:
    policy = RetryPolicy(base_seconds=30)
    assert [policy.delay_after(n) for n in range(1, WEBHOOK_DELIVERY_ATTEMPTS + 1)] == [
        30,
        60,
        120,
        240,
        480,
        None,
    ]
    assert RetryPolicy(attempts=40, base_seconds=30).delay_after(30) == 12 * 3600


@pytest.mark.parametrize(
    ("status", "again"),
    [
        (None, True),
        (408, True),
        (429, True),
        (500, True),
        (503, True),
        (400, False),
        (401, False),
        (404, False),
        (410, False),
        (302, False),
    ],
)
def test_only_no_answer_408_429_and_5xx_are_tried_again(status: int | None, again: bool) -> None:
    assert retryable(status) is again


@dataclass
class RecordedQueue:
    """The webhook queue's calls a deliverer makes on a received message."""

    hidden: list[int] = field(default_factory=list)
    deleted: int = 0

    def change_message_visibility(self, *, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int) -> None:
        self.hidden.append(VisibilityTimeout)

    def delete_message(self, *, QueueUrl: str, ReceiptHandle: str) -> None:
        self.deleted += 1


@dataclass
class ScriptedReceiver:
    """Answers each post with the next of ``answers`` (an exception is raised), keeping what it got."""

    answers: list[int | Exception]
    posts: list[tuple[Target, bytes, dict[str, str]]] = field(default_factory=list)

    def __call__(self, target: Target, body: bytes, headers: dict[str, str]) -> Answer:
        self.posts.append((target, body, headers))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return Answer(answer, "")


@dataclass
class Clock:
    now: float = NOW

    def __call__(self) -> float:
        return self.now


def _webhook(engine: Engine, url: str = "https://hooks.example.com/reelstack", **fields: Any) -> Webhook:
    with Session(engine, expire_on_commit=False) as session:
        if session.get(User, OWNER) is None:
            session.add(User(id=OWNER, email="o@example.com"))
        webhook = Webhook(owner_id=OWNER, url=url, secret=f"whsec_{uuid.uuid4().hex}", **fields)
        session.add(webhook)
        session.commit()
        return webhook


def _event(type_: VideoEventType = VideoEventType.READY, owner: str = OWNER) -> VideoEventV1:
    return VideoEventV1.of(type_, uuid.uuid4(), owner, "task/9")


def _message(event: VideoEventV1) -> dict[str, Any]:
    return {"Body": event.model_dump_json(), "ReceiptHandle": "r"}


def _deliverer(engine: Engine, queue: Any, send: Any, clock: Clock, **kwargs: Any) -> WebhookDeliverer:
    return WebhookDeliverer(
        queue,
        "queue-url",
        session_factory(engine),
        policy=kwargs.pop("policy", RetryPolicy(base_seconds=30)),
        send=send,
        resolver=kwargs.pop("resolver", lambda _h, _p: ["93.184.216.34"]),
        clock=clock,
        **kwargs,
    )


def _deliveries(engine: Engine) -> list[WebhookDelivery]:
    with Session(engine) as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at)))


def test_a_failing_receiver_gets_the_event_again_after_each_backoff_and_then_it_is_delivered(
    engine: Engine,
) -> None:
    webhook = _webhook(engine)
    queue, clock = RecordedQueue(), Clock()
    receiver = ScriptedReceiver([503, TimeoutError("timed out"), 200])
    deliverer = _deliverer(engine, queue, receiver, clock)
    message = _message(_event())

    deliverer.handle(message)
    assert (queue.hidden, queue.deleted) == ([30], 0)
    [delivery] = _deliveries(engine)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.PENDING, 1, 503)
    assert "answered 503" in delivery.last_error

    clock.now += 10  # the message came back early (a restart): nothing is due yet
    deliverer.handle(message)
    assert (queue.hidden, len(receiver.posts)) == ([30, 20], 1)

    clock.now = NOW + 30
    deliverer.handle(message)
    assert (queue.hidden, queue.deleted) == ([30, 20, 60], 0)
    [delivery] = _deliveries(engine)
    assert (delivery.attempts, delivery.last_status_code) == (2, None)
    assert "no answer" in delivery.last_error

    clock.now = NOW + 90
    deliverer.handle(message)
    assert queue.deleted == 1
    [delivery] = _deliveries(engine)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        DeliveryStatus.DELIVERED,
        3,
        None,
    )
    assert delivery.webhook_id == webhook.id
    # Each attempt is signed anew, at its own time, over the same body.
    times = [
        verify(webhook.secret, h[SIGNATURE_HEADER], body, now=clock.now, tolerance_seconds=3600)
        for _, body, h in receiver.posts
    ]
    assert times == [int(NOW), int(NOW + 30), int(NOW + 90)]


def test_after_its_last_attempt_a_delivery_is_failed_and_the_event_leaves_the_queue(engine: Engine) -> None:
    _webhook(engine)
    queue, clock = RecordedQueue(), Clock()
    deliverer = _deliverer(engine, queue, ScriptedReceiver([500, 429]), clock, policy=RetryPolicy(2, 5))
    message = _message(_event())
    deliverer.handle(message)
    clock.now += 5
    deliverer.handle(message)
    [delivery] = _deliveries(engine)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.FAILED, 2, 429)
    assert (queue.hidden, queue.deleted) == ([5], 1)


@pytest.mark.parametrize("status", [400, 404, 410, 301])
def test_any_other_answer_fails_the_delivery_at_once(engine: Engine, status: int) -> None:
    _webhook(engine)
    queue = RecordedQueue()
    _deliverer(engine, queue, ScriptedReceiver([status]), Clock()).handle(_message(_event()))
    [delivery] = _deliveries(engine)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert (queue.hidden, queue.deleted) == ([], 1)


def test_a_redelivered_event_is_not_sent_again_where_it_was_delivered(engine: Engine) -> None:
    """A crash after one webhook's delivery and before the other's: the event comes back (it was
    not deleted), and only the webhook still pending gets it."""
    first, second = _webhook(engine), _webhook(engine, url="https://other.example.com/")
    queue, clock = RecordedQueue(), Clock()
    receiver = ScriptedReceiver([200, 500, 200])
    deliverer = _deliverer(engine, queue, receiver, clock)
    message = _message(_event())
    deliverer.handle(message)
    clock.now += 30
    deliverer.handle(message)
    urls = [t.host for t, _, _ in receiver.posts]
    ordered = sorted([first, second], key=lambda w: str(w.id))
    assert len(urls) == 3 and urls[2] == urls[1] != urls[0]
    assert {d.status for d in _deliveries(engine)} == {DeliveryStatus.DELIVERED}
    assert {w.url.split("/")[2] for w in ordered} == set(urls)
    assert queue.deleted == 1


def test_only_the_owners_webhooks_that_want_the_type_get_the_event(engine: Engine) -> None:
    _webhook(engine, event_types=["video.failed"])
    wants_ready = _webhook(engine, url="https://ready.example.com/", event_types=["video.ready"])
    queue = RecordedQueue()
    receiver = ScriptedReceiver([200])
    deliverer = _deliverer(engine, queue, receiver, Clock())
    deliverer.handle(_message(_event(owner="someone-else")))
    assert receiver.posts == [] and queue.deleted == 1
    deliverer.handle(_message(_event(VideoEventType.READY)))
    [(target, _, headers)] = receiver.posts
    assert target.host == "ready.example.com"
    assert headers[EVENT_TYPE_HEADER] == "video.ready"
    assert [d.webhook_id for d in _deliveries(engine)] == [wants_ready.id]


def test_a_url_that_now_resolves_to_a_private_address_fails_without_a_request(engine: Engine) -> None:
    """DNS rebinding: checked public at registration, the name answers 10.0.0.7 at delivery."""
    _webhook(engine)
    queue, receiver = RecordedQueue(), ScriptedReceiver([200])
    deliverer = _deliverer(engine, queue, receiver, Clock(), resolver=lambda _h, _p: ["10.0.0.7"])
    deliverer.handle(_message(_event()))
    [delivery] = _deliveries(engine)
    assert receiver.posts == []
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert "private" in delivery.last_error
    assert queue.deleted == 1


def test_an_unparseable_message_is_left_for_the_dlq(engine: Engine) -> None:
    queue = RecordedQueue()
    _deliverer(engine, queue, ScriptedReceiver([]), Clock()).handle({"Body": "{}", "ReceiptHandle": "r"})
    assert (queue.hidden, queue.deleted) == ([], 0)


class _Receiver(BaseHTTPRequestHandler):
    got: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        self.got.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def receiver_port() -> Iterator[int]:
    _Receiver.got = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_published_video_event_reaches_the_webhook_signed_through_the_webhook_queue(
    engine: Engine, settings: BackendSettings, local_resources: LocalResources, receiver_port: int
) -> None:
    """The topic → webhook queue (raw) → deliverer → receiver path, on the emulator."""
    webhook = _webhook(engine, url=f"http://127.0.0.1:{receiver_port}/hooks")
    drain(local_resources, settings.webhook_queue_url)
    sqs = client("sqs", local_resources.endpoint_url)
    event = _event(VideoEventType.DELETED)
    video_events.publish(client("sns", local_resources.endpoint_url), settings.video_events_topic_arn, event)
    deliverer = WebhookDeliverer(
        sqs,
        settings.webhook_queue_url,
        session_factory(engine),
        policy=RetryPolicy(),
        allow_insecure=True,
        wait_seconds=1,
    )
    for _ in range(5):
        if deliverer.poll_once() and _Receiver.got:
            break
    [(headers, body)] = _Receiver.got
    assert verify(webhook.secret, headers[SIGNATURE_HEADER], body) > 0
    assert headers[EVENT_ID_HEADER] == str(event.event_id)
    assert VideoEventV1.model_validate_json(body) == event
    [delivery] = _deliveries(engine)
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 204)
    assert (
        sqs.receive_message(QueueUrl=settings.webhook_queue_url, WaitTimeSeconds=0).get("Messages", []) == []
    )


def test_after_a_rotation_both_secrets_sign_until_the_old_ones_grace_ends(engine: Engine) -> None:
    """The receiver may still hold the replaced secret: it verifies until the grace ends."""
    webhook = _webhook(
        engine,
        previous_secret="whsec_replaced",
        previous_secret_expires_at=datetime.fromtimestamp(NOW + 100, UTC),
    )
    clock, receiver = Clock(), ScriptedReceiver([200, 200])
    deliverer = _deliverer(engine, RecordedQueue(), receiver, clock)
    deliverer.handle(_message(_event()))
    clock.now = NOW + 100
    deliverer.handle(_message(_event()))
    (_, during, during_headers), (_, after, after_headers) = receiver.posts
    assert during_headers[SIGNATURE_HEADER].count("v1=") == 2
    for secret in (webhook.secret, "whsec_replaced"):
        verify(secret, during_headers[SIGNATURE_HEADER], during, now=NOW)
    assert after_headers[SIGNATURE_HEADER].count("v1=") == 1
    verify(webhook.secret, after_headers[SIGNATURE_HEADER], after, now=NOW + 100)
    with pytest.raises(SignatureError):
        verify("whsec_replaced", after_headers[SIGNATURE_HEADER], after, now=NOW + 100)
