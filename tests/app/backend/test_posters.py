"""Chosen posters and MP4 downloads: the owner picks a candidate or uploads an image; the feed and
the player show the choice; an MP4 asked for at upload is offered as a download."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.backend.posters import MAX_PIXELS, POSTER_UPLOAD_MAX_BYTES, reencode_poster
from app.backend.status_consumer import record_event
from app.contracts.errors import ApiError
from app.contracts.messages import parse_task
from tests.app.backend.conftest import Caller, Platform, drain, ready_event, s3

MEDIA = "http://127.0.0.1:8080/media/g/"


def _image(tmp_path: Path, name: str, size: str, *codec: str) -> bytes:
    path = tmp_path / name
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}", "-frames:v", "1", *codec, str(path)],
        check=True,
    )  # fmt: skip
    return path.read_bytes()


def _probe_image(data: bytes) -> tuple[str, int, int]:
    info = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-of", "json", "-show_streams", "-f", "jpeg_pipe", "-i", "pipe:0"],
            input=data,
            capture_output=True,
            check=True,
        ).stdout
    )
    stream = info["streams"][0]
    return stream["codec_name"], stream["width"], stream["height"]


def _key(url: str) -> str:
    return url.removeprefix(MEDIA).split("/", 1)[1]


def test_the_owner_sees_the_candidates_with_the_first_shown_and_no_one_else_does(
    platform: Platform, alice: Caller, bob: Caller
) -> None:
    video_id = platform.ready(alice)
    task_id = platform.task_id(video_id)
    poster = platform.http.get(f"/api/videos/{video_id}/poster", headers=alice.headers)
    assert poster.status_code == 200, poster.json
    body = poster.json
    assert [_key(url) for url in body["candidates"]] == [
        f"videos/{video_id}/{task_id}/candidates/candidate-{n}.jpg" for n in (1, 2, 3)
    ]
    assert body["chosen"] == 0 and _key(body["thumbnail_url"]) == _key(body["candidates"][0])
    assert platform.http.get(f"/api/videos/{video_id}/poster", headers=bob.headers).status_code == 403
    assert platform.http.get(f"/api/videos/{video_id}/poster").status_code == 401


def test_the_chosen_candidate_is_the_poster_the_feed_and_the_player_show(
    platform: Platform, alice: Caller, bob: Caller
) -> None:
    video_id = platform.ready(alice)
    chosen = platform.http.put(f"/api/videos/{video_id}/poster", json={"candidate": 2}, headers=alice.headers)
    assert chosen.status_code == 200, chosen.json
    assert chosen.json["chosen"] == 2
    expected = _key(chosen.json["candidates"][2])
    assert _key(platform.http.get(f"/api/videos/{video_id}").json["thumbnail_url"]) == expected
    feed = platform.http.get("/api/videos").json["items"]
    assert [_key(v["thumbnail_url"]) for v in feed if v["id"] == video_id] == [expected]

    refused = platform.http.put(
        f"/api/videos/{video_id}/poster", json={"candidate": 3}, headers=alice.headers
    )
    assert (refused.status_code, refused.json["error"]["code"]) == (400, "no_such_candidate")
    other = platform.http.put(f"/api/videos/{video_id}/poster", json={"candidate": 0}, headers=bob.headers)
    assert other.status_code == 403
    assert platform.http.get(f"/api/videos/{video_id}/poster", headers=alice.headers).json["chosen"] == 2


def test_no_poster_is_chosen_before_the_video_is_ready(
    platform: Platform, alice: Caller, tmp_path: Path
) -> None:
    video_id = platform.queue(alice)
    chosen = platform.http.put(f"/api/videos/{video_id}/poster", json={"candidate": 0}, headers=alice.headers)
    assert (chosen.status_code, chosen.json["error"]["code"]) == (409, "not_ready")
    image = base64.b64encode(_image(tmp_path, "p.png", "64x64")).decode()
    uploaded = platform.http.post(
        f"/api/videos/{video_id}/poster", json={"image": image}, headers=alice.headers
    )
    assert (uploaded.status_code, uploaded.json["error"]["code"]) == (409, "not_ready")


def test_an_uploaded_image_is_stored_re_encoded_as_a_bounded_jpeg_and_replaces_the_last_one(
    platform: Platform, alice: Caller, tmp_path: Path
) -> None:
    video_id = platform.ready(alice)
    bucket = platform.resources.media_bucket
    keys = []
    for name, codec in [("big.png", ()), ("big.webp", ("-c:v", "libwebp"))]:
        image = base64.b64encode(_image(tmp_path, name, "1920x1080", *codec)).decode()
        answer = platform.http.post(
            f"/api/videos/{video_id}/poster", json={"image": image}, headers=alice.headers
        )
        assert answer.status_code == 200, answer.json
        assert answer.json["chosen"] is None
        key = _key(answer.json["thumbnail_url"])
        assert key.startswith(f"videos/{video_id}/posters/") and key.endswith(".jpg")
        stored = s3(platform.resources).get_object(Bucket=bucket, Key=key)
        assert stored["ContentType"] == "image/jpeg"
        assert _probe_image(stored["Body"].read()) == ("mjpeg", 1280, 720)
        keys.append(key)
    assert keys[0] != keys[1]  # a new key each time: no cached copy of the last one is shown
    listed = s3(platform.resources).list_objects_v2(Bucket=bucket, Prefix=f"videos/{video_id}/posters/")
    assert [o["Key"] for o in listed.get("Contents", [])] == [keys[1]]
    assert _key(platform.http.get(f"/api/videos/{video_id}").json["thumbnail_url"]) == keys[1]
    # Choosing a candidate again drops the uploaded image.
    platform.http.put(f"/api/videos/{video_id}/poster", json={"candidate": 1}, headers=alice.headers)
    listed = s3(platform.resources).list_objects_v2(Bucket=bucket, Prefix=f"videos/{video_id}/posters/")
    assert listed.get("Contents", []) == []


def test_an_upload_that_is_not_an_image_is_refused_whatever_its_name_says(
    platform: Platform, alice: Caller, sample_mp4: bytes
) -> None:
    video_id = platform.ready(alice)
    for data, code in [(sample_mp4, "not_an_image"), (b"#EXTM3U\nfile:///etc/passwd\n", "not_an_image")]:
        image = base64.b64encode(data).decode()
        answer = platform.http.post(
            f"/api/videos/{video_id}/poster", json={"image": image}, headers=alice.headers
        )
        assert (answer.status_code, answer.json["error"]["code"]) == (400, code)
    too_long = platform.http.post(
        f"/api/videos/{video_id}/poster",
        json={"image": "A" * (4 * (POSTER_UPLOAD_MAX_BYTES // 3) + 8)},
        headers=alice.headers,
    )
    assert too_long.status_code == 422  # over the documented maxLength
    assert platform.http.get(f"/api/videos/{video_id}/poster", headers=alice.headers).json["chosen"] == 0


def test_reencoding_decodes_only_the_format_the_bytes_announce_and_refuses_bombs_and_damage(
    tmp_path: Path,
) -> None:
    jpeg = _image(tmp_path, "a.jpg", "640x480", "-q:v", "2")
    codec, width, height = _probe_image(reencode_poster(jpeg))
    assert (codec, width, height) == ("mjpeg", 960, 720)  # fits the 1280x720 box, aspect kept
    small = _image(tmp_path, "s.png", "320x180")
    assert _probe_image(reencode_poster(small))[1:] == (1280, 720)
    cases = [
        jpeg[: len(jpeg) // 2],  # truncated
        b"\x89PNG\r\n\x1a\n" + jpeg,  # a PNG signature over JPEG data: read as PNG only, so refused
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"GIF89a" + b"\x00" * 32,
    ]
    # A small file can declare a huge picture: 9000x4000 is over the pixel bound.
    bomb = tmp_path / "bomb.png"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=red:s=9000x4000", "-frames:v", "1", str(bomb)],
        check=True,
    )  # fmt: skip
    assert MAX_PIXELS < 9000 * 4000 and bomb.stat().st_size < POSTER_UPLOAD_MAX_BYTES
    for data in [*cases, bomb.read_bytes()]:
        with pytest.raises(ApiError) as refused:
            reencode_poster(data)
        assert (refused.value.status, refused.value.code) == (400, "not_an_image")
    with pytest.raises(ApiError) as too_large:
        reencode_poster(b"\xff\xd8\xff" + bytes(POSTER_UPLOAD_MAX_BYTES))
    assert (too_large.value.status, too_large.value.code) == (413, "image_too_large")


def test_an_mp4_asked_for_at_upload_reaches_the_task_and_is_offered_as_a_download(
    platform: Platform, alice: Caller
) -> None:
    drain(platform.resources, platform.resources.task_queue_url)
    wanted = platform.queue(alice, mp4_download=True)
    plain = platform.queue(alice)
    tasks = {
        str(t.video_id): t
        for t in map(parse_task, drain(platform.resources, platform.resources.task_queue_url))
    }
    assert tasks[wanted].mp4_download is True and tasks[plain].mp4_download is False

    event = ready_event(wanted, platform.task_id(wanted), sequence=5)
    assert event.outputs is not None
    download_key = event.outputs.prefix + "download.mp4"
    event = event.model_copy(
        update={"outputs": event.outputs.model_copy(update={"download_key": download_key})}
    )
    with Session(platform.engine) as session:
        assert record_event(session, event)
        assert record_event(session, ready_event(plain, platform.task_id(plain), sequence=5))
    body = platform.http.get(f"/api/videos/{wanted}").json
    assert _key(body["download_url"]) == download_key
    # The same grant as the playback URL: whoever may watch may download.
    assert body["download_url"].split("/")[5] == body["playback_url"].split("/")[5]
    assert platform.http.get(f"/api/videos/{plain}").json["download_url"] is None
