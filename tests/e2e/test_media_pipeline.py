"""Issue 4, acceptance 1: an upload becomes an adaptive HLS stream, watched live, all through the gateway."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.client import new_address, signup_confirm_login, upload_via_presigned_post
from tests.e2e.sse import SseEvent, iter_events

pytestmark = pytest.mark.e2e

SOURCE_SECONDS = 10.0


@pytest.fixture(scope="module")
def clip_720p_with_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("media") / "clip-720p.mp4"
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={SOURCE_SECONDS}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={SOURCE_SECONDS}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def ffprobe(url: str) -> dict[str, Any]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", url],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    probed: dict[str, Any] = json.loads(result.stdout)
    return probed


def variant_uris(master_playlist: str) -> list[str]:
    lines = master_playlist.splitlines()
    return [lines[i + 1] for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF")]


def watch_until_finished(stream: requests.Response) -> list[SseEvent]:
    events: list[SseEvent] = []
    for event in iter_events(stream):
        events.append(event)
        if event.data["state"] in ("ready", "failed"):
            break
    return events


def recorded_state(session: requests.Session, url: str) -> dict[str, Any]:
    """The video as the API shows it once the status consumer has recorded the final event.

    The stream and the durable status queue are two subscribers of one topic, so the API may
    trail the stream by a moment.
    """
    for _ in range(100):
        video: dict[str, Any] = session.get(url, timeout=10).json()
        if video["status"] in ("ready", "failed"):
            return video
        time.sleep(0.2)
    return video


def test_uploaded_clip_becomes_an_hls_ladder_with_live_progress(
    platform: Any, clip_720p_with_audio: Path
) -> None:
    base = platform.base_url
    session = signup_confirm_login(platform, new_address(platform, "viewer"), "Corr3ct-Horse-Battery!")

    created = session.post(f"{base}/api/videos", json={"title": "ten seconds of test card"})
    assert created.status_code == 201, created.text
    video_id = created.json()["id"]
    upload_via_presigned_post(created.json()["upload"], clip_720p_with_audio, "video/mp4")

    # Open the stream before the task is queued, so every event of the transcode is seen live.
    ticket = session.post(f"{base}/api/videos/{video_id}/events-ticket")
    assert ticket.status_code == 200, ticket.text
    with requests.get(f"{base}{ticket.json()['url']}", stream=True, timeout=(5, 120)) as stream:
        assert stream.status_code == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        marked = session.post(f"{base}/api/videos/{video_id}/uploaded")
        assert marked.status_code == 202, marked.text
        events = watch_until_finished(stream)

    assert events[-1].data["state"] == "ready", events[-1].data
    transcoding = [e.data["percent"] for e in events if e.data["state"] == "transcoding"]
    assert transcoding[0] == 0
    assert transcoding[-1] == 100
    assert transcoding == sorted(transcoding)
    # Every event of the task carries an id that Last-Event-ID can resume from, in order.
    task_event_ids = [int(e.id) for e in events if e.data["state"] != "uploading" and e.id is not None]
    assert len(task_event_ids) == len([e for e in events if e.data["state"] != "uploading"])
    assert task_event_ids == sorted(set(task_event_ids))

    video = recorded_state(session, f"{base}/api/videos/{video_id}")
    assert video["status"] == "ready"
    master = requests.get(video["playback_url"], timeout=10)
    assert master.status_code == 200
    variants = variant_uris(master.text)
    assert len(variants) >= 3, master.text

    kinds = []
    for uri in variants:
        probed = ffprobe(requests.compat.urljoin(video["playback_url"], uri))
        kinds.append({s["codec_type"] for s in probed["streams"]})
        assert abs(float(probed["format"]["duration"]) - SOURCE_SECONDS) <= 0.2
    # Every rung has the picture; the last variant is the audio-only one (issue 17, item 4).
    assert all("video" in kind for kind in kinds[:-1]) and kinds[-1] == {"audio"}, kinds

    thumbnail = requests.get(video["thumbnail_url"], timeout=10)
    assert thumbnail.status_code == 200
    assert thumbnail.content[:3] == b"\xff\xd8\xff"
    (probed_thumbnail,) = ffprobe(video["thumbnail_url"])["streams"]
    assert probed_thumbnail["codec_name"] == "mjpeg"

    # Seek previews: the track and the sprite sheets its cues name pass the media edge like segments.
    track = requests.get(video["storyboard_url"], timeout=10)
    assert track.status_code == 200 and track.headers["Content-Type"] == "text/vtt", track.headers
    sheets = set(re.findall(r"^(sprite-\d+\.jpg)#xywh=\d+,\d+,\d+,\d+$", track.text, re.M))
    assert sheets == {"sprite-1.jpg"}, track.text  # 10 s every 2 s: 5 tiles, one sheet
    sheet = requests.get(requests.compat.urljoin(video["storyboard_url"], "sprite-1.jpg"), timeout=10)
    assert sheet.status_code == 200 and sheet.headers["Content-Type"] == "image/jpeg"
    assert sheet.content[:3] == b"\xff\xd8\xff"
    # Only with the grant: a tampered one is refused before S3, as for the segments.
    assert requests.get(video["storyboard_url"].replace("/g/", "/g/x", 1), timeout=10).status_code == 403


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("media") / "short.mp4"
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def test_a_link_handed_out_while_public_stops_playing_once_the_video_is_private_or_deleted(
    platform: Any, short_clip: Path
) -> None:
    """Issue "Hostile use", item 8: the same URL that played answers 403 right after the change."""
    base = platform.base_url
    owner = signup_confirm_login(platform, new_address(platform, "owner"), "Corr3ct-Horse-Battery!")
    created = owner.post(f"{base}/api/videos", json={"title": "soon private", "visibility": "public"})
    assert created.status_code == 201, created.text
    video_id = created.json()["id"]
    upload_via_presigned_post(created.json()["upload"], short_clip, "video/mp4")
    assert owner.post(f"{base}/api/videos/{video_id}/uploaded").status_code == 202
    for _ in range(300):
        if owner.get(f"{base}/api/videos/{video_id}", timeout=10).json()["status"] in ("ready", "failed"):
            break
        time.sleep(0.5)
    strangers = requests.get(f"{base}/api/videos/{video_id}", timeout=10).json()
    assert strangers["status"] == "ready", strangers
    link = strangers["playback_url"]
    master = requests.get(link, timeout=10)
    assert master.status_code == 200
    variant = requests.compat.urljoin(link, variant_uris(master.text)[0])
    assert requests.get(variant, timeout=10).status_code == 200

    made_private = owner.patch(f"{base}/api/videos/{video_id}", json={"visibility": "private"}, timeout=10)

    assert made_private.status_code == 200, made_private.text
    assert requests.get(link, timeout=10).status_code == 403
    assert requests.get(variant, timeout=10).status_code == 403
    owners_link = made_private.json()["playback_url"]
    assert requests.get(owners_link, timeout=10).status_code == 200

    assert owner.delete(f"{base}/api/videos/{video_id}", timeout=10).status_code == 204
    assert requests.get(owners_link, timeout=10).status_code == 403
