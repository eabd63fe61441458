"""``app.backend.videos.retranscode_video``, what ``reelstack retranscode`` queues per video."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.backend import AwsClients
from app.backend.models import Video
from app.backend.videos import retranscode_video
from app.contracts.errors import ApiError
from app.contracts.messages import VideoState, parse_task
from app.contracts.settings import BackendSettings
from tests.app.backend.conftest import Caller, Platform, drain, s3


def _retranscode(engine: Engine, aws: AwsClients, settings: BackendSettings, video_id: str) -> Video:
    with Session(engine, expire_on_commit=False) as session:
        video = session.get(Video, uuid.UUID(video_id))
        assert video is not None
        return retranscode_video(session, aws, settings, video)


def test_a_ready_video_is_queued_again_under_a_new_task_from_its_kept_source(
    platform: Platform, alice: Caller, engine: Engine, aws: AwsClients, settings: BackendSettings
) -> None:
    video_id = platform.ready(alice, filters=[{"type": "grayscale"}])
    drain(platform.resources, platform.resources.task_queue_url)
    before = platform.row(video_id)
    assert before is not None

    video = _retranscode(engine, aws, settings, video_id)

    assert video.status == VideoState.QUEUED and video.task_id != before.task_id
    bodies = drain(platform.resources, platform.resources.task_queue_url)
    assert len(bodies) == 1
    task = parse_task(bodies[0])
    assert task.task_id == video.task_id
    assert task.source_key == before.source_key  # the kept source, no new upload
    assert [f.type for f in task.filters] == ["grayscale"]


def test_a_video_not_finished_is_not_queued_twice(
    platform: Platform, alice: Caller, engine: Engine, aws: AwsClients, settings: BackendSettings
) -> None:
    video_id = platform.queue(alice)
    drain(platform.resources, platform.resources.task_queue_url)
    with pytest.raises(ApiError) as refused:
        _retranscode(engine, aws, settings, video_id)
    assert (refused.value.status, refused.value.code) == (409, "not_finished")
    assert drain(platform.resources, platform.resources.task_queue_url) == []


def test_a_source_gone_or_archived_beyond_instant_reach_is_reported_and_nothing_queued(
    platform: Platform, alice: Caller, engine: Engine, aws: AwsClients, settings: BackendSettings
) -> None:
    """S3 Glacier Flexible Retrieval (GLACIER) and Deep Archive objects "are archived and not
    accessible in real time": a GetObject needs a RestoreObject first, while Glacier Instant
    Retrieval, where kept sources go, reads directly
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/archived-objects.html). HeadObject names
    the class in x-amz-storage-class and a finished restore as ``ongoing-request="false"`` in
    x-amz-restore (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html)."""
    gone, archived, instant = (platform.ready(alice) for _ in range(3))
    drain(platform.resources, platform.resources.task_queue_url)
    client, bucket = s3(platform.resources), platform.resources.uploads_bucket
    rows = {v: platform.row(v) for v in (gone, archived, instant)}
    client.delete_object(Bucket=bucket, Key=rows[gone].source_key)  # type: ignore[union-attr]
    for video_id, storage_class in ((archived, "DEEP_ARCHIVE"), (instant, "GLACIER_IR")):
        key = rows[video_id].source_key  # type: ignore[union-attr]
        client.copy_object(
            Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key}, StorageClass=storage_class
        )

    for video_id, code in ((gone, "source_gone"), (archived, "source_archived")):
        with pytest.raises(ApiError) as refused:
            _retranscode(engine, aws, settings, video_id)
        assert (refused.value.status, refused.value.code) == (409, code)
        row = platform.row(video_id)
        assert row is not None and row.status == VideoState.READY
    assert "DEEP_ARCHIVE" in refused.value.message and "restore" in refused.value.message
    assert drain(platform.resources, platform.resources.task_queue_url) == []

    assert _retranscode(engine, aws, settings, instant).status == VideoState.QUEUED
    assert len(drain(platform.resources, platform.resources.task_queue_url)) == 1
