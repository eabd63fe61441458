"""The web app in Chromium against the whole local platform: a new user's first video, end to end."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--no-first-run",
]
# Upper bounds for the slow steps, in milliseconds; they end waits early, they are not asserted.
TRANSCODE_MS = 120_000
PLAYBACK_MS = 30_000


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
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=platform.base_url)
            yield context.new_page()
        finally:
            browser.close()


def emailed_code(base_url: str, email: str) -> str:
    response = requests.get(f"{base_url}/_local/outbox", params={"email": email}, timeout=10)
    response.raise_for_status()
    return str(response.json()[0]["code"])


def test_new_user_signs_up_uploads_watches_live_progress_plays_comments_and_likes(
    page: Page, platform: Any, clip: Path
) -> None:
    email = f"web-{uuid.uuid4().hex[:12]}@example.com"
    password = f"Reel-{uuid.uuid4().hex[:8]}-Stack1"

    page.goto("/#/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Confirm your email")).to_be_visible()

    page.get_by_label("Confirmation code").fill(emailed_code(platform.base_url, email))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(email)

    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    page.get_by_role("link", name="Upload").click()
    page.get_by_label("Video file").set_input_files(clip)
    page.get_by_label("Title").fill("Browser clip")
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_role("heading", name="Browser clip")).to_be_visible()
    state = page.locator(".transcode [role=status]")
    expect(state).to_have_attribute("data-state", "ready", timeout=TRANSCODE_MS)
    expect(page.get_by_role("progressbar", name="Transcoding progress")).to_have_attribute("value", "100")

    video = page.locator("video")
    expect(video).to_be_visible(timeout=PLAYBACK_MS)
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v.readyState >= 2 && v.currentTime > 0; }",
        timeout=PLAYBACK_MS,
    )

    page.get_by_label("Add a comment").fill("Looks great in the browser")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".comments li").first).to_contain_text("Looks great in the browser")
    expect(page.locator(".comments li").first).to_contain_text("You")

    like = page.locator("button.like")
    expect(like).to_have_attribute("aria-pressed", "false")
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(like).to_contain_text("1")

    # What the page shows after a reload comes from the API, not from the page's memory.
    page.reload()
    expect(page.locator("button.like")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".comments li").first).to_contain_text("Looks great in the browser")
