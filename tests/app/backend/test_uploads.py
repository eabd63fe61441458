"""Presigned uploads, multipart uploads, and mark-uploaded: checks, refusals, exactly one task message."""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from flask import Flask
from sqlalchemy import Engine

from app.backend import AwsClients, create_app
from app.contracts.messages import VideoState, parse_task
from app.contracts.settings import BackendSettings
from app.local.provision import LocalResources
from tests.app.backend.conftest import (
    MAX_UPLOAD_BYTES,
    Caller,
    Platform,
    backend_settings,
    drain,
    put_source,
    s3,
)


def _source_exists(resources: LocalResources, video_id: str) -> bool:
    try:
        s3(resources).head_object(Bucket=resources.names.uploads_bucket, Key=f"uploads/{video_id}/source")
    except ClientError:
        return False
    return True


def test_presigned_post_limits_size_and_type_and_its_upload_can_be_queued(
    platform: Platform, alice: Caller
) -> None:
    response = platform.http.post("/api/videos", json={"title": "clip"}, headers=alice.headers)
    upload = response.json["upload"]
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    assert ["content-length-range", 1, MAX_UPLOAD_BYTES] in policy["conditions"]
    assert ["starts-with", "$Content-Type", "video/"] in policy["conditions"]
    video_id = response.json["id"]
    assert upload["fields"]["key"] == f"uploads/{video_id}/source"

    posted = requests.post(
        upload["url"],
        data={**upload["fields"], "Content-Type": "video/mp4"},
        files={"file": ("clip.mp4", platform.sample, "video/mp4")},
        timeout=30,
    )
    assert posted.status_code in (200, 204), posted.text
    queued = platform.http.post(f"/api/videos/{video_id}/uploaded", headers=alice.headers)
    assert queued.status_code == 202, queued.json
    assert len(drain(platform.resources, platform.resources.task_queue_url)) == 1


def test_presigned_urls_are_signed_for_the_public_endpoint_path_style(
    local_resources: LocalResources, database_url: str, engine: Engine, alice: Caller
) -> None:
    settings = backend_settings(
        local_resources, database_url, s3_public_endpoint_url="http://127.0.0.1:8080/_s3"
    )
    public_app = create_app(settings, engine=engine)
    http = public_app.test_client()
    created = http.post("/api/videos", json={"title": "clip"}, headers=alice.headers).json
    assert created["upload"]["url"] == f"http://127.0.0.1:8080/_s3/{local_resources.names.uploads_bucket}"
    started = http.post(
        f"/api/videos/{created['id']}/multipart", json={"content_type": "video/mp4"}, headers=alice.headers
    )
    parts = http.post(
        f"/api/videos/{created['id']}/multipart/parts", json={"part_numbers": [1]}, headers=alice.headers
    )
    assert started.status_code == 201
    assert parts.json["parts"][0]["url"].startswith(
        f"http://127.0.0.1:8080/_s3/{local_resources.names.uploads_bucket}/uploads/{created['id']}/source?"
    )


def test_mark_uploaded_queues_exactly_one_valid_task(platform: Platform, alice: Caller) -> None:
    video_id = platform.create(alice, filters=[{"type": "grayscale"}, {"type": "trim", "start": 1, "end": 3}])
    put_source(platform.resources, video_id, platform.sample)

    first = platform.http.post(f"/api/videos/{video_id}/uploaded", headers=alice.headers)
    again = platform.http.post(f"/api/videos/{video_id}/uploaded", headers=alice.headers)

    assert first.status_code == 202 and again.status_code == 202
    assert first.json["status"] == again.json["status"] == "queued"
    bodies = drain(platform.resources, platform.resources.task_queue_url)
    assert len(bodies) == 1
    task = parse_task(bodies[0])
    assert str(task.video_id) == video_id
    assert task.owner_id == alice.sub
    assert task.source_bucket == platform.resources.names.uploads_bucket
    assert task.source_key == f"uploads/{video_id}/source"
    assert [f.type for f in task.filters] == ["grayscale", "trim"]
    assert task.task_id == platform.task_id(video_id)


def test_concurrent_mark_uploaded_calls_send_one_task(platform: Platform, alice: Caller, app: Flask) -> None:
    video_id = platform.create(alice)
    put_source(platform.resources, video_id, platform.sample)
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def call() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(f"/api/videos/{video_id}/uploaded", headers=alice.headers).status_code)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [202] * 4
    assert len(drain(platform.resources, platform.resources.task_queue_url)) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * MAX_UPLOAD_BYTES, "video/mp4", 413, "upload_too_large"),
        (None, "image/png", 415, "upload_wrong_type"),
        (b"just some text pretending to be a video" * 10, "video/mp4", 422, "upload_not_video"),
    ],
    ids=["oversize", "wrong-content-type", "not-a-container"],
)
def test_bad_upload_is_refused_deleted_and_leaves_the_video_uploading(
    platform: Platform, alice: Caller, body: bytes | None, content_type: str, status: int, code: str
) -> None:
    video_id = platform.create(alice)
    put_source(platform.resources, video_id, body if body is not None else platform.sample, content_type)

    response = platform.http.post(f"/api/videos/{video_id}/uploaded", headers=alice.headers)

    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert not _source_exists(platform.resources, video_id)
    row = platform.row(video_id)
    assert row is not None and row.status == VideoState.UPLOADING and row.task_id is None
    assert drain(platform.resources, platform.resources.task_queue_url) == []


