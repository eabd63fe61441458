"""Keyset pagination over ``(created_at, id)`` with opaque cursors."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.contracts.errors import ApiError


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps({"t": created_at.isoformat(), "id": str(row_id)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(data["t"]), uuid.UUID(data["id"])
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise ApiError(400, "invalid_cursor", "the cursor is not one this API returned") from None


def page(
    session: Session,
    query: Select[Any],
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    *,
    cursor: str,
    limit: int,
    newest_first: bool,
) -> tuple[list[Any], str | None]:
    """One page of ``query`` after ``cursor``; the next cursor, or None on the last page."""
    if cursor:
        after_time, after_id = decode_cursor(cursor)
        # One row-value comparison, not `a < t OR (a = t AND id < i)`: databases seek to it in
        # the (created_at, id) index, so a deep page costs what the first one does.
        position, after = tuple_(created_at, row_id), tuple_(after_time, after_id)
        query = query.where(position < after if newest_first else position > after)
    order = (created_at.desc(), row_id.desc()) if newest_first else (created_at.asc(), row_id.asc())
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(last.created_at, last.id)
