"""Reads this instance's queue: receive → parse → fan out → delete, in a loop.

An invalid message is logged and deleted (redelivering it would fail the same way); a
transient SQS error is logged and retried after a pause.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from pydantic import ValidationError

from app.contracts.messages import parse_progress
from app.progress.hub import Hub

log = logging.getLogger(__name__)

RETRY_PAUSE_SECONDS = 1.0
UNHEALTHY_AFTER_FAILURES = 3


class Poller:
    def __init__(self, sqs: Any, queue_url: str, hub: Hub, *, wait_seconds: int = 20) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._hub = hub
        self._wait_seconds = wait_seconds
        self.consecutive_failures = 0

    @property
    def healthy(self) -> bool:
        return self.consecutive_failures < UNHEALTHY_AFTER_FAILURES

    def poll_once(self) -> int:
        """One long poll; returns how many messages it consumed."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=self._wait_seconds
        ).get("Messages", [])
        for message in messages:
            try:
                event = parse_progress(message["Body"])
            except ValidationError as exc:
                log.warning("dropped an invalid progress message: %s", exc.errors(include_url=False)[:3])
                continue
            if self._hub.publish(event):
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
        return len(messages)

    def step(self) -> bool:
        """One poll; a failure (SQS unreachable, throttled, ...) is logged and counted, not raised."""
        try:
            self.poll_once()
        except Exception:
            self.consecutive_failures += 1
            log.exception("polling the progress queue failed")
            return False
        self.consecutive_failures = 0
        return True

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if not self.step():
                stop.wait(RETRY_PAUSE_SECONDS)
