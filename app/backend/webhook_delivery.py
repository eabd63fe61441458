"""Delivering video events to their owners' webhooks, signed (``contracts.webhook_signatures``).

The webhook queue is subscribed (raw delivery) to the video events topic, and the status
consumer's process drains it in a thread of its own (``reelstack status-consumer``):

receive one event → its delivery rows, one per matching webhook of the event's owner (made on
the first receive; ``webhook_deliveries`` is unique per webhook and event) → attempt each one due
→ record the outcome → delete the message once none is pending, or else hide it until the next
attempt is due (``ChangeMessageVisibility``): SQS holds the event between attempts, so a process
that dies mid-delivery loses nothing, and the event comes back when its visibility ends.
A delivered or failed row is never attempted again; a repeat is possible only for an attempt cut
short by a crash, and receivers drop it by its event id.

Attempts: a 2xx answer delivers; no answer (network error, timeout), 408, 429 and 5xx are tried
again after ``RetryPolicy.delay_after`` (exponential), up to ``WEBHOOK_DELIVERY_ATTEMPTS``; any
other answer (3xx, as redirects are not followed, and 4xx) and a URL that fails its SSRF check
now fail the delivery at once.
"""

from __future__ import annotations

import http.client
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.backend import webhook_targets
from app.backend.models import DELIVERY_ERROR_MAX, DeliveryStatus, Webhook, WebhookDelivery
from app.backend.polling import poll_until_stopped
from app.backend.webhook_targets import Answer, Resolver, Target, TargetRefused, Unresolvable
from app.contracts.messages import VideoEventV1
from app.contracts.names import WEBHOOK_DELIVERY_ATTEMPTS
from app.contracts.webhook_signatures import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)

log = logging.getLogger(__name__)

# SQS hides a received message for at most 12 hours (ChangeMessageVisibility).
MAX_VISIBILITY_SECONDS = 12 * 3600
USER_AGENT = "reelstack-webhooks/1"
Sender = Callable[[Target, bytes, dict[str, str]], Answer]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = WEBHOOK_DELIVERY_ATTEMPTS
    """Attempts per delivery, the first included."""
    base_seconds: float = 30.0
    """Wait after the first attempt; each later wait doubles."""

    def delay_after(self, attempt: int) -> float | None:
        """Seconds from attempt ``attempt`` (1-based) to the next; None when it was the last."""
        if attempt >= self.attempts:
            return None
        return min(self.base_seconds * 2 ** (attempt - 1), MAX_VISIBILITY_SECONDS)


def retryable(status: int | None) -> bool:
    """Whether an attempt answered ``status`` (None: no answer at all) is worth another."""
    return status is None or status in (408, 429) or status >= 500


@dataclass(frozen=True)
class Outcome:
    status: int | None
    """The answer's HTTP status; None when none came."""
    error: str
    """Why it did not deliver; empty when it did."""
    final: bool = False
    """Not to be tried again, whatever the status (the URL is refused now)."""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _next_attempt(delivery: WebhookDelivery) -> datetime | None:
    """When a pending delivery is due; None once delivered or failed."""
    moment = delivery.next_attempt_at if delivery.status == DeliveryStatus.PENDING else None
    # SQLite hands DateTime(timezone=True) columns back without their zone; they are UTC.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


