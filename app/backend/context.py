"""What a request handler reaches for: the app's services, the request's DB session, the caller."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from flask import current_app, g, request
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.backend.answer_cache import AnswerCache
from app.backend.auth import Identity, TokenVerifier, bearer_token
from app.backend.aws import AwsClients
from app.backend.media_grants import MediaGrants
from app.backend.models import User
from app.backend.revocations import RevocationStore
from app.contracts.errors import ApiError
from app.contracts.roles import Role
from app.contracts.settings import BackendSettings

EXTENSION = "reelstack"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    settings: BackendSettings
    aws: AwsClients
    engine: Engine
    sessions: sessionmaker[Session]
    verifier: TokenVerifier
    ticket_key: bytes
    revocations: RevocationStore
    grants: MediaGrants
    anonymous_answers: AnswerCache


def services() -> Services:
    found: Services = current_app.extensions[EXTENSION]
    return found


def db() -> Session:
    """The request's session; closed (and rolled back if uncommitted) when the request ends."""
    if "db" not in g:
        g.db = services().sessions()
    session: Session = g.db
    return session


def close_db(_error: BaseException | None = None) -> None:
    session: Session | None = g.pop("db", None)
    if session is not None:
        session.close()


def _email_of(cognito: Any, access_token: str) -> str:
    try:
        attributes = cognito.get_user(AccessToken=access_token)["UserAttributes"]
    except (BotoCoreError, ClientError):
        log.warning("could not read the new user's email from Cognito", exc_info=True)
        return ""
    return next((str(a["Value"]) for a in attributes if a["Name"] == "email"), "")


def _upsert_user(session: Session, identity: Identity, access_token: str) -> User:
    """The caller's row, created on their first authenticated request.

    An email that could not be read then (Cognito unavailable) is read again on a later one,
    so ``GET /api/me`` shows it; no other response carries an email.
    """
    user = session.get(User, identity.sub)
    if user is not None:
        if not user.email:
            user.email = identity.email or _email_of(services().aws.cognito, access_token)
            session.commit()
        return user
    email = identity.email or _email_of(services().aws.cognito, access_token)
    user = User(id=identity.sub, email=email)
    session.add(user)
    try:
        session.commit()
    except IntegrityError:  # a concurrent first request created it
        session.rollback()
        found = session.get(User, identity.sub)
        assert found is not None
        return found
    return user


def viewer() -> User | None:
    """The authenticated caller, or None without an Authorization header; 401 for a bad token."""
    if "viewer" not in g:
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            g.identity, g.viewer = None, None
        else:
            g.identity = services().verifier.verify(token)
            g.viewer = _upsert_user(db(), g.identity, token)
            if g.viewer.suspended_at is not None:  # Cognito refuses their sign-in; this, any token left
                raise ApiError(403, "account_suspended", "this account is suspended")
    user: User | None = g.viewer
    return user


def viewer_identity() -> Identity | None:
    """The verified token of the caller (``viewer``), or None without one."""
    viewer()
    identity: Identity | None = g.identity
    return identity


def require_user() -> User:
    user = viewer()
    if user is None:
        raise ApiError(401, "unauthorized", "sign in: send `Authorization: Bearer <access token>`")
    return user


def require_role(role: Role) -> User:
    """The caller, if their access token names ``role`` (or a role implying it); 403 otherwise."""
    user = require_user()
    identity = viewer_identity()
    if identity is None or role not in identity.roles:
        raise ApiError(403, "forbidden", f"only a user with the {role.value} role can do this")
    return user


def viewer_id() -> str | None:
    user = viewer()
    return user.id if user else None
