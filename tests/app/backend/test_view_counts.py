"""Views: one per viewer per UTC day, by an insert a repeat leaves alone; the owner's views by day."""

from __future__ import annotations

from datetime import date, timedelta
from unittest import mock

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.backend import view_counts
from app.backend.models import VideoView, utcnow
from tests.app.backend.conftest import Caller, Platform

SECRET = view_counts.view_key_secret(b"t" * 32)
DAY = date(2026, 12, 3)


def test_a_viewer_key_names_neither_the_user_nor_the_address_and_changes_with_the_day() -> None:
    user = view_counts.viewer_key(SECRET, DAY, "sub-1", "198.51.100.7", "ua")
    anonymous = view_counts.viewer_key(SECRET, DAY, None, "198.51.100.7", "ua")
    assert user == view_counts.viewer_key(SECRET, DAY, "sub-1", "203.0.113.9", "other ua")
    assert "sub-1" not in user and "198.51.100.7" not in anonymous
    assert anonymous != view_counts.viewer_key(SECRET, DAY, None, "198.51.100.7", "another ua")
    assert user != view_counts.viewer_key(SECRET, DAY + timedelta(days=1), "sub-1", "198.51.100.7", "ua")
    assert user != view_counts.viewer_key(view_counts.view_key_secret(b"u" * 32), DAY, "sub-1", "", "")
    assert SECRET != b"t" * 32  # derived, not the ticket secret itself


def _view(platform: Platform, video_id: str, caller: Caller | None = None, ua: str = "browser") -> bool:
    headers = {"User-Agent": ua, **(caller.headers if caller else {})}
    response = platform.http.post(f"/api/videos/{video_id}/views", headers=headers)
    assert response.status_code == 200, response.json
    return bool(response.json["counted"])


def test_a_view_counts_once_per_viewer_per_day(platform: Platform, alice: Caller, bob: Caller) -> None:
    video_id = platform.ready(alice)
    assert _view(platform, video_id, bob) and not _view(platform, video_id, bob, ua="another browser")
    assert _view(platform, video_id) and not _view(platform, video_id)
    assert _view(platform, video_id, ua="another browser")
    assert platform.http.get(f"/api/videos/{video_id}").json["views"] == 3
    with Session(platform.engine) as session:
        keys = list(session.scalars(select(VideoView.viewer_key)))
    assert bob.sub not in "".join(keys)

    tomorrow = utcnow() + timedelta(days=1)
    with mock.patch("app.backend.api.views.utcnow", return_value=tomorrow):
        assert _view(platform, video_id, bob)
    assert platform.http.get(f"/api/videos/{video_id}").json["views"] == 4


def test_only_a_ready_video_the_caller_sees_is_viewed(platform: Platform, alice: Caller, bob: Caller) -> None:
    private = platform.ready(alice, visibility="private")
    assert platform.http.post(f"/api/videos/{private}/views", headers=bob.headers).status_code == 404
    assert platform.http.post(f"/api/videos/{private}/views", headers=alice.headers).status_code == 200
    queued = platform.queue(alice)
    response = platform.http.post(f"/api/videos/{queued}/views", headers=alice.headers)
    assert response.status_code == 409 and response.json["error"]["code"] == "not_ready"


def test_the_owner_sees_views_by_day_and_no_one_else(platform: Platform, alice: Caller, bob: Caller) -> None:
    video_id = platform.ready(alice)
    now = utcnow()
    for days_ago, viewers in ((2, 3), (0, 1)):
        with mock.patch("app.backend.api.views.utcnow", return_value=now - timedelta(days=days_ago)):
            for n in range(viewers):
                assert _view(platform, video_id, ua=f"browser {n}")

    url = f"/api/videos/{video_id}/views"
    history = platform.http.get(url, query_string={"days": 3}, headers=alice.headers)
    assert history.status_code == 200
    today = now.date()
    assert history.json == {
        "total": 4,
        "days": [
            {"day": (today - timedelta(days=2)).isoformat(), "views": 3},
            {"day": (today - timedelta(days=1)).isoformat(), "views": 0},
            {"day": today.isoformat(), "views": 1},
        ],
    }
    assert len(platform.http.get(url, headers=alice.headers).json["days"]) == 30
    assert platform.http.get(url, headers=bob.headers).status_code == 403
    assert platform.http.get(url).status_code == 401
    too_many = platform.http.get(url, query_string={"days": 91}, headers=alice.headers)
    assert too_many.status_code == 422
