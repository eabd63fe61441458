"""Issue 17, item 8: a ready video is transcoded again from its kept source with
``reelstack retranscode``, without a new upload, and is ready again with new outputs only."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.client import create_video, new_address, signup_confirm_login, upload_via_presigned_post
from tests.e2e.test_authorization_matrix import wait_until_ready

pytestmark = [pytest.mark.e2e, pytest.mark.local_only]
PASSWORD = "Corr3ct-Horse-Battery!"
TIMEOUT = 30
REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 120


def output_tasks(platform: Any, video_id: str) -> set[str]:
    """The tasks whose outputs the media bucket holds for the video (``videos/<video>/<task>/...``)."""
    listing = platform.client("s3").list_objects_v2(
        Bucket=platform.aws["media_bucket"], Prefix=f"videos/{video_id}/"
    )
    return {obj["Key"].split("/")[2] for obj in listing.get("Contents", [])}


def retranscode(platform: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "retranscode",
            "--stack",
            "dev",
            "--state-dir",
            str(platform.state_dir),
            *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_ready_video_transcoded_again_is_ready_with_new_outputs_and_the_old_ones_deleted(
    platform: Any, one_second_clip: Path
) -> None:
    base = platform.base_url
    owner = signup_confirm_login(platform, new_address(platform, "retranscode"), PASSWORD)
    created = create_video(platform, owner, title="transcoded twice", visibility="public")
    upload_via_presigned_post(created["upload"], one_second_clip, "video/mp4")
    video_id = created["id"]
    assert owner.post(f"{base}/api/videos/{video_id}/uploaded", timeout=TIMEOUT).status_code == 202
    wait_until_ready(platform, owner, [video_id])
    first_outputs = output_tasks(platform, video_id)
    assert len(first_outputs) == 1

    done = retranscode(platform, "--video", video_id)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{video_id}: queued as task" in done.stdout
    # A one-second clip may be transcoded again before a status is read: wait for the outputs to
    # change (the status consumer deletes the old ones once it has recorded the new task ready).
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while first_outputs & output_tasks(platform, video_id) and time.monotonic() < deadline:
        time.sleep(0.5)
    wait_until_ready(platform, owner, [video_id])
    second_outputs = output_tasks(platform, video_id)
    assert len(second_outputs) == 1 and not second_outputs & first_outputs
    video = owner.get(f"{base}/api/videos/{video_id}", timeout=TIMEOUT).json()
    assert next(iter(second_outputs)) in video["playback_url"]
    assert requests.get(video["playback_url"], timeout=TIMEOUT).status_code == 200

    # A video that is not finished is reported, not queued twice.
    busy = retranscode(platform, "--video", video_id, "--video", video_id)
    assert busy.returncode == 1
    assert "1 of 2 videos queued" in busy.stdout and "not_finished" in busy.stdout
    wait_until_ready(platform, owner, [video_id])
