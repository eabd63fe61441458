"""``/api/videos/{id}/like``: idempotent PUT (like) and DELETE (unlike) with the resulting count."""

from __future__ import annotations

import uuid

from flask import Blueprint
from spectree import Response

from app.backend import social
from app.backend.context import db, require_user
from app.backend.openapi import AUTH, api
from app.backend.schemas import ErrorBody, LikeOut
from app.backend.videos import visible_video

bp = Blueprint("likes", __name__, url_prefix="/api/videos/<uuid:video_id>/like")
TAGS = ("likes",)
_RESP = Response(HTTP_200=LikeOut, HTTP_401=ErrorBody, HTTP_404=ErrorBody)


def _set(video_id: uuid.UUID, liked: bool) -> LikeOut:
    user = require_user()
    session = db()
    count = social.set_like(session, visible_video(session, video_id, user.id), user, liked)
    return LikeOut(likes=count.likes, liked_by_me=count.liked_by_me)


@bp.put("")
@api.validate(resp=_RESP, tags=TAGS, security=AUTH)
def like(video_id: uuid.UUID) -> LikeOut:
    return _set(video_id, True)


@bp.delete("")
@api.validate(resp=_RESP, tags=TAGS, security=AUTH)
def unlike(video_id: uuid.UUID) -> LikeOut:
    return _set(video_id, False)
