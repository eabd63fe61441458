"""Channels (a user's public videos and subscriber count), subscriptions (idempotent, never to
oneself) and the subscriptions feed, with the hidden and suspended content rules of the rest of the API."""

from __future__ import annotations

import uuid

from flask import Flask

from app.local.provision import LocalResources
from tests.app.backend.conftest import Caller, Platform, post_at_once, sign_up
from tests.app.backend.test_moderation import admin, moderator  # noqa: F401 (fixtures)


def _ids(response_json: dict[str, list[dict[str, str]]]) -> list[str]:
    return [item["id"] for item in response_json["items"]]


def test_a_channel_shows_the_public_name_and_only_public_ready_videos_newest_first(
    platform: Platform, alice: Caller, bob: Caller
) -> None:
    older = platform.ready(alice, title="older")
    newer = platform.ready(alice, title="newer")
    platform.ready(alice, title="private", visibility="private")
    platform.ready(alice, title="unlisted", visibility="unlisted")
    platform.create(alice, title="still uploading")
    platform.ready(bob, title="bob's")
    name = platform.http.get("/api/me", headers=alice.headers).json["public_name"]

    channel = platform.http.get(f"/api/channels/{alice.sub}")
    assert channel.status_code == 200
    assert channel.json == {"id": alice.sub, "public_name": name, "subscribers": 0, "subscribed_by_me": False}
    for caller in (None, bob, alice):
        headers = caller.headers if caller else {}
        videos = platform.http.get(f"/api/channels/{alice.sub}/videos", headers=headers).json
        assert _ids(videos) == [newer, older] and videos["next_cursor"] is None

    first = platform.http.get(f"/api/channels/{alice.sub}/videos?limit=1").json
    second = platform.http.get(f"/api/channels/{alice.sub}/videos?limit=1&cursor={first['next_cursor']}").json
    assert (_ids(first), _ids(second), second["next_cursor"]) == ([newer], [older], None)
    unknown = platform.http.get("/api/channels/nobody")
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "not_found"
    assert platform.http.get("/api/channels/nobody/videos").status_code == 404


def test_subscribing_is_idempotent_counted_and_never_to_oneself(
    platform: Platform, alice: Caller, bob: Caller
) -> None:
    platform.http.get("/api/me", headers=alice.headers)  # alice's row: her channel exists
    subscription = f"/api/channels/{alice.sub}/subscription"
    assert platform.http.put(subscription).status_code == 401
    followed = {"id": alice.sub, "subscribers": 1, "subscribed_by_me": True}
    for _ in range(2):
        answer = platform.http.put(subscription, headers=bob.headers)
        assert answer.status_code == 200 and followed.items() <= answer.json.items()
    assert platform.http.get(f"/api/channels/{alice.sub}", headers=bob.headers).json["subscribed_by_me"]
    assert platform.http.get(f"/api/channels/{alice.sub}").json["subscribers"] == 1

    own = platform.http.put(subscription, headers=alice.headers)
    assert own.status_code == 409 and own.json["error"]["code"] == "cannot_subscribe_to_self"
    assert platform.http.put("/api/channels/nobody/subscription", headers=bob.headers).status_code == 404

    for _ in range(2):
        answer = platform.http.delete(subscription, headers=bob.headers)
        assert answer.status_code == 200
        assert (answer.json["subscribers"], answer.json["subscribed_by_me"]) == (0, False)


def test_concurrent_identical_subscriptions_make_one(
    platform: Platform, app: Flask, alice: Caller, bob: Caller
) -> None:
    platform.http.get("/api/me", headers=alice.headers)
    subscription = f"/api/channels/{alice.sub}/subscription"
    assert post_at_once(app, subscription, bob.headers, method="PUT") == [200] * 4
    assert platform.http.get(f"/api/channels/{alice.sub}").json["subscribers"] == 1