def test_mark_uploaded_without_an_upload_is_a_conflict(platform: Platform, alice: Caller) -> None:
    video_id = platform.create(alice)
    response = platform.http.post(f"/api/videos/{video_id}/uploaded", headers=alice.headers)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "upload_missing"


def test_failed_send_rolls_the_status_back(
    platform: Platform, alice: Caller, settings: BackendSettings, engine: Engine, aws: AwsClients
) -> None:
    video_id = platform.create(alice)
    put_source(platform.resources, video_id, platform.sample)

    class FailingSqs:
        def send_message(self, **_: Any) -> None:
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessage")

    broken = create_app(settings, aws=dataclasses.replace(aws, sqs=FailingSqs()), engine=engine)
    failed = broken.test_client().post(f"/api/videos/{video_id}/uploaded", headers=alice.headers)

    assert failed.status_code == 503
    assert failed.json["error"]["code"] == "queue_unavailable"
    row = platform.row(video_id)
    assert row is not None and row.status == VideoState.UPLOADING and row.task_id is None
    retried = platform.http.post(f"/api/videos/{video_id}/uploaded", headers=alice.headers)
    assert retried.status_code == 202
    assert len(drain(platform.resources, platform.resources.task_queue_url)) == 1


def test_only_the_owner_marks_uploaded(platform: Platform, alice: Caller, bob: Caller) -> None:
    video_id = platform.create(alice)
    put_source(platform.resources, video_id, platform.sample)
    response = platform.http.post(f"/api/videos/{video_id}/uploaded", headers=bob.headers)
    assert response.status_code == 403
    assert drain(platform.resources, platform.resources.task_queue_url) == []


def test_multipart_upload_round_trip_then_queue(platform: Platform, alice: Caller) -> None:
    video_id = platform.create(alice)
    base = f"/api/videos/{video_id}/multipart"
    started = platform.http.post(base, json={"content_type": "video/mp4"}, headers=alice.headers)
    assert started.status_code == 201
    twice = platform.http.post(base, json={"content_type": "video/mp4"}, headers=alice.headers)
    assert twice.status_code == 409
    early = platform.http.post(f"/api/videos/{video_id}/uploaded", headers=alice.headers)
    assert early.status_code == 409

    urls = platform.http.post(f"{base}/parts", json={"part_numbers": [1]}, headers=alice.headers).json[
        "parts"
    ]
    put = requests.put(urls[0]["url"], data=platform.sample, timeout=30)
    assert put.status_code == 200
    done = platform.http.post(
        f"{base}/complete",
        json={"parts": [{"part_number": 1, "etag": put.headers["ETag"]}]},
        headers=alice.headers,
    )
    assert done.status_code == 204

    queued = platform.http.post(f"/api/videos/{video_id}/uploaded", headers=alice.headers)
    assert queued.status_code == 202
    assert len(drain(platform.resources, platform.resources.task_queue_url)) == 1


def test_multipart_abort_discards_the_upload(platform: Platform, alice: Caller) -> None:
    video_id = platform.create(alice)
    base = f"/api/videos/{video_id}/multipart"
    upload_id = platform.http.post(base, json={"content_type": "video/webm"}, headers=alice.headers).json[
        "upload_id"
    ]

    assert platform.http.delete(base, headers=alice.headers).status_code == 204

    uploads = s3(platform.resources).list_multipart_uploads(Bucket=platform.resources.names.uploads_bucket)
    assert upload_id not in {u["UploadId"] for u in uploads.get("Uploads", [])}
    assert platform.http.delete(base, headers=alice.headers).status_code == 409


def test_multipart_complete_with_a_bad_etag_is_a_client_error(platform: Platform, alice: Caller) -> None:
    video_id = platform.create(alice)
    base = f"/api/videos/{video_id}/multipart"
    platform.http.post(base, json={"content_type": "video/mp4"}, headers=alice.headers)
    done = platform.http.post(
        f"{base}/complete", json={"parts": [{"part_number": 1, "etag": '"nope"'}]}, headers=alice.headers
    )
    assert done.status_code == 400
    assert done.json["error"]["code"] == "multipart_invalid"
