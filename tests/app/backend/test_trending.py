"""Trending: the feed's videos by 3 * likes + views of the last 7 days, with the feed's visibility rules."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.backend.models import Like, Video, utcnow
from app.backend.videos import TRENDING_LIKE_WEIGHT, TRENDING_WINDOW
from tests.app.backend.conftest import Caller, Platform


def _views(platform: Platform, video_id: str, count: int) -> None:
    for n in range(count):
        response = platform.http.post(f"/api/videos/{video_id}/views", headers={"User-Agent": f"ua {n}"})
        assert response.json == {"counted": True}


def _trending(platform: Platform, **query: object) -> list[str]:
    response = platform.http.get("/api/videos", query_string={"order": "trending", **query})
    assert response.status_code == 200 and response.json["next_cursor"] is None
    return [item["id"] for item in response.json["items"]]


def test_trending_orders_by_recent_likes_and_views(platform: Platform, alice: Caller, bob: Caller) -> None:
    assert TRENDING_LIKE_WEIGHT == 3
    viewed, liked, both, quiet = (
        platform.ready(alice, title) for title in ("viewed", "liked", "both", "quiet")
    )
    _views(platform, viewed, 4)  # 4
    platform.http.put(f"/api/videos/{liked}/like", headers=bob.headers)  # 3
    _views(platform, both, 2)
    platform.http.put(f"/api/videos/{both}/like", headers=alice.headers)  # 5
    assert _trending(platform) == [both, viewed, liked]
    assert _trending(platform, limit=2) == [both, viewed]
    assert _trending(platform, q="like") == [liked]
    assert quiet not in _trending(platform)

    # A like older than the window no longer counts.
    with Session(platform.engine) as session:
        session.execute(
            update(Like)
            .where(Like.video_id == uuid.UUID(liked))
            .values(created_at=utcnow() - TRENDING_WINDOW - timedelta(hours=1))
        )
        session.commit()
    assert _trending(platform) == [both, viewed]


def test_trending_leaves_out_what_the_feed_leaves_out(platform: Platform, alice: Caller) -> None:
    public = platform.ready(alice)
    private = platform.ready(alice, visibility="private")
    unlisted = platform.ready(alice, visibility="unlisted")
    hidden = platform.ready(alice)
    suspended = platform.ready(alice)
    for video_id in (public, private, unlisted, hidden, suspended):
        platform.http.put(f"/api/videos/{video_id}/like", headers=alice.headers)
    with Session(platform.engine) as session:
        session.execute(update(Video).where(Video.id == uuid.UUID(hidden)).values(hidden_at=utcnow()))
        session.execute(
            update(Video).where(Video.id == uuid.UUID(suspended)).values(owner_suspended_at=utcnow())
        )
        session.commit()
    assert _trending(platform) == [public]


def test_trending_is_one_page_and_refuses_a_cursor(platform: Platform, alice: Caller) -> None:
    newest = platform.http.get("/api/videos", query_string={"limit": 1})
    platform.ready(alice)
    platform.ready(alice)
    cursor = platform.http.get("/api/videos", query_string={"limit": 1}).json["next_cursor"]
    assert newest.status_code == 200 and cursor
    response = platform.http.get("/api/videos", query_string={"order": "trending", "cursor": cursor})
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_cursor"