class WebhookDeliverer:
    """Long-polls the webhook queue and delivers each event; ``run`` until ``stop`` is set."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        sessions: sessionmaker[Session],
        *,
        policy: RetryPolicy,
        allow_insecure: bool = False,
        wait_seconds: int = 10,
        retry_seconds: float = 5.0,
        send: Sender = webhook_targets.post,
        resolver: Resolver = webhook_targets.resolve,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.sessions = sessions
        self.policy = policy
        self.allow_insecure = allow_insecure
        self.wait_seconds = wait_seconds
        self.retry_seconds = retry_seconds
        self.send = send
        self.resolver = resolver
        self.clock = clock

    def poll_once(self) -> int:
        """One receive (one event: its deliveries take seconds each); returns how many it handled."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=self.wait_seconds
        ).get("Messages", [])
        for message in messages:
            self.handle(message)
        return len(messages)

    def handle(self, message: dict[str, Any]) -> None:
        body = message["Body"].encode("utf-8")
        try:
            event = VideoEventV1.model_validate_json(body)
        except ValidationError as exc:
            log.error(
                "unparseable video event left for the DLQ: %s",
                exc.errors(include_url=False, include_input=False)[:3],
            )
            return
        # One time for the whole receive: deliveries attempted together are due again together.
        now = self.clock()
        with self.sessions() as session:
            deliveries = self._deliveries(session, event, now)
            for delivery, webhook in deliveries:
                due = _next_attempt(delivery)
                if due is not None and due <= _at(now):
                    self._attempt(session, delivery, webhook, event, body, now)
            waiting = [t for t in (_next_attempt(d) for d, _ in deliveries) if t is not None]
        receipt = message["ReceiptHandle"]
        if waiting:
            wait = math.ceil((min(waiting) - _at(now)).total_seconds())
            hidden = min(MAX_VISIBILITY_SECONDS, max(1, wait))
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=receipt, VisibilityTimeout=hidden
            )
        else:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)

    def _deliveries(
        self, session: Session, event: VideoEventV1, now: float
    ) -> list[tuple[WebhookDelivery, Webhook]]:
        """The event's delivery to each of its owner's webhooks that wants its type; made now
        for a webhook that has none yet."""
        webhooks = session.scalars(select(Webhook).where(Webhook.owner_id == event.owner_id)).all()
        wanted = {w.id: w for w in webhooks if w.wants(event.type.value)}
        if not wanted:
            return []
        existing = {
            d.webhook_id: d
            for d in session.scalars(
                select(WebhookDelivery).where(
                    WebhookDelivery.event_id == event.event_id, WebhookDelivery.webhook_id.in_(list(wanted))
                )
            )
        }
        for webhook_id in wanted.keys() - existing.keys():
            existing[webhook_id] = WebhookDelivery(
                webhook_id=webhook_id,
                event_id=event.event_id,
                event_type=event.type.value,
                status=DeliveryStatus.PENDING,
                attempts=0,
                last_error="",
                next_attempt_at=_at(now),
            )
            session.add(existing[webhook_id])
        session.commit()
        return [(existing[w], wanted[w]) for w in sorted(wanted, key=str)]

    def _attempt(
        self,
        session: Session,
        delivery: WebhookDelivery,
        webhook: Webhook,
        event: VideoEventV1,
        body: bytes,
        now: float,
    ) -> None:
        outcome = self.attempt(webhook, event.event_id, event.type.value, body)
        delivery.attempts += 1
        delivery.last_status_code = outcome.status
        delivery.last_error = outcome.error[:DELIVERY_ERROR_MAX]
        delay = None if outcome.final else self.policy.delay_after(delivery.attempts)
        if outcome.delivered:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.DELIVERED, None
        elif retryable(outcome.status) and delay is not None:
            delivery.next_attempt_at = _at(now) + timedelta(seconds=delay)
        else:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        session.commit()
        log.info(
            "webhook delivery attempt %d: %s",
            delivery.attempts,
            delivery.status.value if delivery.status != DeliveryStatus.PENDING else f"retry in {delay:.0f} s",
            extra={
                "webhook_id": str(webhook.id),
                "event_id": str(event.event_id),
                "status_code": outcome.status,
                "error": outcome.error,
            },
        )

    def attempt(self, webhook: Webhook, event_id: uuid.UUID, event_type: str, body: bytes) -> Outcome:
        """One POST of ``body`` to ``webhook``, its URL checked again now (DNS may have changed)."""
        try:
            target = webhook_targets.check(
                webhook.url, allow_insecure=self.allow_insecure, resolver=self.resolver
            )
        except Unresolvable as exc:
            return Outcome(None, str(exc))
        except TargetRefused as exc:
            return Outcome(None, str(exc), final=True)
        now = self.clock()  # one instant: the secrets valid then sign with its timestamp
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_ID_HEADER: str(event_id),
            EVENT_TYPE_HEADER: event_type,
            SIGNATURE_HEADER: signature_header(webhook.signing_secrets(_at(now)), int(now), body),
        }
        try:
            answer = self.send(target, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            return Outcome(None, f"no answer: {exc.__class__.__name__}: {exc}")
        if 200 <= answer.status < 300:
            return Outcome(answer.status, "")
        return Outcome(answer.status, f"answered {answer.status}: {answer.excerpt}")

    def run(self, stop: threading.Event) -> None:
        # An event whose deliveries were not recorded is not deleted and comes back.
        poll_until_stopped(self.poll_once, stop, self.retry_seconds, "receive or deliver events", log)


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
