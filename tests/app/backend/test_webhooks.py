"""``/api/webhooks``: a user registers, lists, rotates and deletes their own webhooks, and reads
their deliveries; the secret is answered only on creation and rotation; URLs that are not https
or name a non-public address are refused; at most ``webhooks_per_user``; anyone else's is 404."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.backend.models import DeliveryStatus, Webhook, WebhookDelivery, utcnow
from app.contracts.settings import BackendSettings
from tests.app.backend.conftest import Caller

PUBLIC_URL = "https://93.184.216.34/reelstack"  # an address literal: no DNS needed


def _register(http: FlaskClient, caller: Caller, **body: object) -> dict[str, object]:
    answer = http.post("/api/webhooks", json={"url": PUBLIC_URL, **body}, headers=caller.headers)
    assert answer.status_code == 201, answer.json
    created: dict[str, object] = answer.json
    return created


def test_a_webhook_is_registered_with_a_secret_shown_once(http: FlaskClient, alice: Caller) -> None:
    created = _register(http, alice, event_types=["video.ready", "video.failed"])
    secret = str(created["secret"])
    assert secret.startswith("whsec_") and len(secret) >= 40
    assert created["url"] == PUBLIC_URL
    assert created["event_types"] == ["video.failed", "video.ready"]
    listed = http.get("/api/webhooks", headers=alice.headers).json
    assert listed["max_webhooks"] == 5
    [item] = listed["items"]
    assert item["id"] == created["id"] and "secret" not in item
    assert secret not in str(listed)


def test_rotating_the_secret_answers_a_new_one_and_lists_none(
    http: FlaskClient, alice: Caller, engine: Engine
) -> None:
    created = _register(http, alice)
    rotated = http.post(f"/api/webhooks/{created['id']}/secret", headers=alice.headers)
    assert rotated.status_code == 200
    assert rotated.json["secret"].startswith("whsec_") and rotated.json["secret"] != created["secret"]
    assert rotated.json["secret_rotated_at"] >= str(created["secret_rotated_at"])
    assert "secret" not in http.get("/api/webhooks", headers=alice.headers).json["items"][0]
    with Session(engine) as session:
        webhook = session.get(Webhook, uuid.UUID(str(created["id"])))
        assert webhook is not None
        # The replaced secret signs too for a day, while the receiver switches over.
        assert webhook.signing_secrets(utcnow()) == [rotated.json["secret"], created["secret"]]
        assert webhook.signing_secrets(utcnow() + timedelta(hours=24, seconds=1)) == [rotated.json["secret"]]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://93.184.216.34/hook", "scheme must be https"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://10.0.0.8/hook", "private"),
        ("https://[::ffff:192.168.0.1]/hook", "private"),
        ("https://user:pw@93.184.216.34/", "credentials"),
        ("not a url", "scheme must be https"),
    ],
)
def test_urls_that_are_not_https_or_not_public_are_refused(
    http: FlaskClient, alice: Caller, url: str, why: str
) -> None:
    answer = http.post("/api/webhooks", json={"url": url}, headers=alice.headers)
    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "webhook_url_refused"
    assert why in answer.json["error"]["message"]
    assert http.get("/api/webhooks", headers=alice.headers).json["items"] == []


def test_an_unknown_event_type_or_a_missing_url_is_invalid(http: FlaskClient, alice: Caller) -> None:
    for body in (
        {"url": PUBLIC_URL, "event_types": ["video.liked"]},
        {},
        {"url": PUBLIC_URL, "secret": "mine"},
    ):
        answer = http.post("/api/webhooks", json=body, headers=alice.headers)
        assert answer.status_code == 422, body


def test_a_user_may_have_at_most_the_limit(
    http: FlaskClient, alice: Caller, settings: BackendSettings
) -> None:
    for _ in range(settings.webhooks_per_user):
        _register(http, alice)
    over = http.post("/api/webhooks", json={"url": PUBLIC_URL}, headers=alice.headers)
    assert over.status_code == 409
    assert over.json["error"]["code"] == "webhook_limit"
    first = http.get("/api/webhooks", headers=alice.headers).json["items"][0]["id"]
    assert http.delete(f"/api/webhooks/{first}", headers=alice.headers).status_code == 204
    _register(http, alice)


def test_another_users_webhook_does_not_exist_for_them(http: FlaskClient, alice: Caller, bob: Caller) -> None:
    webhook = _register(http, alice)["id"]
    assert http.get("/api/webhooks", headers=bob.headers).json["items"] == []
    for method, path in (
        ("delete", f"/api/webhooks/{webhook}"),
        ("post", f"/api/webhooks/{webhook}/secret"),
        ("get", f"/api/webhooks/{webhook}/deliveries"),
        ("delete", f"/api/webhooks/{uuid.uuid4()}"),
    ):
        answer = getattr(http, method)(path, headers=bob.headers)
        assert answer.status_code == 404, path
        assert answer.json["error"]["code"] == "not_found"
    assert len(http.get("/api/webhooks", headers=alice.headers).json["items"]) == 1


def test_anonymous_callers_are_refused(http: FlaskClient) -> None:
    assert http.get("/api/webhooks").status_code == 401
    assert http.post("/api/webhooks", json={"url": PUBLIC_URL}).status_code == 401


def test_the_owner_reads_the_recent_deliveries_and_deleting_the_webhook_ends_them(
    http: FlaskClient, alice: Caller, engine: Engine
) -> None:
    webhook = uuid.UUID(str(_register(http, alice)["id"]))
    event_id = uuid.uuid4()
    with Session(engine) as session:
        session.add(
            WebhookDelivery(
                webhook_id=webhook,
                event_id=event_id,
                event_type="video.ready",
                status=DeliveryStatus.PENDING,
                attempts=2,
                last_status_code=503,
                last_error="answered 503: busy",
            )
        )
        session.commit()
    [delivery] = http.get(f"/api/webhooks/{webhook}/deliveries", headers=alice.headers).json["items"]
    assert delivery["event_id"] == str(event_id)
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("pending", 2, 503)
    assert http.delete(f"/api/webhooks/{webhook}", headers=alice.headers).status_code == 204
    assert http.get(f"/api/webhooks/{webhook}/deliveries", headers=alice.headers).status_code == 404
    with Session(engine) as session:
        assert session.get(WebhookDelivery, uuid.UUID(delivery["id"])) is None
