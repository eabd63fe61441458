"""``/api/reports`` (any signed-in user), ``/api/moderation`` (moderators): reports, the queue,
hiding and restoring videos and comments."""

from __future__ import annotations

import uuid

from flask import Blueprint
from spectree import Response

from app.backend import moderation
from app.backend.context import db, require_role, require_user, services
from app.backend.models import Comment, Report, ReportTarget, Video
from app.backend.openapi import AUTH, api
from app.backend.schemas import (
    ErrorBody,
    ModerationAction,
    ModerationOut,
    QueuedReport,
    ReportCreate,
    ReportedTarget,
    ReportOut,
    ReportPage,
    ReportQuery,
)
from app.contracts.roles import Role

reports = Blueprint("reports", __name__, url_prefix="/api/reports")
bp = Blueprint("moderation", __name__, url_prefix="/api/moderation")
TAGS = ("moderation",)
_ERRORS = {"HTTP_401": ErrorBody, "HTTP_403": ErrorBody, "HTTP_404": ErrorBody}


def report_out(report: Report) -> ReportOut:
    return ReportOut.model_validate(report, from_attributes=True)


def _target_out(target: Video | Comment | None) -> ReportedTarget | None:
    if target is None:
        return None
    if isinstance(target, Video):
        return ReportedTarget(
            owner_id=target.owner_id,
            video_id=target.id,
            title=target.title,
            body=None,
            hidden_reason=target.hidden_reason,
        )
    video = db().get(Video, target.video_id)
    return ReportedTarget(
        owner_id=target.author_id,
        video_id=target.video_id,
        title=video.title if video else "",
        body=target.body,
        hidden_reason=target.hidden_reason,
    )


@reports.post("")
@api.validate(
    resp=Response(HTTP_201=ReportOut, HTTP_409=ErrorBody, HTTP_429=ErrorBody, **_ERRORS),
    tags=TAGS,
    security=AUTH,
)
def file_report(json: ReportCreate) -> tuple[ReportOut, int]:
    """Report a video or comment one can see, with a reason. 409 `already_reported` while one's
    earlier report of it is open; 429 `too_many_reports` (with `Retry-After`) past 20 in an hour."""
    reporter = require_user()
    report = moderation.file_report(db(), reporter, json.target_type, json.target_id, json.reason)
    return report_out(report), 201


@bp.get("/reports")
@api.validate(resp=Response(HTTP_200=ReportPage, HTTP_400=ErrorBody, **_ERRORS), tags=TAGS, security=AUTH)
def queue(query: ReportQuery) -> ReportPage:
    """Moderators: reports of one status, each with its target: `open` (the default) oldest first,
    `resolved` newest first."""
    require_role(Role.MODERATOR)
    session = db()
    rows, next_cursor = moderation.report_queue(session, query)
    targets = moderation.targets_of(session, rows)
    items = [
        QueuedReport(**report_out(r).model_dump(), target=_target_out(targets.get(r.target_id))) for r in rows
    ]
    return ReportPage(items=items, next_cursor=next_cursor)


@bp.post("/reports/<uuid:report_id>/resolve")
@api.validate(resp=Response(HTTP_200=ReportOut, **_ERRORS), tags=TAGS, security=AUTH)
def resolve(report_id: uuid.UUID, json: ModerationAction) -> ReportOut:
    """Moderators: close a report, saying why (resolving a closed one changes nothing)."""
    moderator = require_role(Role.MODERATOR)
    return report_out(moderation.resolve_report(db(), moderator, report_id, json.reason))


def _hide(target_type: ReportTarget, target_id: uuid.UUID, reason: str) -> ModerationOut:
    moderator = require_role(Role.MODERATOR)
    target, resolved = moderation.hide(
        db(), services().revocations, moderator, target_type, target_id, reason
    )
    return ModerationOut(
        target_type=target_type,
        target_id=target.id,
        hidden_reason=target.hidden_reason,
        resolved_reports=resolved,
    )


def _restore(target_type: ReportTarget, target_id: uuid.UUID, reason: str) -> ModerationOut:
    moderator = require_role(Role.MODERATOR)
    target, resolved = moderation.restore(db(), moderator, target_type, target_id, reason)
    return ModerationOut(
        target_type=target_type, target_id=target.id, hidden_reason=None, resolved_reports=resolved
    )


_HIDE_ERRORS = {**_ERRORS, "HTTP_503": ErrorBody}


@bp.post("/videos/<uuid:video_id>/hide")
@api.validate(resp=Response(HTTP_200=ModerationOut, **_HIDE_ERRORS), tags=TAGS, security=AUTH)
def hide_video(video_id: uuid.UUID, json: ModerationAction) -> ModerationOut:
    """Moderators: hide a video from everyone but its owner, who sees the reason; the links
    already handed out stop playing; its open reports are resolved."""
    return _hide(ReportTarget.VIDEO, video_id, json.reason)


@bp.post("/videos/<uuid:video_id>/restore")
@api.validate(resp=Response(HTTP_200=ModerationOut, **_ERRORS), tags=TAGS, security=AUTH)
def restore_video(video_id: uuid.UUID, json: ModerationAction) -> ModerationOut:
    """Moderators: show a hidden video again."""
    return _restore(ReportTarget.VIDEO, video_id, json.reason)


@bp.post("/comments/<uuid:comment_id>/hide")
@api.validate(resp=Response(HTTP_200=ModerationOut, **_ERRORS), tags=TAGS, security=AUTH)
def hide_comment(comment_id: uuid.UUID, json: ModerationAction) -> ModerationOut:
    """Moderators: hide a comment from everyone but its author, who sees the reason."""
    return _hide(ReportTarget.COMMENT, comment_id, json.reason)


@bp.post("/comments/<uuid:comment_id>/restore")
@api.validate(resp=Response(HTTP_200=ModerationOut, **_ERRORS), tags=TAGS, security=AUTH)
def restore_comment(comment_id: uuid.UUID, json: ModerationAction) -> ModerationOut:
    """Moderators: show a hidden comment again."""
    return _restore(ReportTarget.COMMENT, comment_id, json.reason)
