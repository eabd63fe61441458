"""Channels and subscriptions in the web app, in Chromium against the whole local platform: a viewer
finds a channel from a video's owner name, subscribes, and sees the channel's next upload in the
subscriptions feed."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.client import (
    AuthedSession,
    create_video,
    new_address,
    signup_confirm_login,
    upload_via_presigned_post,
)
from tests.e2e.test_web_app import (
    LAPTOP,
    PHONE,
    clip,  # noqa: F401 - a fixture of this module too
    csp_refusals,  # noqa: F401 - a fixture of this module too
    log_in,
    page,  # noqa: F401 - a fixture of this module too
    page_problems,
    wait_until_ready,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PASSWORD = "Corr3ct-Horse-Battery!"
TIMEOUT = 30


def upload(platform: Any, creator: AuthedSession, clip_path: Path, title: str) -> str:
    created = create_video(platform, creator, title=title, visibility="public")
    upload_via_presigned_post(created["upload"], clip_path, "video/mp4")
    assert creator.post(f"{platform.base_url}/api/videos/{created['id']}/uploaded", timeout=TIMEOUT).ok
    wait_until_ready(platform, creator, created["id"])
    return str(created["id"])


def a11y_problems(tab: Page, pages: list[tuple[str, str]]) -> dict[str, list[str]]:
    """``page_problems`` of each page at a laptop's and a phone's width, in light and dark."""
    problems: dict[str, list[str]] = {}
    for scheme in ("light", "dark"):
        tab.emulate_media(color_scheme=scheme)
        for viewport in (LAPTOP, PHONE):
            tab.set_viewport_size(viewport)
            for path, heading in pages:
                found = page_problems(tab, path, heading, viewport)
                if found:
                    problems[f"{path} at {viewport['width']} px, {scheme}"] = found
    tab.emulate_media(color_scheme="light")
    tab.set_viewport_size(LAPTOP)
    return problems


def test_a_viewer_subscribes_to_a_channel_and_sees_its_next_upload_in_the_subscriptions_feed(
    page: Page,  # noqa: F811 - the imported fixture
    platform: Any,
    clip: Path,  # noqa: F811
) -> None:
    creator = signup_confirm_login(platform, new_address(platform, "creator"), PASSWORD)
    name = f"Channel Maker {uuid.uuid4().hex[:6]}"
    assert creator.patch(f"{platform.base_url}/api/me", json={"display_name": name}, timeout=TIMEOUT).ok
    first_title = f"First upload {uuid.uuid4().hex[:6]}"
    first = upload(platform, creator, clip, first_title)
    channel = f"/#/channels/{creator.get(f'{platform.base_url}/api/me', timeout=TIMEOUT).json()['id']}"
    viewer_email = new_address(platform, "viewer")
    signup_confirm_login(platform, viewer_email, PASSWORD)

    # Anonymous visitors find the video in the feed, its owner's channel from its page, and are
    # asked to log in to subscribe.
    page.goto("/#/")
    page.get_by_role("link", name=first_title).click()
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_focused()
    expect(page.get_by_role("link", name=first_title)).to_be_visible()
    expect(page.locator("main")).to_contain_text("0 subscribers")
    expect(page.get_by_role("button", name="Subscribe", exact=True)).to_have_count(0)
    anonymous = a11y_problems(page, [(channel, name)])

    log_in(page, viewer_email, PASSWORD)
    page.goto(f"/#/videos/{first}")
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_focused()
    subscribe = page.get_by_role("button", name="Subscribe", exact=True)
    expect(subscribe).to_have_attribute("aria-pressed", "false")
    subscribe.click()
    expect(subscribe).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("status").filter(has_text="subscriber")).to_have_text("1 subscriber")
    expect(subscribe).to_be_focused()

    page.get_by_role("link", name="Subscriptions", exact=True).click()
    expect(page.get_by_role("heading", name="Subscriptions", level=1)).to_be_focused()
    expect(
        page.get_by_role("region", name="Channels you follow").get_by_role("link", name=name)
    ).to_be_visible()
    feed = page.locator(".video-grid")
    expect(feed.get_by_role("heading", level=2).first).to_have_text(first_title)

    next_title = f"Next upload {uuid.uuid4().hex[:6]}"
    upload(platform, creator, clip, next_title)
    page.reload()
    expect(feed.get_by_role("heading", level=2)).to_have_text([next_title, first_title])
    feed.get_by_role("link", name=next_title).click()
    expect(page.get_by_role("heading", name=next_title, level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Subscribe", exact=True)).to_have_attribute("aria-pressed", "true")

    member = a11y_problems(
        page,
        [
            (channel, name),
            ("/#/subscriptions", "Subscriptions"),
            (f"/#/videos/{first}", first_title),
        ],
    )
    problems = anonymous | member
    assert not problems, "\n".join(f"{where}: {found}" for where, found in problems.items())
