"""Reads this instance's queue: receive → parse → fan out → delete, in a loop.

An invalid message is logged and deleted (redelivering it would fail the same way); a
transient SQS error is logged and retried after a pause. Between polls it refreshes the
queue's heartbeat, which tells booting instances this queue's owner is alive.
Polling that keeps failing makes the instance not ready (reported and logged), never
not live: the queue is a dependency, and replacing the instance would not mend SQS.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from app import metrics
from app.contracts.messages import parse_progress
from app.contracts.metrics import OPEN_STREAMS
from app.progress import instance_queue
from app.progress.hub import Hub

log = logging.getLogger(__name__)

RETRY_PAUSE_SECONDS = 1.0
UNHEALTHY_AFTER_FAILURES = 3


class Poller:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        hub: Hub,
        *,
        wait_seconds: int = 20,
        heartbeat_seconds: float = instance_queue.HEARTBEAT_SECONDS,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._hub = hub
        self._wait_seconds = wait_seconds
        self._heartbeat_seconds = heartbeat_seconds
        self._next_heartbeat = 0.0  # a respawned worker beats at once
        self.consecutive_failures = 0

    @property
    def healthy(self) -> bool:
        return self.consecutive_failures < UNHEALTHY_AFTER_FAILURES

    def poll_once(self) -> int:
        """One long poll; returns how many messages it consumed.

        Each poll emits the open streams and, per event handed to them, the delivery latency: from
        the transcoder's ``emitted_at`` to the hand-off (``app.metrics``)."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=self._wait_seconds
        ).get("Messages", [])
        latencies: list[float] = []
        for message in messages:
            try:
                event = parse_progress(message["Body"])
            except ValidationError as exc:
                log.warning("dropped an invalid progress message: %s", exc.errors(include_url=False)[:3])
                continue
            if self._hub.publish(event):
                latencies.append((datetime.now(UTC) - event.emitted_at).total_seconds() * 1000)
                log.debug(
                    "event %s %s",
                    event.sequence,
                    event.state,
                    extra={"video_id": event.video_id, "task_id": event.task_id},
                )
        if messages:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
            )
        metrics.emit(
            "progress",
            {
                OPEN_STREAMS: (self._hub.stream_count, MetricUnit.Count),
                "DeliveryLatency": (latencies, MetricUnit.Milliseconds),
            },
        )
        return len(messages)

    def _beat_when_due(self) -> None:
        now = time.monotonic()
        if now >= self._next_heartbeat:
            instance_queue.beat(self._sqs, self._queue_url)
            self._next_heartbeat = now + self._heartbeat_seconds

    def step(self) -> bool:
        """A heartbeat when due and one poll; a failure (SQS unreachable, throttled, ...) is logged and counted, not raised."""
        try:
            self._beat_when_due()
            self.poll_once()
        except Exception:
            self.consecutive_failures += 1
            log.exception("polling the progress queue failed")
            if self.consecutive_failures == UNHEALTHY_AFTER_FAILURES:
                log.error(
                    "not ready: %d polls of the progress queue failed in a row", self.consecutive_failures
                )
            return False
        if not self.healthy:
            log.info("ready again: polling the progress queue works")
        self.consecutive_failures = 0
        return True

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if not self.step():
                stop.wait(RETRY_PAUSE_SECONDS)
