"""Media grants reused within an expiry window: bounded lifetime, never one from before a revocation."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import jwt
import pytest
from flask import Flask

from app.backend.context import EXTENSION
from app.backend.media_grants import MediaGrants
from app.backend.models import Video, Visibility
from app.contracts.tickets import MEDIA_GRANT_MAX_SECONDS, GrantRevoked, verify_media_grant
from tests.app.backend.conftest import Caller, Platform, RecordedRevocations

KEY = b"k" * 48
WINDOW = 60
TTL = 900


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def shared_video(**fields: object) -> Video:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "visibility": Visibility.PUBLIC,
        "hidden_at": None,
        "owner_suspended_at": None,
        "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    return Video(**(values | fields))


def expires(grant: str) -> int:
    return int(jwt.decode(grant, options={"verify_signature": False})["exp"])


def test_a_shared_video_gets_one_grant_per_window() -> None:
    clock = Clock(1_000_020.5)
    grants = MediaGrants(KEY, window_seconds=WINDOW, clock=clock)
    video = shared_video()
    first = grants.grant(video, TTL)
    clock.now += 30
    assert grants.grant(video, TTL) == first
    clock.now += 30  # the next window
    assert grants.grant(video, TTL) != first


@pytest.mark.parametrize("offset", [0.0, 0.5, 1.0, 30.25, 59.0, 59.999])
def test_a_reused_grant_lives_at_least_its_lifetime_and_at_most_a_window_more(offset: float) -> None:
    window_start = 1_000_020.0
    clock = Clock(window_start)
    grants = MediaGrants(KEY, window_seconds=WINDOW, clock=clock)
    video = shared_video()
    grants.grant(video, TTL)  # signed at the window's start, handed out again below
    clock.now = window_start + offset
    remaining = expires(grants.grant(video, TTL)) - clock.now
    assert TTL < remaining <= TTL + WINDOW


def test_a_grant_signed_now_lives_at_least_its_lifetime() -> None:
    """Rounded down to the second, ``exp`` of a grant signed mid-second fell short of its lifetime."""
    clock = Clock(1_000_020.5)
    grants = MediaGrants(KEY, window_seconds=WINDOW, clock=clock)
    assert expires(grants.grant(shared_video(), TTL)) - clock.now > TTL


def test_no_grant_outlives_the_longest_lifetime_the_edge_keeps_epochs_for() -> None:
    """The edge drops a revocation epoch MEDIA_GRANT_MAX_SECONDS after it (app/backend/revocations.py)."""
    grants = MediaGrants(KEY, window_seconds=WINDOW)  # the real clock, which iat is read from
    claims = jwt.decode(
        grants.grant(shared_video(), MEDIA_GRANT_MAX_SECONDS), options={"verify_signature": False}
    )
    assert claims["exp"] - claims["iat"] <= MEDIA_GRANT_MAX_SECONDS


@pytest.mark.parametrize(
    "fields",
    [
        {"visibility": Visibility.PRIVATE},
        {"hidden_at": datetime(2026, 1, 2, tzinfo=UTC)},
        {"owner_suspended_at": datetime(2026, 1, 2, tzinfo=UTC)},
    ],
)
def test_a_video_only_its_owner_sees_gets_a_fresh_grant_each_time(fields: dict[str, object]) -> None:
    """Its owner, who made it private (again), needs a grant newer than the epoch just written."""
    clock = Clock(1_000_020.5)
    grants = MediaGrants(KEY, window_seconds=WINDOW, clock=clock)
    video = shared_video(**fields)
    first = grants.grant(video, TTL)
    time.sleep(0.002)  # a fresh grant's iat is the real clock's, to the millisecond
    assert grants.grant(video, TTL) != first


def test_a_changed_video_gets_a_new_grant_within_the_window() -> None:
    clock = Clock(1_000_020.5)
    grants = MediaGrants(KEY, window_seconds=WINDOW, clock=clock)
    video = shared_video()
    first = grants.grant(video, TTL)
    video.updated_at = datetime(2026, 1, 3, tzinfo=UTC)
    time.sleep(0.002)  # signed again: a later iat, to the millisecond
    assert grants.grant(video, TTL) != first


def _feed_urls(platform: Platform) -> list[str]:
    return [item["playback_url"] for item in platform.http.get("/api/videos").json["items"]]


def test_feed_readers_within_a_window_get_the_same_media_urls(platform: Platform, alice: Caller) -> None:
    platform.ready(alice, "one")
    platform.ready(alice, "two")
    assert _feed_urls(platform) == _feed_urls(platform)


def test_a_video_shared_again_in_the_same_window_gets_a_grant_issued_after_the_epoch(
    platform: Platform, alice: Caller, app: Flask, revocations: RecordedRevocations
) -> None:
    key = app.extensions[EXTENSION].ticket_key
    video_id = platform.ready(alice)
    [before] = _feed_urls(platform)

    for visibility in ("private", "public"):
        changed = platform.http.patch(
            f"/api/videos/{video_id}", json={"visibility": visibility}, headers=alice.headers
        )
        assert changed.status_code == 200

    [epoch] = revocations.epochs[uuid.UUID(video_id)]
    [after] = _feed_urls(platform)
    grant_of = lambda url: url.removeprefix("http://127.0.0.1:8080/media/g/").split("/", 1)[0]  # noqa: E731
    with pytest.raises(GrantRevoked):
        verify_media_grant(key, grant_of(before), uuid.UUID(video_id), revoked_before_ms=epoch)
    verify_media_grant(key, grant_of(after), uuid.UUID(video_id), revoked_before_ms=epoch)
