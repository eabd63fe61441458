"""Moderation in the web app, in Chromium against the whole local platform: a user reports a video,
a moderator hides it, it vanishes for everyone but its owner (who sees why), the moderator restores it."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from app.backend.answer_cache import ANONYMOUS_ANSWER_SECONDS
from app.contracts.roles import Role
from tests.e2e.client import create_video, new_address, signup_confirm_login, upload_via_presigned_post
from tests.e2e.test_authorization_matrix import wait_until_ready, with_role
from tests.e2e.test_web_app import clip, csp_refusals, log_in, page  # noqa: F401 - fixtures of this module too

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.local_only]
PASSWORD = "Corr3ct-Horse-Battery!"
TIMEOUT = 30


def appears(platform: Any, video_id: str, playlist_id: str, playback_url: str) -> dict[str, bool]:
    """Where an anonymous visitor finds the video: feed, search, the playlist, its media."""
    base = platform.base_url
    feed = requests.get(f"{base}/api/videos", timeout=TIMEOUT).json()["items"]
    search = requests.get(f"{base}/api/videos", params={"q": "Moderated clip"}, timeout=TIMEOUT).json()[
        "items"
    ]
    playlist = requests.get(f"{base}/api/playlists/{playlist_id}", timeout=TIMEOUT).json()["items"]
    return {
        "feed": video_id in [v["id"] for v in feed],
        "search": video_id in [v["id"] for v in search],
        "playlist": video_id in [v["id"] for v in playlist],
        "media": requests.get(playback_url, timeout=TIMEOUT).status_code == 200,
    }


def test_a_reported_video_hidden_by_a_moderator_vanishes_until_restored(
    page: Page,  # noqa: F811 - the imported fixture
    platform: Any,
    clip: Path,  # noqa: F811
) -> None:
    base = platform.base_url
    owner = signup_confirm_login(platform, new_address(platform, "uploader"), PASSWORD)
    title = f"Moderated clip {uuid.uuid4().hex[:6]}"
    created = create_video(platform, owner, title=title, visibility="public")
    upload_via_presigned_post(created["upload"], clip, "video/mp4")
    assert owner.post(f"{base}/api/videos/{created['id']}/uploaded", timeout=TIMEOUT).status_code == 202
    video_id = created["id"]
    wait_until_ready(platform, owner, [video_id])
    playlist = owner.post(
        f"{base}/api/playlists", json={"title": "Showcase", "visibility": "public"}, timeout=TIMEOUT
    ).json()["id"]
    assert (
        owner.post(
            f"{base}/api/playlists/{playlist}/items", json={"video_id": video_id}, timeout=TIMEOUT
        ).status_code
        == 201
    )
    reporter_email = new_address(platform, "reporter")
    signup_confirm_login(platform, reporter_email, PASSWORD)
    moderator_email = new_address(platform, "moderator")
    signup_confirm_login(platform, moderator_email, PASSWORD)
    with_role(platform, moderator_email, Role.MODERATOR)
    playback_url = requests.get(f"{base}/api/videos/{video_id}", timeout=TIMEOUT).json()["playback_url"]
    assert appears(platform, video_id, playlist, playback_url) == dict.fromkeys(
        ("feed", "search", "playlist", "media"), True
    )

    log_in(page, reporter_email, PASSWORD)
    page.goto(f"/#/videos/{video_id}")
    page.get_by_text("Report video").click()
    page.get_by_label("Why report this video?").fill("This is spam")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_text("Reported. Thank you")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    log_in(page, moderator_email, PASSWORD)
    page.get_by_role("link", name="Moderation").click()
    report = page.locator(".report-item", has_text=title).first
    expect(report).to_contain_text("This is spam")
    report.get_by_label("Moderator's reason").fill("Spam, per the report")
    report.get_by_role("button", name="Hide video").click()
    expect(page.get_by_text("Done: hide.")).to_be_visible()

    # The grants already handed out are cut at the edge within its revocation check, and the
    # feed and search answers kept for anonymous readers expire within ANONYMOUS_ANSWER_SECONDS.
    deadline = time.monotonic() + TIMEOUT
    while any(appears(platform, video_id, playlist, playback_url).values()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert appears(platform, video_id, playlist, playback_url) == dict.fromkeys(
        ("feed", "search", "playlist", "media"), False
    )
    page.goto("/#/")
    expect(page.get_by_role("heading", name="Latest videos")).to_be_visible()
    expect(page.get_by_text(title)).to_have_count(0)
    page.get_by_role("button", name="Log out").click()

    log_in(page, owner.email, PASSWORD)
    page.goto(f"/#/videos/{video_id}")
    expect(page.get_by_text("Hidden by a moderator")).to_contain_text("Spam, per the report")
    page.get_by_role("button", name="Log out").click()

    log_in(page, moderator_email, PASSWORD)
    page.get_by_role("link", name="Moderation").click()
    resolved = page.locator(".report-item", has_text=title).first
    resolved.get_by_label("Moderator's reason").fill("Not spam after all")
    resolved.get_by_role("button", name="Restore video").click()
    expect(page.get_by_text("Done: restore.")).to_be_visible()
    deadline = time.monotonic() + ANONYMOUS_ANSWER_SECONDS + TIMEOUT
    listed = ("feed", "search", "playlist")  # the media grant handed out before stays revoked
    while time.monotonic() < deadline:
        shown = appears(platform, video_id, playlist, playback_url)
        if all(shown[where] for where in listed):
            break
        time.sleep(0.5)
    assert [shown[where] for where in listed] == [True, True, True]


def test_a_suspended_user_who_logs_in_is_told_the_account_is_suspended(
    page: Page,  # noqa: F811 - the imported fixture
    platform: Any,
) -> None:
    """An admin's suspension disables the user at the pool, and Cognito answers their login
    NotAuthorizedException "User is disabled." (the code of a wrong password; see
    tests/app/users/test_handler.py): the login form says the account is suspended, not that the
    password is wrong."""
    base = platform.base_url
    email = new_address(platform, "suspended")
    user = signup_confirm_login(platform, email, PASSWORD)
    user_id = user.get(f"{base}/api/me", timeout=TIMEOUT).json()["id"]
    admin = with_role(
        platform,
        signup_confirm_login(platform, new_address(platform, "admin"), PASSWORD).email,
        Role.ADMIN,
    )
    suspension = admin.post(
        f"{base}/api/admin/users/{user_id}/suspend", json={"reason": "spam"}, timeout=TIMEOUT
    )
    assert suspension.status_code == 200, suspension.text

    page.goto("/#/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Your account is suspended: an administrator has suspended it, so you cannot log in."
    )
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
