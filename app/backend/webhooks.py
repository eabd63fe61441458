"""Users' webhooks: register, list, delete, rotate the secret, and the recent deliveries.

A webhook belongs to its owner alone: any other caller is told it does not exist (404). Its
secret is made here (``secrets``), answered once (on creation and on rotation) and kept to
sign deliveries (``app/backend/webhook_delivery.py``). The URL is checked against the SSRF rules
(``app/backend/webhook_targets.py``) here and again at every delivery.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.backend.models import User, Webhook, WebhookDelivery, utcnow
from app.backend.schemas import WebhookCreate
from app.backend.webhook_targets import TargetRefused, check
from app.contracts.errors import ApiError

SECRET_PREFIX = "whsec_"  # noqa: S105 - a marker integrators recognise, not a secret
RECENT_DELIVERIES = 50
ROTATION_GRACE = timedelta(hours=24)


def new_secret() -> str:
    """256 random bits, URL-safe: ``whsec_`` and 43 characters."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def owned(session: Session, owner: User) -> list[Webhook]:
    query = select(Webhook).where(Webhook.owner_id == owner.id).order_by(Webhook.created_at, Webhook.id)
    return list(session.scalars(query))


def own(session: Session, webhook_id: uuid.UUID, owner: User) -> Webhook:
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or webhook.owner_id != owner.id:
        raise ApiError(404, "not_found", "no such webhook")
    return webhook


def create(
    session: Session, owner: User, data: WebhookCreate, *, limit: int, allow_insecure: bool
) -> Webhook:
    try:
        check(data.url, allow_insecure=allow_insecure)
    except TargetRefused as exc:
        raise ApiError(422, "webhook_url_refused", str(exc)) from None
    count = session.scalar(select(func.count()).select_from(Webhook).where(Webhook.owner_id == owner.id)) or 0
    if count >= limit:
        raise ApiError(
            409, "webhook_limit", f"a user may have {limit} webhooks; delete one before registering another"
        )
    webhook = Webhook(
        owner_id=owner.id,
        url=data.url,
        event_types=sorted({t.value for t in data.event_types}),
        secret=new_secret(),
    )
    session.add(webhook)
    session.commit()
    return webhook


def rotate_secret(session: Session, webhook: Webhook) -> Webhook:
    """A new secret signs every delivery from now on; the one it replaces signs them too for
    ``ROTATION_GRACE`` (two ``v1`` signatures), so the receiver can switch over unhurried."""
    now = utcnow()
    webhook.previous_secret, webhook.previous_secret_expires_at = webhook.secret, now + ROTATION_GRACE
    webhook.secret = new_secret()
    webhook.secret_rotated_at = now
    session.commit()
    return webhook


def delete(session: Session, webhook: Webhook) -> None:
    """The webhook and its deliveries' records; an event being delivered stops at its next attempt."""
    session.delete(webhook)
    session.commit()


def recent_deliveries(session: Session, webhook: Webhook) -> list[WebhookDelivery]:
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook.id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(RECENT_DELIVERIES)
    )
    return list(session.scalars(query))
