"""Presigned uploads, multipart uploads, and mark-uploaded: checks, refusals, exactly one task message."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from flask import Flask
from sqlalchemy import Engine

from app.backend import AwsClients, create_app
from app.backend.videos import ACCEPT_COPY
from app.contracts.messages import VideoState, parse_task
from app.contracts.names import incoming_key_prefix, upload_key_prefix
from app.contracts.settings import BackendSettings
from app.local.provision import LocalResources
from tests.app.backend.conftest import (
    MAX_UPLOAD_BYTES,
    Caller,
    Platform,
    backend_settings,
    drain,
    post_at_once,
    put_source,
    s3,
)


def _uploaded_keys(resources: LocalResources, video_id: str) -> list[str]:
    """The video's objects in the uploads bucket: its upload (``incoming/``) and accepted sources."""
    return [
        o["Key"]
        for prefix in (incoming_key_prefix(video_id), upload_key_prefix(video_id))
        for o in s3(resources)
        .list_objects_v2(Bucket=resources.uploads_bucket, Prefix=prefix)
        .get("Contents", [])
    ]


def test_presigned_post_limits_size_and_type_and_its_upload_can_be_queued(
    platform: Platform, alice: Caller
) -> None:
    response = platform.http.post("/api/videos", json={"title": "clip"}, headers=alice.headers)
    upload = response.json["upload"]
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    assert ["content-length-range", 1, MAX_UPLOAD_BYTES] in policy["conditions"]
    assert ["starts-with", "$Content-Type", "video/"] in policy["conditions"]
    video_id = response.json["id"]
    assert upload["fields"]["key"] == f"incoming/{video_id}/source"

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
    assert created["upload"]["url"] == f"http://127.0.0.1:8080/_s3/{local_resources.uploads_bucket}"
    started = http.post(
        f"/api/videos/{created['id']}/multipart", json={"content_type": "video/mp4"}, headers=alice.headers
    )
    parts = http.post(
        f"/api/videos/{created['id']}/multipart/parts", json={"part_numbers": [1]}, headers=alice.headers
    )
    assert started.status_code == 201
    assert parts.json["parts"][0]["url"].startswith(
        f"http://127.0.0.1:8080/_s3/{local_resources.uploads_bucket}/incoming/{created['id']}/source?"
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
    assert task.source_bucket == platform.resources.uploads_bucket
    assert task.source_key == f"uploads/{video_id}/accepted/{task.task_id}"
    assert [f.type for f in task.filters] == ["grayscale", "trim"]
    assert task.task_id == platform.task_id(video_id)
    assert _uploaded_keys(platform.resources, video_id) == [task.source_key]  # the upload is now the copy


def test_concurrent_mark_uploaded_calls_send_one_task(platform: Platform, alice: Caller, app: Flask) -> None:
    video_id = platform.create(alice)
    put_source(platform.resources, video_id, platform.sample)
    statuses = post_at_once(app, f"/api/videos/{video_id}/uploaded", alice.headers)

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
    assert _uploaded_keys(platform.resources, video_id) == []  # neither the upload nor a copy of it
    row = platform.row(video_id)
    assert row is not None and row.status == VideoState.UPLOADING and row.task_id is None
    assert drain(platform.resources, platform.resources.task_queue_url) == []


def test_a_presigned_post_replayed_after_acceptance_changes_neither_the_task_source_nor_the_kept_one(
    platform: Platform, alice: Caller
) -> None:
    """Once accepted, the source is immutable. The presigned POST stays valid until its policy
    expires, and S3 lets it write exactly the key its policy names (an exact-match ``key``
    condition, https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html):
    replayed with other bytes after /uploaded, it must not reach what the worker reads or what is kept.
    """
    created = platform.http.post("/api/videos", json={"title": "clip"}, headers=alice.headers).json
    video_id, upload = created["id"], created["upload"]

    def post(body: bytes) -> None:
        posted = requests.post(
            upload["url"],
            data={**upload["fields"], "Content-Type": "video/mp4"},
            files={"file": ("clip.mp4", body, "video/mp4")},
            timeout=30,
        )
        assert posted.status_code in (200, 204), posted.text

    post(platform.sample)
    assert platform.http.post(f"/api/videos/{video_id}/uploaded", headers=alice.headers).status_code == 202
    post(b"\x00\x00\x00\x18ftypmp42" + b"another video entirely" * 100)

    task = parse_task(drain(platform.resources, platform.resources.task_queue_url)[0])
    row = platform.row(video_id)
    assert row is not None and row.source_key == task.source_key  # what is kept is what is transcoded
    kept = s3(platform.resources).get_object(Bucket=task.source_bucket, Key=task.source_key)["Body"].read()
    assert kept == platform.sample


def test_a_source_above_the_single_copy_limit_is_accepted_by_a_multipart_copy() -> None:
    """CopyObject copies at most 5 GB in one request; a larger object is copied in parts with
    UploadPartCopy (https://docs.aws.amazon.com/AmazonS3/latest/userguide/CopyingObjctsMPUapi.html),
    which the transfer manager does from its multipart threshold on. Uploads may be larger
    (max_upload_bytes is a setting; a multipart upload reaches 5 TB)."""
    assert ACCEPT_COPY.multipart_threshold < 5 * 1000**3
    assert ACCEPT_COPY.multipart_chunksize <= 5 * 1000**3


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

    uploads = s3(platform.resources).list_multipart_uploads(Bucket=platform.resources.uploads_bucket)
    assert upload_id not in {u["UploadId"] for u in uploads.get("Uploads", [])}
    assert platform.http.delete(base, headers=alice.headers).status_code == 409


def test_multipart_complete_with_parts_storage_does_not_hold_is_a_409(
    platform: Platform, alice: Caller
) -> None:
    """A well-formed parts list S3 refuses (InvalidPart: a part it does not hold, or another ETag;
    EntityTooSmall; per https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html)
    conflicts with what storage holds: a 409, not a 400 that says the request itself was malformed."""
    video_id = platform.create(alice)
    base = f"/api/videos/{video_id}/multipart"
    platform.http.post(base, json={"content_type": "video/mp4"}, headers=alice.headers)
    done = platform.http.post(
        f"{base}/complete", json={"parts": [{"part_number": 1, "etag": '"nope"'}]}, headers=alice.headers
    )
    assert done.status_code == 409
    assert done.json["error"]["code"] == "multipart_invalid"


def _put_parts(platform: Platform, caller: Caller, video_id: str, chunks: dict[int, bytes]) -> dict[int, str]:
    """PUT the given parts through presigned part URLs; part number -> the ETag S3 answered."""
    urls = platform.http.post(
        f"/api/videos/{video_id}/multipart/parts",
        json={"part_numbers": sorted(chunks)},
        headers=caller.headers,
    ).json["parts"]
    etags = {}
    for part in urls:
        put = requests.put(part["url"], data=chunks[part["part_number"]], timeout=30)
        assert put.status_code == 200, put.text
        etags[part["part_number"]] = put.headers["ETag"]
    return etags


def test_the_parts_storage_holds_are_listed_so_an_interrupted_upload_resumes(
    platform: Platform, alice: Caller
) -> None:
    video_id = platform.create(alice)
    base = f"/api/videos/{video_id}/multipart"
    upload_id = platform.http.post(base, json={"content_type": "video/mp4"}, headers=alice.headers).json[
        "upload_id"
    ]
    etags = _put_parts(platform, alice, video_id, {1: b"a" * 300, 3: b"c" * 100})

    listed = platform.http.get(base, headers=alice.headers)

    assert listed.status_code == 200, listed.json
    assert listed.json == {
        "upload_id": upload_id,
        "key": f"incoming/{video_id}/source",
        "parts": [
            {"part_number": 1, "etag": etags[1], "size": 300},
            {"part_number": 3, "etag": etags[3], "size": 100},
        ],
    }


def test_only_the_owner_lists_an_uploads_parts(platform: Platform, alice: Caller, bob: Caller) -> None:
    video_id = platform.create(alice)
    base = f"/api/videos/{video_id}/multipart"
    platform.http.post(base, json={"content_type": "video/mp4"}, headers=alice.headers)

    assert platform.http.get(base, headers=bob.headers).status_code == 403
    assert platform.http.get(base).status_code == 401


def test_parts_are_listed_only_while_the_video_is_uploading_with_a_multipart_upload(
    platform: Platform, alice: Caller
) -> None:
    video_id = platform.create(alice)
    base = f"/api/videos/{video_id}/multipart"
    none_started = platform.http.get(base, headers=alice.headers)
    assert (none_started.status_code, none_started.json["error"]["code"]) == (409, "no_multipart_upload")

    queued = platform.queue(alice)
    closed = platform.http.get(f"/api/videos/{queued}/multipart", headers=alice.headers)
    assert (closed.status_code, closed.json["error"]["code"]) == (409, "already_uploaded")


def test_an_upload_the_lifecycle_aborted_answers_gone_and_can_be_started_again(
    platform: Platform, alice: Caller
) -> None:
    video_id = platform.create(alice)
    base = f"/api/videos/{video_id}/multipart"
    started = platform.http.post(base, json={"content_type": "video/mp4"}, headers=alice.headers).json
    s3(platform.resources).abort_multipart_upload(
        Bucket=platform.resources.uploads_bucket, Key=started["key"], UploadId=started["upload_id"]
    )

    gone = platform.http.get(base, headers=alice.headers)

    assert (gone.status_code, gone.json["error"]["code"]) == (409, "multipart_gone")
    assert platform.http.delete(base, headers=alice.headers).status_code == 204
    again = platform.http.post(base, json={"content_type": "video/mp4"}, headers=alice.headers)
    assert again.status_code == 201
    assert platform.http.get(base, headers=alice.headers).json["parts"] == []
