"""Signed webhooks: how the backend signs a delivery, and how a receiver verifies one.

Every delivery is an HTTP POST whose body is a ``VideoEventV1`` as JSON, with these headers:

- ``Reelstack-Signature: t=<unix seconds>,v1=<hex>``: HMAC-SHA256 with the webhook's secret over
  ``"<t>.<body>"`` (the timestamp, a full stop, the raw body bytes), as Stripe signs its events.
  A header may carry more than one ``v1=`` (one per secret, should two be in use); a receiver
  accepts the delivery when any of them matches.
- ``Reelstack-Event-Id``: the event's id, the same on every delivery of one event (retries,
  repeats): receivers drop a repeat by it.
- ``Reelstack-Event-Type``: ``video.ready``, ``video.failed`` or ``video.deleted``.

``verify`` is written to be copied into a receiver as it is: standard library only. It refuses a
signature older (or newer) than ``tolerance_seconds``, so a recorded delivery cannot be replayed
later, and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Reelstack-Signature"
EVENT_ID_HEADER = "Reelstack-Event-Id"
EVENT_TYPE_HEADER = "Reelstack-Event-Type"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The delivery's signature is missing, malformed, stale or does not match its body."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(secrets: list[str], timestamp: int, body: bytes) -> str:
    """The ``Reelstack-Signature`` value: the timestamp and one ``v1`` per secret."""
    return ",".join([f"t={timestamp}", *(f"{SCHEME}={signature(s, timestamp, body)}" for s in secrets)])


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a delivery's ``Reelstack-Signature`` ``header`` against its raw ``body``.

    Returns the signed timestamp; raises ``SignatureError`` when the header is malformed, the
    timestamp is further than ``tolerance_seconds`` from ``now`` (a replay), or no ``v1``
    signature matches. Verify the raw bytes received, before parsing the JSON.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError(f"no timestamp or no {SCHEME} signature in the header")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise SignatureError(
            f"the timestamp is more than {tolerance_seconds} s from now: refused as a replay"
        )
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("no signature matches the body")
    return timestamp
