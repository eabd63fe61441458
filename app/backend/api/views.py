"""``/api/videos/{id}/views``: count a view (anyone who may see the video), and the owner's views by day."""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import Blueprint, request
from spectree import Response

from app.backend import view_counts
from app.backend.context import db, require_user, services, viewer_id
from app.backend.models import utcnow
from app.backend.openapi import AUTH, api
from app.backend.schemas import ErrorBody, ViewDay, ViewHistory, ViewHistoryQuery, ViewRecorded
from app.backend.videos import own_video, visible_video

bp = Blueprint("views", __name__, url_prefix="/api/videos/<uuid:video_id>/views")
TAGS = ("views",)


@bp.post("")
@api.validate(resp=Response(HTTP_200=ViewRecorded, HTTP_404=ErrorBody, HTTP_409=ErrorBody), tags=TAGS)
def record(video_id: uuid.UUID) -> ViewRecorded:
    """Count the caller's view of a ready video they may see: once per viewer per UTC day. The
    web app sends it when playback starts (a media grant is issued with every answer that shows
    a video, feed cards included, so a grant is no view).

    A viewer is the signed-in user, else the client address and User-Agent; only a keyed hash of
    the viewer and the day is kept. 409 `not_ready` before the video is ready."""
    session = db()
    me = viewer_id()
    video = visible_video(session, video_id, me)
    today = utcnow().date()
    address = request.access_route[0] if request.access_route else ""
    key = view_counts.viewer_key(
        view_counts.view_key_secret(services().ticket_key),
        today,
        me,
        address,
        request.headers.get("User-Agent", ""),
    )
    return ViewRecorded(counted=view_counts.record_view(session, video, today, key))


@bp.get("")
@api.validate(
    resp=Response(HTTP_200=ViewHistory, HTTP_401=ErrorBody, HTTP_403=ErrorBody, HTTP_404=ErrorBody),
    tags=TAGS,
    security=AUTH,
)
def history(video_id: uuid.UUID, query: ViewHistoryQuery) -> ViewHistory:
    """One's own video's views on each of the last `days` UTC days (today the last), and of all time."""
    owner = require_user()
    session = db()
    video = own_video(session, video_id, owner.id)
    today = utcnow().date()
    days = view_counts.daily_views(session, video.id, today - timedelta(days=query.days - 1), today)
    return ViewHistory(
        total=view_counts.view_totals(session, [video.id]).get(video.id, 0),
        days=[ViewDay(day=day, views=views) for day, views in days],
    )
