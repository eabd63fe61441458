"""Short-lived signed grants that browsers carry where they cannot send an Authorization header.

- An *events ticket* lets one user open the SSE stream of one video
  (``GET /events/videos/{id}?ticket=...``); EventSource cannot send headers. It also
  carries the video's state when it was issued, so a late client sees the truth at once.
- A *media grant* lets its holder fetch the objects of one video's outputs; it sits in the
  path (``/media/g/<grant>/videos/<id>/...``) so the relative URLs inside HLS playlists carry
  it to every segment.

Both are HS256 JWTs keyed by one secret in Secrets Manager (``REELSTACK_TICKET_SECRET_ARN``)
that the backend issues with and the progress service and media edge verify with.

A media grant can be cut before it expires: when a video stops being visible to others
(made private, deleted) the backend records a *revocation epoch* for it, and the media edge
refuses every grant of that video issued at or before the epoch (``grant_predates``). Those
still allowed get a new grant, issued later. Grants carry ``iat`` to the millisecond (a
non-integer NumericDate, RFC 7519 section 2), so a grant handed to the owner just after the
change is not caught by one issued to a stranger in the same second before it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

_EVENTS_AUDIENCE = "reelstack-events"
_MEDIA_AUDIENCE = "reelstack-media"
_REVOCATION_AUDIENCE = "reelstack-local-revocation"
_ALGORITHM = "HS256"

# A media grant lives as long as one viewing needs (app/backend/api/render.py), never longer:
# a revocation epoch older than this no longer predates any unexpired grant.
MEDIA_GRANT_MIN_SECONDS = 15 * 60
MEDIA_GRANT_MAX_SECONDS = 6 * 3600
# Where the media edge finds a video's revocation epoch (milliseconds since the epoch, decimal).
REVOKED_BEFORE_PREFIX = "revoked-before:"


class TicketError(Exception):
    """The ticket or grant is missing, malformed, forged, expired or for another video."""


class TicketForAnotherVideo(TicketError):
    """A valid ticket or grant, but bound to another video: the holder is known, the access is not allowed."""


class GrantRevoked(TicketError):
    """A valid media grant issued before its video stopped being visible to its holder."""


@dataclass(frozen=True)
class EventsTicket:
    user_id: str
    video_id: uuid.UUID
    snapshot: dict[str, Any]
    expires_at: int
    token_issued_at: int | None
    """``iat`` of the access token the ticket was issued for (None: anonymous); progress refuses the
    ticket once its user has signed out since then (app/contracts/signouts.py)."""


def load_key(secretsmanager: Any, secret_arn: str) -> bytes:
    """The signing key, read once at start-up from Secrets Manager."""
    value = secretsmanager.get_secret_value(SecretId=secret_arn)["SecretString"]
    if len(value) < 32:
        raise ValueError(f"the secret {secret_arn} holds a key shorter than 32 characters")
    return str(value).encode()


def _sign(key: bytes, claims: dict[str, Any], ttl_seconds: int, expires_at: int | None = None) -> str:
    now_ms = time.time_ns() // 1_000_000
    iat = now_ms / 1000  # to the millisecond: see grant_predates
    exp = now_ms // 1000 + ttl_seconds if expires_at is None else expires_at
    return jwt.encode({**claims, "iat": iat, "exp": exp}, key, algorithm=_ALGORITHM)


def _verify(key: bytes, token: str, audience: str, video_id: uuid.UUID) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            audience=audience,
            options={"require": ["exp", "iat", "aud", "vid"]},
        )
    except jwt.ExpiredSignatureError:
        raise TicketError("the ticket has expired") from None
    except jwt.PyJWTError:
        raise TicketError("the ticket is not valid") from None
    if claims["vid"] != str(video_id):
        raise TicketForAnotherVideo("the ticket is for another video")
    return claims


def issue_events_ticket(
    key: bytes,
    *,
    user_id: str,
    video_id: uuid.UUID,
    snapshot: dict[str, Any],
    ttl_seconds: int,
    token_issued_at: int | None = None,
) -> str:
    """``snapshot``: the video's state when issued, at least ``state``, ``percent`` and ``sequence``;
    ``token_issued_at``: the ``iat`` of the caller's access token (None: anonymous)."""
    claims: dict[str, Any] = {"aud": _EVENTS_AUDIENCE, "sub": user_id, "vid": str(video_id), "snap": snapshot}
    if token_issued_at is not None:
        claims["tiat"] = token_issued_at
    return _sign(key, claims, ttl_seconds)


def verify_events_ticket(key: bytes, ticket: str, video_id: uuid.UUID) -> EventsTicket:
    claims = _verify(key, ticket, _EVENTS_AUDIENCE, video_id)
    return EventsTicket(
        user_id=str(claims.get("sub", "")),
        video_id=video_id,
        snapshot=dict(claims.get("snap") or {}),
        expires_at=int(claims["exp"]),
        token_issued_at=int(claims["tiat"]) if "tiat" in claims else None,
    )


def issue_media_grant(
    key: bytes, *, video_id: uuid.UUID, ttl_seconds: int, expires_at: int | None = None
) -> str:
    """``expires_at``: the grant's ``exp`` (seconds since the epoch) when the issuer rounds it to a
    window (app/backend/media_grants.py); default ``ttl_seconds`` from now."""
    return _sign(key, {"aud": _MEDIA_AUDIENCE, "vid": str(video_id)}, ttl_seconds, expires_at)


def revocation_key(video_id: uuid.UUID) -> str:
    """The media edge's key of ``video_id``'s revocation epoch."""
    return f"{REVOKED_BEFORE_PREFIX}{video_id}"


def grant_predates(issued_at: float, revoked_before_ms: int | None) -> bool:
    """Whether a grant issued at ``issued_at`` (its ``iat``) is cut by the epoch ``revoked_before_ms``.

    A tie is cut: a grant issued in the very millisecond of the change may predate it.
    The CloudFront function (infra/distribution.py) applies the same rule.
    """
    return revoked_before_ms is not None and round(issued_at * 1000) <= revoked_before_ms


def verify_media_grant(
    key: bytes, grant: str, video_id: uuid.UUID, *, revoked_before_ms: int | None = None
) -> None:
    """``revoked_before_ms``: the video's revocation epoch, None when it has none."""
    claims = _verify(key, grant, _MEDIA_AUDIENCE, video_id)
    if grant_predates(float(claims["iat"]), revoked_before_ms):
        raise GrantRevoked("the grant was issued before the video stopped being shared; ask for a new one")


def issue_revocation_notice(key: bytes, *, video_id: uuid.UUID, revoked_before_ms: int) -> str:
    """The local platform's write to the media edge's store (app/local/gateway.py), signed like a grant."""
    return _sign(key, {"aud": _REVOCATION_AUDIENCE, "vid": str(video_id), "rb": revoked_before_ms}, 60)


def verify_revocation_notice(key: bytes, notice: str) -> tuple[uuid.UUID, int]:
    """The video and epoch of a notice from ``issue_revocation_notice``."""
    try:
        claims = jwt.decode(notice, key, algorithms=[_ALGORITHM], audience=_REVOCATION_AUDIENCE)
        return uuid.UUID(str(claims["vid"])), int(claims["rb"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        raise TicketError("the revocation notice is not valid") from None


def media_key_prefix(video_id: uuid.UUID, task_id: uuid.UUID) -> str:
    """Where one task writes its outputs in the media bucket: task-scoped, so a retry never mixes sets."""
    return f"videos/{video_id}/{task_id}/"
