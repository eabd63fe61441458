"""View counts: one view per viewer per UTC day, recorded with an insert that a repeat leaves
alone, so recording a view neither updates nor locks the video's row.

A viewer is the signed-in user, else the pair (client address, User-Agent). Neither is stored:
the key is an HMAC, under a key derived from the backend's ticket secret, of the viewer *and the
day*, so one viewer's rows of different days cannot be linked to each other, nor to a user or
an address without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.backend.models import VIEWER_KEY_LENGTH, Video, VideoView
from app.contracts.errors import ApiError
from app.contracts.messages import VideoState

_KEY_PURPOSE = b"reelstack view counts v1"
# A dialect's INSERT ... ON CONFLICT DO NOTHING; the backend runs on these two.
_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def view_key_secret(ticket_key: bytes) -> bytes:
    """The key of viewer hashes, derived from (never equal to) the ticket secret."""
    return hmac.new(ticket_key, _KEY_PURPOSE, hashlib.sha256).digest()


def viewer_key(secret: bytes, day: date, user_id: str | None, address: str, user_agent: str) -> str:
    """The viewer's key for ``day``: of the user when signed in, else of address and User-Agent."""
    who = f"user\x00{user_id}" if user_id is not None else f"anonymous\x00{address}\x00{user_agent}"
    digest = hmac.new(secret, f"{day.isoformat()}\x00{who}".encode(), hashlib.sha256).hexdigest()
    return digest[:VIEWER_KEY_LENGTH]


def record_view(session: Session, video: Video, day: date, key: str) -> bool:
    """Count the viewer's view of the ready ``video`` on ``day``; False when it was counted
    already. 409 ``not_ready`` before the video can play."""
    if video.status != VideoState.READY:
        raise ApiError(409, "not_ready", f"the video is {video.status.value}; only a ready video is viewed")
    insert = _INSERTS[session.get_bind().dialect.name]
    # RETURNING says whether a row went in (a skipped insert returns none); the rowcount of an
    # INSERT ... ON CONFLICT DO NOTHING is not reported alike by every driver.
    inserted = session.execute(
        insert(VideoView)
        .values(video_id=video.id, day=day, viewer_key=key)
        .on_conflict_do_nothing()
        .returning(VideoView.video_id)
    )
    counted = inserted.first() is not None
    session.commit()
    return counted


def view_totals(session: Session, video_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Each video's views of all time (videos without any are left out); a count over the
    primary key's (video_id, ...) prefix."""
    if not video_ids:
        return {}
    rows = session.execute(
        select(VideoView.video_id, func.count())
        .where(VideoView.video_id.in_(video_ids))
        .group_by(VideoView.video_id)
    )
    return {video_id: int(count) for video_id, count in rows}


def daily_views(session: Session, video_id: uuid.UUID, first: date, last: date) -> list[tuple[date, int]]:
    """The video's views on each day from ``first`` to ``last``, days without views included."""
    rows = session.execute(
        select(VideoView.day, func.count())
        .where(VideoView.video_id == video_id, VideoView.day >= first, VideoView.day <= last)
        .group_by(VideoView.day)
    )
    counts = {day: int(count) for day, count in rows}
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [(day, counts.get(day, 0)) for day in days]
