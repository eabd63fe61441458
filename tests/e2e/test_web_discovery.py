"""Tags, views and trending in the web app, in Chromium against the whole local platform: the owner
tags a video, its tag links to a tag page listing it, playing it counts a view, trending lists it;
axe-core's rules on those pages, and no sideways scrolling at 390 px."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.e2e.client import create_video, new_address, signup_confirm_login, upload_via_presigned_post
from tests.e2e.test_authorization_matrix import wait_until_ready
from tests.e2e.test_web_app import (  # noqa: F401 - clip and page are fixtures of this module too
    PHONE,
    axe_violations,
    clip,
    csp_refusals,
    heading_levels,
    log_in,
    page,
    play_until_time_advances,
    settled,
    sideways_overflow,
    skipped_levels,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PASSWORD = "Corr3ct-Horse-Battery!"
TIMEOUT = 30
TRENDING_VIEWS = 60


def accessible(page: Page) -> list[str]:  # noqa: F811 - a page, not the fixture
    """axe-core's violations and skipped heading levels of the page as it stands."""
    skipped = skipped_levels(heading_levels(page))
    return axe_violations(page) + ([f"heading levels skipped: {skipped}"] if skipped else [])


def test_a_tag_links_to_its_page_a_play_counts_a_view_and_trending_lists_the_video(
    page: Page,  # noqa: F811 - the imported fixture
    platform: Any,
    clip: Path,  # noqa: F811
) -> None:
    email = new_address(platform, "tagger")
    owner = signup_confirm_login(platform, email, PASSWORD)
    title = f"Boats at dusk {uuid.uuid4().hex[:6]}"
    tag = f"boats-{uuid.uuid4().hex[:6]}"
    created = create_video(platform, owner, title=title, visibility="public")
    upload_via_presigned_post(created["upload"], clip, "video/mp4")
    assert owner.post(f"{platform.base_url}/api/videos/{created['id']}/uploaded", timeout=TIMEOUT).ok
    wait_until_ready(platform, owner, [created["id"]])

    log_in(page, email, PASSWORD)
    page.goto(f"/#/videos/{created['id']}")
    settled(page, title)
    meta = page.locator("main .meta").first
    expect(meta).to_contain_text("0 views")
    page.get_by_role("textbox", name="Tags").fill(f"{tag.upper()}, harbour")
    page.get_by_role("button", name="Save tags").click()
    expect(page.get_by_role("textbox", name="Tags")).to_have_value(f"{tag}, harbour")
    tag_link = page.get_by_role("list", name="Tags").get_by_role("link", name=f"#{tag}")
    expect(tag_link).to_be_visible()

    play_until_time_advances(page)
    expect(meta).to_contain_text("1 view")
    page.get_by_role("button", name="Like").click()
    expect(page.get_by_role("button", name="Like")).to_have_attribute("aria-pressed", "true")
    page.reload()
    settled(page, title)
    expect(page.locator("main .meta").first).to_contain_text("1 view")
    views = page.get_by_role("region", name="Views in the last 14 days")
    expect(views).to_contain_text("1 view in all.")
    problems = {"video": accessible(page)}

    page.get_by_role("list", name="Tags").get_by_role("link", name=f"#{tag}").click()
    settled(page, f"Videos tagged #{tag}")
    card = page.locator(".video-card", has_text=title)
    expect(card).to_have_count(1)
    expect(card).to_contain_text("1 view")
    expect(card.get_by_role("link", name="#harbour")).to_be_visible()
    problems["tag page"] = accessible(page)

    # Other tests' videos on the shared platform are viewed and liked too: enough views of this
    # one (a viewer each: another User-Agent) put it on trending's first page whatever they did.
    for n in range(TRENDING_VIEWS):
        viewed = requests.post(
            f"{platform.base_url}/api/videos/{created['id']}/views",
            headers={"User-Agent": f"discovery viewer {n}"},
            timeout=TIMEOUT,
        )
        assert viewed.json() == {"counted": True}, viewed.text
    page.get_by_role("link", name="Trending").click()
    settled(page, "Trending")
    expect(page.locator(".video-card", has_text=title)).to_have_count(1)
    problems["trending"] = accessible(page)

    # At a phone's width, no page scrolls sideways (the owner's views table included).
    page.set_viewport_size(PHONE)
    for path, heading in ((f"/#/videos/{created['id']}", title), (f"/#/tags/{tag}", f"Videos tagged #{tag}")):
        page.goto(path)
        settled(page, heading)
        problems[f"{path} at 390 px"] = sideways_overflow(page)

    # Signed out, the same pages show the same video.
    page.get_by_role("button", name="Log out").click()
    page.goto(f"/#/tags/{tag}")
    settled(page, f"Videos tagged #{tag}")
    expect(page.locator(".video-card", has_text=title)).to_have_count(1)
    assert not any(problems.values()), problems
