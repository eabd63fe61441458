"""An owner's retry of a failed video: a new task from the kept source, queued exactly once."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from botocore.exceptions import ClientError
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.backend import AwsClients, create_app
from app.backend.status_consumer import record_event
from app.contracts.messages import ProgressEventV1, VideoState, parse_task
from app.contracts.settings import BackendSettings
from tests.app.backend.conftest import Caller, Platform, drain, post_at_once, s3


def _failed(platform: Platform, caller: Caller, **fields: Any) -> str:
    video_id = platform.queue(caller, **fields)
    drain(platform.resources, platform.resources.task_queue_url)
    event = ProgressEventV1(
        task_id=platform.task_id(video_id),
        video_id=uuid.UUID(video_id),
        state=VideoState.FAILED,
        percent=40,
        sequence=7,
        error_reason="gave up after 3 attempts",
    )
    with Session(platform.engine) as session:
        assert record_event(session, event)
    return video_id


def test_a_failed_video_is_queued_again_under_a_new_task_from_its_kept_source(
    platform: Platform, alice: Caller
) -> None:
    video_id = _failed(platform, alice, filters=[{"type": "grayscale"}])
    before = platform.row(video_id)
    assert before is not None

    response = platform.http.post(f"/api/videos/{video_id}/retry", headers=alice.headers)

    assert response.status_code == 202, response.json
    assert response.json["status"] == "queued" and response.json["progress"] == 0
    assert response.json.get("error_reason") is None
    bodies = drain(platform.resources, platform.resources.task_queue_url)
    assert len(bodies) == 1
    task = parse_task(bodies[0])
    assert task.task_id != before.task_id and task.task_id == platform.task_id(video_id)
    assert task.source_key == before.source_key  # the kept source, not a new upload
    assert [f.type for f in task.filters] == ["grayscale"]
    after = platform.row(video_id)
    assert after is not None and after.last_sequence == -1 and after.error_reason is None


def test_concurrent_retries_queue_one_task(platform: Platform, alice: Caller, app: Flask) -> None:
    video_id = _failed(platform, alice)
    statuses = post_at_once(app, f"/api/videos/{video_id}/retry", alice.headers)

    assert 202 in statuses and set(statuses) <= {202, 409}  # the losers find it queued already
    assert len(drain(platform.resources, platform.resources.task_queue_url)) == 1


def test_only_a_failed_video_can_be_retried(platform: Platform, alice: Caller) -> None:
    queued = platform.queue(alice)
    ready = platform.ready(alice)
    drain(platform.resources, platform.resources.task_queue_url)
    for video_id, state in ((queued, "queued"), (ready, "ready")):
        response = platform.http.post(f"/api/videos/{video_id}/retry", headers=alice.headers)
        assert response.status_code == 409
        assert response.json["error"]["code"] == "not_failed"
        assert state in response.json["error"]["message"]
    assert drain(platform.resources, platform.resources.task_queue_url) == []


def test_a_failed_video_whose_source_is_gone_cannot_be_retried(platform: Platform, alice: Caller) -> None:
    video_id = _failed(platform, alice)
    row = platform.row(video_id)
    assert row is not None
    s3(platform.resources).delete_object(Bucket=platform.resources.uploads_bucket, Key=row.source_key)

    response = platform.http.post(f"/api/videos/{video_id}/retry", headers=alice.headers)

    assert response.status_code == 409
    assert response.json["error"]["code"] == "source_gone"
    assert drain(platform.resources, platform.resources.task_queue_url) == []
    after = platform.row(video_id)
    assert after is not None and after.status == VideoState.FAILED


def test_only_the_owner_retries(platform: Platform, alice: Caller, bob: Caller) -> None:
    public = _failed(platform, alice)
    private = _failed(platform, alice, visibility="private")
    assert platform.http.post(f"/api/videos/{public}/retry", headers=bob.headers).status_code == 403
    assert platform.http.post(f"/api/videos/{private}/retry", headers=bob.headers).status_code == 404
    assert platform.http.post(f"/api/videos/{public}/retry").status_code == 401
    assert drain(platform.resources, platform.resources.task_queue_url) == []


def test_a_retry_whose_task_cannot_be_sent_leaves_the_video_failed(
    platform: Platform, alice: Caller, settings: BackendSettings, engine: Engine, aws: AwsClients
) -> None:
    video_id = _failed(platform, alice)

    class FailingSqs:
        def send_message(self, **_: Any) -> None:
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessage")

    broken = create_app(settings, aws=dataclasses.replace(aws, sqs=FailingSqs()), engine=engine)
    response = broken.test_client().post(f"/api/videos/{video_id}/retry", headers=alice.headers)

    assert response.status_code == 503
    assert response.json["error"]["code"] == "queue_unavailable"
    row = platform.row(video_id)
    assert row is not None and row.status == VideoState.FAILED and row.error_reason
