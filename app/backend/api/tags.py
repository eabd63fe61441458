"""``/api/tags/{tag}``: the feed's videos with a tag."""

from __future__ import annotations

from flask import Blueprint
from spectree import Response

from app.backend import videos as domain
from app.backend.api.render import videos_out
from app.backend.context import db, services, viewer_id
from app.backend.openapi import api
from app.backend.schemas import ErrorBody, PageQuery, VideoPage

bp = Blueprint("tags", __name__, url_prefix="/api/tags")
TAGS = ("tags",)


@bp.get("/<tag>")
@api.validate(resp=Response(HTTP_200=VideoPage, HTTP_400=ErrorBody, HTTP_422=ErrorBody), tags=TAGS)
def tagged(tag: str, query: PageQuery) -> VideoPage:
    """Public, ready videos with the tag (any case: tags are lowercase), newest first; `cursor`
    continues a page. 422 for what cannot be a tag."""
    session = db()
    rows, next_cursor = domain.tagged(session, tag, query)
    stats = domain.video_stats(session, [v.id for v in rows], viewer_id())
    return VideoPage(items=videos_out(rows, stats, services()), next_cursor=next_cursor)
