"""``/api/me``: the caller, and the caller's own videos in every state."""

from __future__ import annotations

from flask import Blueprint
from spectree import Response

from app.backend import videos as domain
from app.backend.api.render import videos_out
from app.backend.context import db, require_user, services
from app.backend.openapi import AUTH, api
from app.backend.schemas import ErrorBody, FeedQuery, MeOut, VideoPage

bp = Blueprint("me", __name__, url_prefix="/api/me")
TAGS = ("me",)


@bp.get("")
@api.validate(resp=Response(HTTP_200=MeOut, HTTP_401=ErrorBody), tags=TAGS, security=AUTH)
def me() -> MeOut:
    user = require_user()
    return MeOut(id=user.id, email=user.email, created_at=user.created_at)


@bp.get("/videos")
@api.validate(
    resp=Response(HTTP_200=VideoPage, HTTP_400=ErrorBody, HTTP_401=ErrorBody), tags=TAGS, security=AUTH
)
def my_videos(query: FeedQuery) -> VideoPage:
    """One's own videos in any state and visibility, newest first."""
    user = require_user()
    session = db()
    rows, next_cursor = domain.owned_videos(session, user.id, query)
    counts = domain.like_counts(session, [v.id for v in rows], user.id)
    return VideoPage(items=videos_out(rows, counts, services()), next_cursor=next_cursor)
