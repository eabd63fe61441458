"""Issue 17, item 5: a multipart upload goes on where it stopped, through the gateway only.

A client that lost its state (a reload, a dropped connection) asks the API which parts storage
holds and sends only the others; the video then transcodes like any other.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.client import create_video, new_address, signup_confirm_login
from tests.e2e.conftest import PART_BYTES

pytestmark = pytest.mark.e2e
PASSWORD = "Corr3ct-Horse-Battery!"
TIMEOUT = 30
TRANSCODE_SECONDS = 180


def _put_part(session: requests.Session, video: str, number: int, chunk: bytes) -> str:
    """Ask for the part's presigned URL, PUT the bytes through /_s3; the ETag storage answered."""
    [part] = session.post(
        f"{video}/multipart/parts", json={"part_numbers": [number]}, timeout=TIMEOUT
    ).json()["parts"]
    put = requests.put(part["url"], data=chunk, timeout=TIMEOUT)
    assert put.status_code == 200, put.text
    return str(put.headers["ETag"])


def _wait_until_finished(session: requests.Session, video: str) -> dict[str, Any]:
    deadline = time.monotonic() + TRANSCODE_SECONDS
    while True:
        state: dict[str, Any] = session.get(video, timeout=TIMEOUT).json()
        if state["status"] in ("ready", "failed") or time.monotonic() > deadline:
            return state
        time.sleep(1)


def test_an_interrupted_multipart_upload_resumes_with_the_parts_storage_lacks(
    platform: Any, three_part_clip: Path
) -> None:
    data = three_part_clip.read_bytes()
    chunks = [data[i : i + PART_BYTES] for i in range(0, len(data), PART_BYTES)]
    assert len(chunks) == 3
    owner = signup_confirm_login(platform, new_address(platform, "resume"), PASSWORD)
    video = f"{platform.base_url}/api/videos/{create_video(platform, owner)['id']}"
    started = owner.post(f"{video}/multipart", json={"content_type": "video/mp4"}, timeout=TIMEOUT)
    assert started.status_code == 201, started.text
    sent = {n: _put_part(owner, video, n, chunks[n - 1]) for n in (1, 2)}

    # The client forgot everything but the video: storage says what it holds.
    listed = owner.get(f"{video}/multipart", timeout=TIMEOUT)
    assert listed.status_code == 200, listed.text
    assert listed.json()["upload_id"] == started.json()["upload_id"]
    assert listed.json()["parts"] == [
        {"part_number": n, "etag": sent[n], "size": len(chunks[n - 1])} for n in (1, 2)
    ]

    third = _put_part(owner, video, 3, chunks[2])
    done = [{"part_number": p["part_number"], "etag": p["etag"]} for p in listed.json()["parts"]]
    completed = owner.post(
        f"{video}/multipart/complete",
        json={"parts": [*done, {"part_number": 3, "etag": third}]},
        timeout=TIMEOUT,
    )
    assert completed.status_code == 204, completed.text
    assert owner.post(f"{video}/uploaded", timeout=TIMEOUT).status_code == 202

    finished = _wait_until_finished(owner, video)
    assert finished["status"] == "ready", finished
