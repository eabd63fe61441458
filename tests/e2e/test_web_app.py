"""The web app in Chromium against the whole local platform: a new user's first video, end to end."""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect, sync_playwright

from tests.e2e.client import confirmation_code, new_address, signup_confirm_login

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--no-first-run",
]
# As in browsers without a native HLS player, where the page must fall back to hls.js.
HIDE_NATIVE_HLS = (
    "const canPlay = HTMLMediaElement.prototype.canPlayType;"
    "HTMLMediaElement.prototype.canPlayType = function (type) {"
    "  return /mpegurl/i.test(type) ? '' : canPlay.call(this, type); };"
)
# Upper bounds for the slow steps, in milliseconds; they end waits early, they are not asserted.
TRANSCODE_MS = 120_000
PLAYBACK_MS = 30_000
UI_STEP_MS = 20_000


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-second 320x240 H.264/AAC clip."""
    path = tmp_path_factory.mktemp("web") / "clip.mp4"
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error",
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
            str(path),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip
    return path


@pytest.fixture
def page(platform: Any) -> Iterator[Page]:
    # Playwright's 5 s default is short for a UI step on 2 busy cores (two transcoders, moto,
    # the browser); a step that never happens still fails, later.
    expect.set_options(timeout=UI_STEP_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=platform.base_url)
            context.set_default_timeout(UI_STEP_MS)
            yield context.new_page()
        finally:
            browser.close()


def play_until_time_advances(page: Page) -> None:
    # play() before the player has attached its source (hls.js does so asynchronously) rejects.
    page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v && v.readyState >= 1; }",
        timeout=PLAYBACK_MS,
    )
    page.locator("video").evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v.readyState >= 2 && v.currentTime > 0; }",
        timeout=PLAYBACK_MS,
    )


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/#/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_new_user_signs_up_uploads_watches_live_progress_plays_comments_and_likes(
    page: Page, platform: Any, clip: Path
) -> None:
    email = new_address(platform, "web")
    password = f"Reel-{uuid.uuid4().hex[:8]}-Stack1"

    page.goto("/#/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Confirm your email")).to_be_visible()

    page.get_by_label("Confirmation code").fill(confirmation_code(platform, email))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(email)

    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    # Until a display name is chosen others see a pseudonym, never the email.
    page.get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Others see you as user-")
    page.get_by_label("Display name").fill("Web Tester")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")

    page.get_by_role("link", name="Upload").click()
    page.get_by_label("Video file").set_input_files(clip)
    page.get_by_label("Title").fill("Browser clip")
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_role("heading", name="Browser clip")).to_be_visible()
    state = page.locator(".transcode [role=status]")
    expect(state).to_have_attribute("data-state", "ready", timeout=TRANSCODE_MS)
    expect(page.get_by_role("progressbar", name="Transcoding progress")).to_have_attribute("value", "100")

    play_until_time_advances(page)

    page.get_by_label("Add a comment").fill("Looks great in the browser")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".comments li").first).to_contain_text("Looks great in the browser")
    expect(page.locator(".comments li .meta strong").first).to_have_text("Web Tester (you)")

    like = page.locator("button.like")
    expect(like).to_have_attribute("aria-pressed", "false")
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(like).to_contain_text("1")

    # What the page shows after a reload comes from the API, not from the page's memory.
    page.add_init_script(HIDE_NATIVE_HLS)
    page.reload()
    expect(page.locator("button.like")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".comments li").first).to_contain_text("Looks great in the browser")
    expect(page.locator(".comments li .meta strong").first).to_have_text("Web Tester (you)")

    # Without native HLS the same stream plays through hls.js (Media Source Extensions).
    play_until_time_advances(page)
    assert page.locator("video").evaluate("v => v.currentSrc").startswith("blob:")


def test_a_playlist_created_before_the_list_arrives_is_listed_once(page: Page, platform: Any) -> None:
    """The list's own answer also holds the new playlist: a full run showed it twice (it came late)."""
    email = new_address(platform, "early")
    password = f"Reel-{uuid.uuid4().hex[:8]}-Stack1"
    api = signup_confirm_login(platform, email, password)
    earlier = api.post(f"{platform.base_url}/api/playlists", json={"title": "Earlier list"}, timeout=10)
    assert earlier.status_code == 201, earlier.text
    log_in(page, email, password)
    held: list[Route] = []
    page.route(
        re.compile(r"/api/playlists$"),
        lambda route: held.append(route) if route.request.method == "GET" else route.continue_(),
    )
    page.get_by_role("link", name="Playlists").click()
    page.get_by_label("New playlist").fill("Road trip")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("link", name="Road trip")).to_be_visible()
    assert len(held) == 1, "the list was asked for once and is still held"
    held[0].continue_()
    expect(page.get_by_role("link", name="Earlier list")).to_be_visible()
    assert page.get_by_role("link", name="Road trip").count() == 1


def test_playlists_comment_edits_and_visibility_persist_and_a_rejected_token_is_refreshed(
    page: Page, platform: Any
) -> None:
    email = new_address(platform, "lists")
    password = f"Reel-{uuid.uuid4().hex[:8]}-Stack1"
    api = signup_confirm_login(platform, email, password)
    video_ids = []
    for title in ("First stop", "Second stop"):
        created = api.post(f"{platform.base_url}/api/videos", json={"title": title}, timeout=10)
        assert created.status_code == 201, created.text
        video_ids.append(created.json()["id"])
    log_in(page, email, password)

    # An access token the API refuses is traded for a new one once, and the action goes through.
    page.evaluate(
        """() => {
            const session = JSON.parse(sessionStorage.getItem("reelstack.session"));
            sessionStorage.setItem("reelstack.session", JSON.stringify({...session, access_token: "rejected"}));
        }"""
    )
    page.get_by_role("link", name="Playlists").click()
    page.get_by_label("New playlist").fill("Road trip")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("link", name="Road trip")).to_be_visible()
    assert page.evaluate("JSON.parse(sessionStorage.getItem('reelstack.session')).access_token") != "rejected"

    for video_id in video_ids:
        page.goto(f"/#/videos/{video_id}")
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.get_by_text("Added to Road trip.")).to_be_visible()

    page.get_by_role("link", name="Playlists").click()
    page.get_by_role("link", name="Road trip").click()
    items = page.locator(".playlist-items li a")
    expect(items).to_have_text(["First stop", "Second stop"])
    page.get_by_role("button", name="Move “Second stop” up").click()
    expect(items).to_have_text(["Second stop", "First stop"])
    page.get_by_role("button", name="Remove “First stop”").click()
    expect(items).to_have_text(["Second stop"])
    page.reload()
    expect(page.locator(".playlist-items li a")).to_have_text(["Second stop"])

    page.goto(f"/#/videos/{video_ids[0]}")
    page.get_by_label("Add a comment").fill("Draft thought")
    page.get_by_role("button", name="Post comment").click()
    page.get_by_role("button", name="Edit").click()
    page.get_by_label("Edit your comment").fill("Considered thought")
    page.get_by_role("button", name="Save comment").click()
    expect(page.locator(".comments .body")).to_have_text(["Considered thought"])

    page.get_by_label("Visibility").select_option("private")
    page.get_by_role("button", name="Save visibility").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    page.reload()
    expect(page.locator(".comments .body")).to_have_text(["Considered thought"])
    page.get_by_role("link", name="My videos").click()
    expect(page.get_by_role("row", name="First stop")).to_contain_text("private")
