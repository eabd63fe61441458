"""Video tags: validated and normalised, owner-only, shown with the video, and a tag page of the feed's videos."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.backend.models import TAG_MAX, TAGS_PER_VIDEO_MAX, Video
from app.backend.tags import normalise_tag
from tests.app.backend.conftest import Caller, Platform


@pytest.mark.parametrize(
    ("raw", "tag"), [("Cats", "cats"), ("how-to", "how-to"), ("4K", "4k"), ("a" * TAG_MAX, "a" * TAG_MAX)]
)
def test_a_tag_is_stored_lowercase(raw: str, tag: str) -> None:
    assert normalise_tag(raw) == tag


@pytest.mark.parametrize(
    "raw",
    ["", "a" * (TAG_MAX + 1), "-cats", "cats-", "two words", "c#", "caf\u00e9", "\u212a", "cats\x00", "a_b"],
)
def test_what_cannot_be_a_tag_is_refused(raw: str) -> None:
    """Among them the Kelvin sign, which ``str.lower`` would turn into an ASCII ``k``."""
    with pytest.raises(ValueError):
        normalise_tag(raw)


def test_owners_set_tags_normalised_and_without_repeats_and_others_cannot(
    platform: Platform, alice: Caller, bob: Caller
) -> None:
    video_id = platform.create(alice, tags=["Cats", "funny", "cats"])
    body = platform.http.get(f"/api/videos/{video_id}", headers=alice.headers).json
    assert body["tags"] == ["cats", "funny"]

    url = f"/api/videos/{video_id}"
    changed = platform.http.patch(url, json={"tags": ["Dogs", "how-to"]}, headers=alice.headers)
    assert changed.status_code == 200 and changed.json["tags"] == ["dogs", "how-to"]
    assert platform.http.patch(url, json={"tags": ["x"]}, headers=bob.headers).status_code == 403
    cleared = platform.http.patch(url, json={"tags": []}, headers=alice.headers)
    assert cleared.json["tags"] == []


@pytest.mark.parametrize(
    "tags",
    [["bad tag"], [f"t{n}" for n in range(TAGS_PER_VIDEO_MAX + 1)], ["a" * (TAG_MAX + 1)], None],
)
def test_invalid_tags_are_a_422_and_change_nothing(platform: Platform, alice: Caller, tags: object) -> None:
    video_id = platform.create(alice, tags=["kept"])
    response = platform.http.patch(f"/api/videos/{video_id}", json={"tags": tags}, headers=alice.headers)
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_error"
    assert platform.http.get(f"/api/videos/{video_id}", headers=alice.headers).json["tags"] == ["kept"]


def _hide(platform: Platform, video_id: str) -> None:
    with Session(platform.engine) as session:
        session.execute(
            update(Video)
            .where(Video.id == uuid.UUID(video_id))
            .values(hidden_at=datetime.now(UTC), hidden_reason="spam")
        )
        session.commit()


def test_the_tag_page_lists_the_feeds_videos_with_the_tag_newest_first_a_page_at_a_time(
    platform: Platform, alice: Caller
) -> None:
    shown = [platform.ready(alice, f"clip {n}", tags=["Cats"]) for n in range(3)]
    platform.ready(alice, "untagged")
    platform.ready(alice, "other tag", tags=["dogs"])
    platform.ready(alice, "private", tags=["cats"], visibility="private")
    platform.ready(alice, "unlisted", tags=["cats"], visibility="unlisted")
    platform.queue(alice, "not ready", tags=["cats"])
    _hide(platform, platform.ready(alice, "hidden", tags=["cats"]))

    seen: list[str] = []
    cursor = ""
    for _ in range(4):
        # The owner too sees only what everyone sees here, and the tag in any case.
        page = platform.http.get(
            "/api/tags/CATS", query_string={"limit": 2, "cursor": cursor}, headers=alice.headers
        ).json
        seen += [item["id"] for item in page["items"]]
        assert all(item["tags"] == ["cats"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == shown[::-1]


def test_the_tag_page_of_what_cannot_be_a_tag_is_a_422(platform: Platform) -> None:
    response = platform.http.get("/api/tags/no%20spaces")
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_error"
