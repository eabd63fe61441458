"""``/api/videos/{id}/comments``: anyone who may see a video reads them; authors edit and delete their own."""

from __future__ import annotations

import uuid

from flask import Blueprint
from spectree import Response

from app.backend import social
from app.backend.api.render import comment_out
from app.backend.context import db, require_user, viewer_id
from app.backend.openapi import AUTH, api
from app.backend.schemas import CommentCreate, CommentOut, CommentPage, ErrorBody, PageQuery
from app.backend.videos import visible_video

bp = Blueprint("comments", __name__, url_prefix="/api/videos/<uuid:video_id>/comments")
TAGS = ("comments",)
_ERRORS = {"HTTP_401": ErrorBody, "HTTP_403": ErrorBody, "HTTP_404": ErrorBody}


@bp.get("")
@api.validate(resp=Response(HTTP_200=CommentPage, HTTP_400=ErrorBody, HTTP_404=ErrorBody), tags=TAGS)
def list_(video_id: uuid.UUID, query: PageQuery) -> CommentPage:
    """A video's comments, oldest first; `cursor` continues a page. A comment a moderator hid shows
    to its author only, with `hidden_reason`."""
    session = db()
    me = viewer_id()
    rows, next_cursor = social.list_comments(session, visible_video(session, video_id, me), query, me)
    return CommentPage(items=[comment_out(c) for c in rows], next_cursor=next_cursor)


@bp.post("")
@api.validate(resp=Response(HTTP_201=CommentOut, **_ERRORS), tags=TAGS, security=AUTH)
def create(video_id: uuid.UUID, json: CommentCreate) -> tuple[CommentOut, int]:
    author = require_user()
    session = db()
    video = visible_video(session, video_id, author.id)
    return comment_out(social.add_comment(session, video, author, json.body)), 201


@bp.patch("/<uuid:comment_id>")
@api.validate(resp=Response(HTTP_200=CommentOut, **_ERRORS), tags=TAGS, security=AUTH)
def edit(video_id: uuid.UUID, comment_id: uuid.UUID, json: CommentCreate) -> CommentOut:
    """Edit one's own comment."""
    author = require_user()
    session = db()
    comment = social.authored_comment(session, video_id, comment_id, author)
    return comment_out(social.edit_comment(session, comment, json.body))


@bp.delete("/<uuid:comment_id>")
@api.validate(resp=Response("HTTP_204", **_ERRORS), tags=TAGS, security=AUTH)
def delete(video_id: uuid.UUID, comment_id: uuid.UUID) -> tuple[str, int]:
    """Delete one's own comment."""
    author = require_user()
    session = db()
    social.delete_comment(session, social.authored_comment(session, video_id, comment_id, author))
    return "", 204