def test_the_subscriptions_feed_is_the_followed_channels_newest_public_videos(
    platform: Platform, backend_resources: LocalResources, alice: Caller, bob: Caller
) -> None:
    carol = sign_up(backend_resources, f"carol-{uuid.uuid4().hex[:8]}@example.com")
    for channel in (alice, carol):
        platform.http.get("/api/me", headers=channel.headers)
        platform.http.put(f"/api/channels/{channel.sub}/subscription", headers=bob.headers)
    assert platform.http.get("/api/me/subscriptions/videos", headers=bob.headers).json["items"] == []

    alices = platform.ready(alice, title="alice's")
    platform.ready(alice, title="alice's private", visibility="private")
    platform.ready(bob, title="bob's own")
    carols = platform.ready(carol, title="carol's")
    feed = "/api/me/subscriptions/videos"
    assert _ids(platform.http.get(feed, headers=bob.headers).json) == [carols, alices]
    first = platform.http.get(f"{feed}?limit=1", headers=bob.headers).json
    second = platform.http.get(f"{feed}?limit=1&cursor={first['next_cursor']}", headers=bob.headers).json
    assert (_ids(first), _ids(second), second["next_cursor"]) == ([carols], [alices], None)
    assert platform.http.get(feed, headers=alice.headers).json["items"] == []
    assert platform.http.get(feed).status_code == 401

    channels = platform.http.get("/api/me/subscriptions", headers=bob.headers).json
    assert [(c["id"], c["subscribers"], c["subscribed_by_me"]) for c in channels["items"]] == [
        (carol.sub, 1, True),
        (alice.sub, 1, True),
    ]
    page = platform.http.get("/api/me/subscriptions?limit=1", headers=bob.headers).json
    assert _ids(page) == [carol.sub] and page["next_cursor"]

    platform.http.delete(f"/api/channels/{carol.sub}/subscription", headers=bob.headers)
    assert _ids(platform.http.get(feed, headers=bob.headers).json) == [alices]


def test_hidden_videos_and_suspended_channels_leave_channels_and_the_subscriptions_feed(
    platform: Platform,
    backend_resources: LocalResources,
    alice: Caller,
    bob: Caller,
    moderator: Caller,  # noqa: F811
    admin: Caller,  # noqa: F811
) -> None:
    hidden = platform.ready(alice, title="hidden")
    shown = platform.ready(alice, title="shown")
    platform.http.put(f"/api/channels/{alice.sub}/subscription", headers=bob.headers)
    platform.http.post(
        f"/api/moderation/videos/{hidden}/hide", json={"reason": "spam"}, headers=moderator.headers
    )
    channel_videos = f"/api/channels/{alice.sub}/videos"
    assert _ids(platform.http.get(channel_videos, headers=bob.headers).json) == [shown]
    assert _ids(platform.http.get("/api/me/subscriptions/videos", headers=bob.headers).json) == [shown]
    own = platform.http.get(channel_videos, headers=alice.headers).json["items"]
    assert [(v["id"], v["hidden_reason"]) for v in own] == [(shown, None), (hidden, "spam")]

    dan = sign_up(backend_resources, f"dan-{uuid.uuid4().hex[:8]}@example.com")
    dans = platform.ready(dan, title="dan's")
    platform.http.put(f"/api/channels/{dan.sub}/subscription", headers=bob.headers)
    assert dans in _ids(platform.http.get("/api/me/subscriptions/videos", headers=bob.headers).json)
    suspended = platform.http.post(
        f"/api/admin/users/{dan.sub}/suspend", json={"reason": "spam"}, headers=admin.headers
    )
    assert suspended.status_code == 200
    for path in (f"/api/channels/{dan.sub}", f"/api/channels/{dan.sub}/videos"):
        assert platform.http.get(path, headers=bob.headers).status_code == 404
    assert platform.http.put(f"/api/channels/{dan.sub}/subscription", headers=bob.headers).status_code == 404
    assert _ids(platform.http.get("/api/me/subscriptions/videos", headers=bob.headers).json) == [shown]
    assert _ids(platform.http.get("/api/me/subscriptions", headers=bob.headers).json) == [alice.sub]
