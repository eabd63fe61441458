"""Reports, moderation and administration: plain functions over a session and the AWS clients.

Any signed-in user reports a video or comment they can see (one open report per reporter and
target, ``REPORTS_PER_HOUR`` at most). Moderators read the queue, hide and restore videos and
comments (a hidden one is shown to its owner only, with the reason; a hidden video's media
grants are cut) and resolve reports. Admins assign roles (Cognito groups) and suspend users
(Cognito refuses their sign-in, their tokens are signed out, their content is hidden). Every
action writes an ``AuditEntry``: who, what, on what, when and why.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.backend.models import (
    AuditEntry,
    Comment,
    Report,
    ReportStatus,
    ReportTarget,
    User,
    Video,
    utcnow,
)
from app.backend.pagination import page
from app.backend.revocations import RevocationStore
from app.backend.schemas import PageQuery, ReportQuery
from app.backend.social import visible_comment
from app.backend.videos import cut_grants, visible_video
from app.contracts.errors import ApiError
from app.contracts.roles import Role
from app.contracts.signout_records import record_sign_out

log = logging.getLogger(__name__)

REPORTS_PER_HOUR = 20
"""Reports one user may file in an hour; more answer 429 ``too_many_reports``."""
REPORT_WINDOW = timedelta(hours=1)
# Cognito access tokens live at most one day (app client TokenValidity: 5 minutes to 1 day,
# https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html):
# a sign-out recorded by an admin must outlive every token issued before it.
ACCESS_TOKEN_MAX_SECONDS = 24 * 3600


class Action:
    """The audit log's verbs."""

    REPORT = "report"
    HIDE = "hide"
    RESTORE = "restore"
    RESOLVE = "resolve"
    SUSPEND = "suspend"
    UNSUSPEND = "unsuspend"
    GRANT_ROLE = "grant_role"
    REVOKE_ROLE = "revoke_role"


def audit(
    session: Session, actor: User, action: str, target_type: str, target_id: object, reason: str
) -> None:
    """Add the action to the audit log, committed with the change it records."""
    session.add(
        AuditEntry(
            actor_id=actor.id, action=action, target_type=target_type, target_id=str(target_id), reason=reason
        )
    )
    log.info("moderation %s of %s %s by %s", action, target_type, target_id, actor.id)


# Reports
def _check_reports_per_hour(session: Session, reporter: User) -> None:
    since = utcnow() - REPORT_WINDOW
    recent = session.scalars(
        select(Report.created_at)
        .where(Report.reporter_id == reporter.id, Report.created_at > since)
        .order_by(Report.created_at.desc())
        .limit(REPORTS_PER_HOUR)
    ).all()
    if len(recent) < REPORTS_PER_HOUR:
        return
    oldest = recent[-1] if recent[-1].tzinfo else recent[-1].replace(tzinfo=UTC)
    wait = max(1, math.ceil((oldest + REPORT_WINDOW - utcnow()).total_seconds()))
    raise ApiError(
        429,
        "too_many_reports",
        f"you have filed {REPORTS_PER_HOUR} reports in the last hour, the most allowed; retry after"
        " the time in Retry-After",
        retry_after_seconds=wait,
    )


def _already_reported() -> ApiError:
    return ApiError(409, "already_reported", "you have an open report of this already")


def file_report(
    session: Session, reporter: User, target_type: ReportTarget, target_id: uuid.UUID, reason: str
) -> Report:
    """Report a video or comment the reporter can see (404 otherwise, as for any other request)."""
    if target_type == ReportTarget.VIDEO:
        visible_video(session, target_id, reporter.id)
    else:
        visible_comment(session, target_id, reporter.id)
    open_report = select(Report.id).where(
        Report.reporter_id == reporter.id,
        Report.target_type == target_type,
        Report.target_id == target_id,
        Report.status == ReportStatus.OPEN,
    )
    if session.scalar(open_report) is not None:
        raise _already_reported()
    _check_reports_per_hour(session, reporter)
    report = Report(
        reporter_id=reporter.id,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        status=ReportStatus.OPEN,
    )
    session.add(report)
    audit(session, reporter, Action.REPORT, target_type.value, target_id, reason)
    try:
        session.commit()
    except IntegrityError:  # a concurrent identical report won (uq_reports_open)
        session.rollback()
        raise _already_reported() from None
    return report


