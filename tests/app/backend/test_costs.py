"""Issue 15, item 6: what a video's transcode cost its owner's stack, and the stack's cost per
minute transcoded, priced from each transcode's recorded usage and the stack's prices."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.backend import AwsClients, create_app
from app.backend.status_consumer import record_event
from app.contracts.messages import ProgressEventV1, TranscodeUsage
from app.contracts.roles import Role
from app.contracts.settings import BackendSettings
from tests.app.backend.conftest import (
    Caller,
    LocalResources,
    Platform,
    backend_settings,
    ready_event,
    sign_up,
)
from tests.app.backend.test_moderation import granted

PRICES = {"price_cpu_hour_on_demand": "0.36", "price_cpu_hour_spot": "0.09", "price_gb_month_stored": "0.02"}


@pytest.fixture
def priced(
    local_resources: LocalResources, database_url: str, engine: Engine, aws: AwsClients, platform: Platform
) -> FlaskClient:
    """The API of a stack configured with PRICES (the platform fixture's rows, another app)."""
    settings: BackendSettings = backend_settings(local_resources, database_url, **PRICES)
    return create_app(settings, aws=aws, engine=engine).test_client()


@pytest.fixture(scope="module")
def admin(backend_resources: LocalResources) -> Caller:
    sign_up(backend_resources, "cost-admin@example.com")
    return granted(backend_resources, "cost-admin@example.com", Role.ADMIN)


def _transcoded(
    platform: Platform, caller: Caller, usage: TranscodeUsage | None, seconds: float = 10.0
) -> str:
    video_id = platform.queue(caller)
    event = ready_event(video_id, platform.task_id(video_id), sequence=5)
    assert event.outputs is not None
    outputs = event.outputs.model_copy(update={"usage": usage, "duration_seconds": seconds})
    with Session(platform.engine) as session:
        assert record_event(session, ProgressEventV1(**{**dict(event), "outputs": outputs}))
    return video_id


SPOT = TranscodeUsage(
    cpu_seconds=40.0,
    instance_type="c7g.large",
    purchase_option="spot",
    bytes_written=3_000_000,
    bytes_stored=5_000_000,
)


def test_the_owner_sees_what_transcoding_the_video_cost_at_the_stacks_prices(
    platform: Platform, priced: FlaskClient, alice: Caller, bob: Caller
) -> None:
    video_id = _transcoded(platform, alice, SPOT)

    response = priced.get(f"/api/videos/{video_id}/cost", headers=alice.headers)

    assert response.status_code == 200, response.json
    cost = response.json["cost"]
    assert cost["cpu_seconds"] == 40.0
    assert (cost["instance_type"], cost["purchase_option"]) == ("c7g.large", "spot")
    assert (cost["bytes_written"], cost["bytes_stored"]) == (3_000_000, 5_000_000)
    assert cost["processing_usd"] == pytest.approx(40 / 3600 * 0.09)  # the spot price
    assert cost["storage_usd_per_month"] == pytest.approx(0.005 * 0.02)
    assert priced.get(f"/api/videos/{video_id}/cost", headers=bob.headers).status_code == 403
    assert priced.get(f"/api/videos/{video_id}/cost").status_code == 401


def test_a_video_without_recorded_usage_has_no_cost_and_a_retry_forgets_the_old_one(
    platform: Platform, priced: FlaskClient, alice: Caller
) -> None:
    queued = platform.queue(alice)
    old_worker = _transcoded(platform, alice, None)
    for video_id in (queued, old_worker):
        response = priced.get(f"/api/videos/{video_id}/cost", headers=alice.headers)
        assert response.status_code == 200 and response.json["cost"] is None, response.json
    row = platform.row(old_worker)
    assert row is not None and row.transcode_cpu_seconds is None


def test_the_admin_sees_the_cost_per_minute_transcoded_per_instance_type_and_purchase_option(
    platform: Platform, priced: FlaskClient, alice: Caller, admin: Caller
) -> None:
    _transcoded(platform, alice, SPOT, seconds=60.0)
    _transcoded(platform, alice, SPOT, seconds=120.0)
    _transcoded(
        platform, alice, TranscodeUsage(cpu_seconds=36.0, bytes_written=1, bytes_stored=1), seconds=30.0
    )
    _transcoded(platform, alice, None)  # unknown usage: left out, not counted as free

    response = priced.get("/api/admin/costs", headers=admin.headers)

    assert response.status_code == 200, response.json
    body = response.json
    assert body["prices"] == {"cpu_hour_on_demand": 0.36, "cpu_hour_spot": 0.09, "gb_month_stored": 0.02}
    fleets = {(f["instance_type"], f["purchase_option"]): f for f in body["fleets"]}
    assert set(fleets) == {("c7g.large", "spot"), (None, None)}
    spot, local = fleets["c7g.large", "spot"], fleets[None, None]
    assert (spot["videos"], spot["minutes_transcoded"], spot["cpu_seconds"]) == (2, 3.0, 80.0)
    assert spot["processing_usd_per_minute"] == pytest.approx(80 / 3600 * 0.09 / 3)
    assert local["processing_usd"] == pytest.approx(36 / 3600 * 0.36)  # off EC2: the on-demand price
    assert body["minutes_transcoded"] == 3.5
    assert body["processing_usd_per_minute"] == pytest.approx((80 / 3600 * 0.09 + 0.0036) / 3.5)
    assert priced.get("/api/admin/costs", headers=alice.headers).status_code == 403


def test_the_default_prices_are_the_settings_defaults(platform: Platform, admin: Caller) -> None:
    body = platform.http.get("/api/admin/costs", headers=admin.headers).json
    fields = BackendSettings.model_fields
    assert body["prices"]["cpu_hour_on_demand"] == fields["price_cpu_hour_on_demand"].default
    assert body["fleets"] == [] and body["processing_usd_per_minute"] is None
