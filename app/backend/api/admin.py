"""``/api/admin``: admins find users, assign roles, suspend users, read the audit log and what transcoding costs."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint
from spectree import Response

from app.backend import costs, moderation
from app.backend.context import db, require_role, services
from app.backend.models import User
from app.backend.openapi import AUTH, api
from app.backend.schemas import (
    AdminUserOut,
    AuditEntryOut,
    AuditPage,
    ErrorBody,
    FleetCostOut,
    ModerationAction,
    PageQuery,
    PricesOut,
    RoleGrant,
    StackCostsOut,
    UserQuery,
)
from app.contracts.roles import Role

bp = Blueprint("admin", __name__, url_prefix="/api/admin")
TAGS = ("admin",)
_ERRORS = {"HTTP_401": ErrorBody, "HTTP_403": ErrorBody, "HTTP_404": ErrorBody}
_COGNITO_ERRORS = {**_ERRORS, "HTTP_503": ErrorBody}


def user_out(user: User) -> AdminUserOut:
    return AdminUserOut(
        id=user.id,
        email=user.email,
        public_name=user.public_name,
        suspended_at=user.suspended_at,
        suspended_reason=user.suspended_reason,
    )


def _admin() -> User:
    return require_role(Role.ADMIN)


def _accounts() -> moderation.Accounts:
    svc = services()
    return moderation.Accounts(
        svc.aws.cognito, svc.settings.user_pool_id, svc.aws.dynamodb, svc.settings.signout_table
    )


@bp.get("/users")
@api.validate(resp=Response(HTTP_200=AdminUserOut, **_ERRORS), tags=TAGS, security=AUTH)
def find_user(query: UserQuery) -> AdminUserOut:
    """Admins: the user with this email (one who has used the API)."""
    _admin()
    return user_out(moderation.find_user(db(), query.email))


@bp.post("/users/<user_id>/roles")
@api.validate(resp=Response(HTTP_200=AdminUserOut, **_COGNITO_ERRORS), tags=TAGS, security=AUTH)
def grant_role(user_id: str, json: RoleGrant) -> AdminUserOut:
    """Admins: give a user a role (a Cognito group); their tokens carry it from their next login."""
    admin = _admin()
    session = db()
    user = moderation.known_user(session, user_id)
    moderation.grant_role(_accounts(), session, admin, user, json.role, json.reason)
    return user_out(user)


@bp.post("/users/<user_id>/roles/<any(admin,moderator):role>/revoke")
@api.validate(resp=Response(HTTP_200=AdminUserOut, **_COGNITO_ERRORS), tags=TAGS, security=AUTH)
def revoke_role(user_id: str, role: str, json: ModerationAction) -> AdminUserOut:
    """Admins: take a role away; the user is signed out, so no token still naming it works."""
    admin = _admin()
    session = db()
    user = moderation.known_user(session, user_id)
    moderation.revoke_role(_accounts(), session, admin, user, Role(role), json.reason)
    return user_out(user)


@bp.post("/users/<user_id>/suspend")
@api.validate(
    resp=Response(HTTP_200=AdminUserOut, HTTP_409=ErrorBody, **_COGNITO_ERRORS), tags=TAGS, security=AUTH
)
def suspend(user_id: str, json: ModerationAction) -> AdminUserOut:
    """Admins: suspend a user: sign-in refused, sessions ended, videos and comments hidden, their
    videos' links stop playing."""
    admin = _admin()
    session = db()
    user = moderation.known_user(session, user_id)
    moderation.suspend(_accounts(), services().revocations, session, admin, user, json.reason)
    return user_out(user)


@bp.post("/users/<user_id>/unsuspend")
@api.validate(resp=Response(HTTP_200=AdminUserOut, **_COGNITO_ERRORS), tags=TAGS, security=AUTH)
def unsuspend(user_id: str, json: ModerationAction) -> AdminUserOut:
    """Admins: lift a suspension; the user signs in again, their content shows again."""
    admin = _admin()
    session = db()
    user = moderation.known_user(session, user_id)
    moderation.unsuspend(_accounts(), session, admin, user, json.reason)
    return user_out(user)


@bp.get("/audit")
@api.validate(resp=Response(HTTP_200=AuditPage, HTTP_400=ErrorBody, **_ERRORS), tags=TAGS, security=AUTH)
def audit(query: PageQuery) -> AuditPage:
    """Admins: every report, moderation and administration action, newest first."""
    _admin()
    rows, next_cursor = moderation.audit_log(db(), query)
    items = [AuditEntryOut.model_validate(entry, from_attributes=True) for entry in rows]
    return AuditPage(items=items, next_cursor=next_cursor)


@bp.get("/costs")
@api.validate(resp=Response(HTTP_200=StackCostsOut, **_ERRORS), tags=TAGS, security=AUTH)
def stack_costs() -> StackCostsOut:
    """Admins: what transcoding has cost this stack, per minute transcoded, at its prices."""
    _admin()
    prices = costs.Prices.from_settings(services().settings)
    fleets = costs.stack_costs(db(), prices)
    minutes = sum(f.minutes_transcoded for f in fleets)
    usd = sum(f.processing_usd for f in fleets)
    return StackCostsOut(
        prices=PricesOut(**asdict(prices)),
        fleets=[
            FleetCostOut(**asdict(f), processing_usd_per_minute=f.processing_usd_per_minute) for f in fleets
        ],
        minutes_transcoded=minutes,
        processing_usd=usd,
        processing_usd_per_minute=usd / minutes if minutes else None,
    )