def report_queue(session: Session, params: ReportQuery) -> tuple[list[Report], str | None]:
    """Open reports oldest first (first come, first served); resolved ones newest first."""
    query = select(Report).where(Report.status == params.status)
    return page(
        session,
        query,
        Report.created_at,
        Report.id,
        cursor=params.cursor,
        limit=params.limit,
        newest_first=params.status == ReportStatus.RESOLVED,
    )


def targets_of(session: Session, reports: list[Report]) -> dict[uuid.UUID, Video | Comment]:
    """The videos and comments ``reports`` name (deleted ones absent), by id."""
    ids = {kind: {r.target_id for r in reports if r.target_type == kind} for kind in ReportTarget}
    found: dict[uuid.UUID, Video | Comment] = {}
    if ids[ReportTarget.VIDEO]:
        found.update(
            {v.id: v for v in session.scalars(select(Video).where(Video.id.in_(ids[ReportTarget.VIDEO])))}
        )
    if ids[ReportTarget.COMMENT]:
        comments = session.scalars(select(Comment).where(Comment.id.in_(ids[ReportTarget.COMMENT])))
        found.update({c.id: c for c in comments})
    return found


def resolve_report(session: Session, moderator: User, report_id: uuid.UUID, resolution: str) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise ApiError(404, "not_found", f"no report {report_id}")
    if report.status == ReportStatus.OPEN:
        report.status = ReportStatus.RESOLVED
        report.resolved_at = utcnow()
        report.resolved_by = moderator.id
        report.resolution = resolution
        audit(session, moderator, Action.RESOLVE, "report", report.id, resolution)
        session.commit()
    return report


def _resolve_open_reports(
    session: Session, moderator: User, target_type: ReportTarget, target_id: uuid.UUID, resolution: str
) -> int:
    resolved: Any = session.execute(
        update(Report)
        .where(
            Report.target_type == target_type,
            Report.target_id == target_id,
            Report.status == ReportStatus.OPEN,
        )
        .values(
            status=ReportStatus.RESOLVED,
            resolved_at=utcnow(),
            resolved_by=moderator.id,
            resolution=resolution,
        )
        .execution_options(synchronize_session=False)
    )
    return int(resolved.rowcount)


# Hiding and restoring
def _target(session: Session, target_type: ReportTarget, target_id: uuid.UUID) -> Video | Comment:
    found: Video | Comment | None = (
        session.get(Video, target_id)
        if target_type == ReportTarget.VIDEO
        else session.get(Comment, target_id)
    )
    if found is None:
        raise ApiError(404, "not_found", f"no {target_type.value} {target_id}")
    return found


def hide(
    session: Session,
    revocations: RevocationStore,
    moderator: User,
    target_type: ReportTarget,
    target_id: uuid.UUID,
    reason: str,
) -> tuple[Video | Comment, int]:
    """Hide a video or comment from everyone but its owner, who sees ``reason``; resolve its open
    reports. A hidden video's media grants are cut (503 if the cut fails, the video hidden)."""
    target = _target(session, target_type, target_id)
    target.hidden_at = utcnow()
    target.hidden_reason = reason
    resolved = _resolve_open_reports(session, moderator, target_type, target_id, f"hidden: {reason}")
    audit(session, moderator, Action.HIDE, target_type.value, target_id, reason)
    session.commit()
    if isinstance(target, Video):
        cut_grants(revocations, target, "the video is hidden")
    return target, resolved


def restore(
    session: Session, moderator: User, target_type: ReportTarget, target_id: uuid.UUID, reason: str
) -> tuple[Video | Comment, int]:
    """Show a hidden video or comment again; its open reports are resolved (judged unfounded)."""
    target = _target(session, target_type, target_id)
    target.hidden_at = None
    target.hidden_reason = None
    resolved = _resolve_open_reports(session, moderator, target_type, target_id, f"restored: {reason}")
    audit(session, moderator, Action.RESTORE, target_type.value, target_id, reason)
    session.commit()
    return target, resolved


# Administration
def find_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if user is None:
        raise ApiError(404, "not_found", "no user with this email has used the API")
    return user


def known_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise ApiError(404, "not_found", f"no user {user_id}")
    return user


@contextmanager
def _pool_errors(operation: str) -> Iterator[None]:
    """A refused or failed user pool call as a 503 that says what could not be done."""
    try:
        yield
    except (BotoCoreError, ClientError):
        log.exception("the user pool refused to %s", operation)
        raise ApiError(503, "auth_unavailable", f"the user pool could not {operation}; try again") from None


