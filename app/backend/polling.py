"""The loop of the backend's queue consumers (the status consumer, the webhook deliverer)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy.exc import SQLAlchemyError


def poll_until_stopped(
    poll_once: Callable[[], object],
    stop: threading.Event,
    retry_seconds: float,
    doing: str,
    log: logging.Logger,
) -> None:
    """``poll_once`` until ``stop`` is set. The queue or the database away for a while (throttling,
    a failover) is waited out, ``retry_seconds`` at a time: a message not handled is not deleted
    and comes back. ``doing`` says what failed in the log, e.g. "receive or record events"."""
    while not stop.is_set():
        try:
            poll_once()
        except (BotoCoreError, ClientError, SQLAlchemyError):
            log.exception("could not %s; trying again in %.0f s", doing, retry_seconds)
            stop.wait(retry_seconds)
