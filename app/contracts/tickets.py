"""Short-lived signed grants that browsers carry where they cannot send an Authorization header.

- An *events ticket* lets one user open the SSE stream of one video
  (``GET /events/videos/{id}?ticket=...``); EventSource cannot send headers. It also
  carries the video's state when it was issued, so a late client sees the truth at once.
- A *media grant* lets its holder fetch the objects of one video's outputs; it sits in the
  path (``/media/g/<grant>/videos/<id>/...``) so the relative URLs inside HLS playlists carry
  it to every segment.

Both are HS256 JWTs keyed by one secret in Secrets Manager (``REELSTACK_TICKET_SECRET_ARN``)
that the backend issues with and the progress service and media edge verify with.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

_EVENTS_AUDIENCE = "reelstack-events"
_MEDIA_AUDIENCE = "reelstack-media"
_ALGORITHM = "HS256"


class TicketError(Exception):
    """The ticket or grant is missing, malformed, forged, expired or for another video."""


class TicketForAnotherVideo(TicketError):
    """A valid ticket or grant, but bound to another video: the holder is known, the access is not allowed."""


@dataclass(frozen=True)
class EventsTicket:
    user_id: str
    video_id: uuid.UUID
    snapshot: dict[str, Any]
    expires_at: int


def load_key(secretsmanager: Any, secret_arn: str) -> bytes:
    """The signing key, read once at start-up from Secrets Manager."""
    value = secretsmanager.get_secret_value(SecretId=secret_arn)["SecretString"]
    if len(value) < 32:
        raise ValueError(f"the secret {secret_arn} holds a key shorter than 32 characters")
    return str(value).encode()


def _sign(key: bytes, claims: dict[str, Any], ttl_seconds: int) -> str:
    now = int(time.time())
    return jwt.encode({**claims, "iat": now, "exp": now + ttl_seconds}, key, algorithm=_ALGORITHM)


def _verify(key: bytes, token: str, audience: str, video_id: uuid.UUID) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            audience=audience,
            options={"require": ["exp", "aud", "vid"]},
        )
    except jwt.ExpiredSignatureError:
        raise TicketError("the ticket has expired") from None
    except jwt.PyJWTError:
        raise TicketError("the ticket is not valid") from None
    if claims["vid"] != str(video_id):
        raise TicketForAnotherVideo("the ticket is for another video")
    return claims


def issue_events_ticket(
    key: bytes, *, user_id: str, video_id: uuid.UUID, snapshot: dict[str, Any], ttl_seconds: int
) -> str:
    """``snapshot``: the video's state when issued, at least ``state``, ``percent`` and ``sequence``."""
    claims = {"aud": _EVENTS_AUDIENCE, "sub": user_id, "vid": str(video_id), "snap": snapshot}
    return _sign(key, claims, ttl_seconds)


def verify_events_ticket(key: bytes, ticket: str, video_id: uuid.UUID) -> EventsTicket:
    claims = _verify(key, ticket, _EVENTS_AUDIENCE, video_id)
    return EventsTicket(
        user_id=str(claims.get("sub", "")),
        video_id=video_id,
        snapshot=dict(claims.get("snap") or {}),
        expires_at=int(claims["exp"]),
    )


def issue_media_grant(key: bytes, *, video_id: uuid.UUID, ttl_seconds: int) -> str:
    return _sign(key, {"aud": _MEDIA_AUDIENCE, "vid": str(video_id)}, ttl_seconds)


def verify_media_grant(key: bytes, grant: str, video_id: uuid.UUID) -> None:
    _verify(key, grant, _MEDIA_AUDIENCE, video_id)


def media_key_prefix(video_id: uuid.UUID, task_id: uuid.UUID) -> str:
    """Where one task writes its outputs in the media bucket: task-scoped, so a retry never mixes sets."""
    return f"videos/{video_id}/{task_id}/"
