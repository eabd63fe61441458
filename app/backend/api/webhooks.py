"""``/api/webhooks``: a user's signed webhooks for their videos' events (docs/webhooks.md)."""

from __future__ import annotations

import uuid

from flask import Blueprint
from spectree import Response

from app.backend import webhooks
from app.backend.context import db, require_user, services
from app.backend.models import Webhook, WebhookDelivery
from app.backend.openapi import AUTH, api
from app.backend.schemas import (
    ErrorBody,
    WebhookCreate,
    WebhookDeliveryList,
    WebhookDeliveryOut,
    WebhookList,
    WebhookOut,
    WebhookWithSecret,
)

bp = Blueprint("webhooks", __name__, url_prefix="/api/webhooks")
TAGS = ("webhooks",)
_ERRORS = {"HTTP_401": ErrorBody, "HTTP_404": ErrorBody}


def _out(webhook: Webhook) -> WebhookOut:
    return WebhookOut.model_validate(webhook, from_attributes=True)


def _with_secret(webhook: Webhook) -> WebhookWithSecret:
    return WebhookWithSecret.model_validate(webhook, from_attributes=True)


def _delivery_out(delivery: WebhookDelivery) -> WebhookDeliveryOut:
    return WebhookDeliveryOut.model_validate(delivery, from_attributes=True)


@bp.get("")
@api.validate(resp=Response(HTTP_200=WebhookList, HTTP_401=ErrorBody), tags=TAGS, security=AUTH)
def mine() -> WebhookList:
    """The caller's webhooks, oldest first, without their secrets."""
    owner = require_user()
    return WebhookList(
        items=[_out(w) for w in webhooks.owned(db(), owner)],
        max_webhooks=services().settings.webhooks_per_user,
    )


@bp.post("")
@api.validate(
    resp=Response(HTTP_201=WebhookWithSecret, HTTP_401=ErrorBody, HTTP_409=ErrorBody),
    tags=TAGS,
    security=AUTH,
)
def create(json: WebhookCreate) -> tuple[WebhookWithSecret, int]:
    """Register a webhook; the answer holds its signing secret, shown this once. 422
    `webhook_url_refused`: not https, or the host is (or resolves to) a non-public address;
    409 `webhook_limit`: the caller has `max_webhooks` already."""
    owner = require_user()
    settings = services().settings
    webhook = webhooks.create(
        db(),
        owner,
        json,
        limit=settings.webhooks_per_user,
        allow_insecure=settings.webhook_allow_insecure_targets,
    )
    return _with_secret(webhook), 201


@bp.delete("/<uuid:webhook_id>")
@api.validate(resp=Response("HTTP_204", **_ERRORS), tags=TAGS, security=AUTH)
def delete(webhook_id: uuid.UUID) -> tuple[str, int]:
    owner = require_user()
    session = db()
    webhooks.delete(session, webhooks.own(session, webhook_id, owner))
    return "", 204


@bp.post("/<uuid:webhook_id>/secret")
@api.validate(resp=Response(HTTP_200=WebhookWithSecret, **_ERRORS), tags=TAGS, security=AUTH)
def rotate_secret(webhook_id: uuid.UUID) -> WebhookWithSecret:
    """Replace the signing secret; the answer holds the new one, shown this once. Deliveries
    are signed with it from now on (retries of earlier events included), and for 24 hours with
    the one it replaces as well (two `v1` signatures), while the receiver switches over."""
    owner = require_user()
    session = db()
    return _with_secret(webhooks.rotate_secret(session, webhooks.own(session, webhook_id, owner)))


@bp.get("/<uuid:webhook_id>/deliveries")
@api.validate(resp=Response(HTTP_200=WebhookDeliveryList, **_ERRORS), tags=TAGS, security=AUTH)
def deliveries(webhook_id: uuid.UUID) -> WebhookDeliveryList:
    """The webhook's most recent deliveries (at most 50), newest first."""
    owner = require_user()
    session = db()
    webhook = webhooks.own(session, webhook_id, owner)
    return WebhookDeliveryList(items=[_delivery_out(d) for d in webhooks.recent_deliveries(session, webhook)])
