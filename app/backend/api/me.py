"""``/api/me``: the caller, and the caller's own videos in every state."""

from __future__ import annotations

from flask import Blueprint
from spectree import Response

from app.backend import social
from app.backend import videos as domain
from app.backend.api.render import me_out, videos_out
from app.backend.context import db, require_user, services, viewer_identity
from app.backend.openapi import AUTH, api
from app.backend.schemas import ErrorBody, FeedQuery, MeOut, MePatch, VideoPage
from app.contracts.roles import Role

bp = Blueprint("me", __name__, url_prefix="/api/me")


def _roles() -> frozenset[Role]:
    identity = viewer_identity()
    return identity.roles if identity else frozenset()


TAGS = ("me",)


@bp.get("")
@api.validate(resp=Response(HTTP_200=MeOut, HTTP_401=ErrorBody), tags=TAGS, security=AUTH)
def me() -> MeOut:
    """The caller, with their own email (the one response that carries an email to its owner) and
    the roles their access token carries."""
    return me_out(require_user(), _roles())


@bp.patch("")
@api.validate(resp=Response(HTTP_200=MeOut, HTTP_401=ErrorBody), tags=TAGS, security=AUTH)
def patch_me(json: MePatch) -> MeOut:
    """Choose the display name others see on one's comments."""
    return me_out(social.patch_profile(db(), require_user(), json), _roles())


@bp.get("/videos")
@api.validate(
    resp=Response(HTTP_200=VideoPage, HTTP_400=ErrorBody, HTTP_401=ErrorBody), tags=TAGS, security=AUTH
)
def my_videos(query: FeedQuery) -> VideoPage:
    """One's own videos in any state and visibility, newest first."""
    user = require_user()
    session = db()
    rows, next_cursor = domain.owned_videos(session, user.id, query)
    stats = domain.video_stats(session, [v.id for v in rows], user.id)
    return VideoPage(items=videos_out(rows, stats, services()), next_cursor=next_cursor)