@dataclass(frozen=True)
class Accounts:
    """Where users' accounts live: the Cognito user pool (sign-in, role groups) and the sign-out
    table (which access tokens no longer count)."""

    cognito_admin: Any
    user_pool_id: str
    dynamodb: Any
    signout_table: str


def _sign_out_everywhere(accounts: Accounts, user: User) -> None:
    """Refuse every access token ``user`` holds (app/contracts/signouts.py), as a logout does."""
    now = int(time.time())
    try:
        record_sign_out(
            accounts.dynamodb,
            accounts.signout_table,
            sub=user.id,
            signed_out_at=now,
            expires_at=now + ACCESS_TOKEN_MAX_SECONDS,
        )
    except (BotoCoreError, ClientError):
        log.exception("could not record the sign-out of %s", user.id)
        raise ApiError(503, "auth_unavailable", "the user's sessions could not be ended; try again") from None


def grant_role(
    accounts: Accounts, session: Session, admin: User, user: User, role: Role, reason: str
) -> None:
    """Add ``user`` to the role's group; their tokens carry it from their next login or refresh."""
    with _pool_errors("add the user to the group"):
        accounts.cognito_admin.admin_add_user_to_group(
            UserPoolId=accounts.user_pool_id, Username=user.id, GroupName=role.value
        )
    audit(session, admin, Action.GRANT_ROLE, "user", user.id, f"{role.value}: {reason}")
    session.commit()


def revoke_role(
    accounts: Accounts, session: Session, admin: User, user: User, role: Role, reason: str
) -> None:
    """Remove ``user`` from the role's group and sign them out, so no token still naming it works."""
    with _pool_errors("remove the user from the group"):
        accounts.cognito_admin.admin_remove_user_from_group(
            UserPoolId=accounts.user_pool_id, Username=user.id, GroupName=role.value
        )
    _sign_out_everywhere(accounts, user)
    audit(session, admin, Action.REVOKE_ROLE, "user", user.id, f"{role.value}: {reason}")
    session.commit()


def suspend(
    accounts: Accounts, revocations: RevocationStore, session: Session, admin: User, user: User, reason: str
) -> User:
    """Refuse the user's sign-in (Cognito disables them), end their sessions (refresh tokens at
    Cognito, access tokens through the sign-out table) and hide their content; their videos'
    media grants are cut."""
    if user.id == admin.id:
        raise ApiError(409, "cannot_suspend_self", "an admin cannot suspend themselves")
    with _pool_errors("disable the user"):
        accounts.cognito_admin.admin_disable_user(UserPoolId=accounts.user_pool_id, Username=user.id)
    with _pool_errors("sign the user out"):
        accounts.cognito_admin.admin_user_global_sign_out(UserPoolId=accounts.user_pool_id, Username=user.id)
    _sign_out_everywhere(accounts, user)
    user.suspended_at = utcnow()
    user.suspended_reason = reason
    session.execute(
        update(Video).where(Video.owner_id == user.id).values(owner_suspended_at=user.suspended_at)
    )
    audit(session, admin, Action.SUSPEND, "user", user.id, reason)
    session.commit()
    for video in session.scalars(select(Video).where(Video.owner_id == user.id)):
        cut_grants(revocations, video, "the user is suspended")
    return user


def unsuspend(accounts: Accounts, session: Session, admin: User, user: User, reason: str) -> User:
    """Let the user sign in again; their content shows again (what a moderator hid stays hidden)."""
    with _pool_errors("enable the user"):
        accounts.cognito_admin.admin_enable_user(UserPoolId=accounts.user_pool_id, Username=user.id)
    user.suspended_at = None
    user.suspended_reason = None
    session.execute(update(Video).where(Video.owner_id == user.id).values(owner_suspended_at=None))
    audit(session, admin, Action.UNSUSPEND, "user", user.id, reason)
    session.commit()
    return user


def audit_log(session: Session, params: PageQuery) -> tuple[list[AuditEntry], str | None]:
    """The audit log, newest first."""
    return page(
        session,
        select(AuditEntry),
        AuditEntry.created_at,
        AuditEntry.id,
        cursor=params.cursor,
        limit=params.limit,
        newest_first=True,
    )
