"""The status consumer records progress events idempotently and leaves poison messages for the DLQ."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.backend.db import session_factory
from app.backend.models import Video
from app.backend.status_consumer import StatusConsumer, record_event, run_both
from app.contracts.messages import (
    SEQUENCES_PER_ATTEMPT,
    PlayableOutputs,
    ProgressEventV1,
    VideoEventType,
    VideoState,
    attempt_number,
)
from app.contracts.names import TASK_MAX_RECEIVES, caption_key_prefix, poster_key_prefix
from app.contracts.tickets import media_key_prefix
from app.local.provision import LocalResources, client
from tests.app.backend.conftest import (
    add_queued_video,
    ready_event,
    video_events_observer,
    video_events_received,
)

TASK = uuid.UUID("00000000-0000-4000-8000-000000000001")


@pytest.fixture
def video_id(engine: Engine) -> uuid.UUID:
    """A queued video whose current task is TASK."""
    return add_queued_video(engine, TASK)


def _event(
    video_id: uuid.UUID, sequence: int, state: VideoState = VideoState.TRANSCODING, **fields: object
) -> ProgressEventV1:
    return ProgressEventV1.model_validate(
        {
            "task_id": TASK,
            "video_id": video_id,
            "state": state,
            "percent": min(sequence * 10, 100),
            "sequence": sequence,
            **fields,
        }
    )


def _apply(engine: Engine, event: ProgressEventV1) -> bool:
    with Session(engine) as session:
        return record_event(session, event)


def _video(engine: Engine, video_id: uuid.UUID) -> Video:
    with Session(engine) as session:
        video = session.get(Video, video_id)
        assert video is not None
        return video


def test_events_move_the_video_forward_and_ready_records_the_outputs(
    engine: Engine, video_id: uuid.UUID
) -> None:
    assert _apply(engine, _event(video_id, 1))
    assert (_video(engine, video_id).status, _video(engine, video_id).progress) == (
        VideoState.TRANSCODING,
        10,
    )

    assert _apply(engine, ready_event(str(video_id), TASK, sequence=7))

    video = _video(engine, video_id)
    assert (video.status, video.progress, video.last_sequence) == (VideoState.READY, 100, 7)
    assert video.duration_seconds == 10.0
    assert video.master_playlist_key == f"videos/{video_id}/{TASK}/master.m3u8"
    candidates = [f"videos/{video_id}/{TASK}/candidates/candidate-{n}.jpg" for n in (1, 2, 3)]
    assert (video.thumbnail_key, video.thumbnail_candidates) == (candidates[0], candidates)
    assert video.download_key is None
    assert [r["height"] for r in video.renditions] == [720, 360]


def test_a_video_playing_early_keeps_its_master_playlist_through_later_progress_until_ready(
    engine: Engine, video_id: uuid.UUID
) -> None:
    key = f"videos/{video_id}/{TASK}/master.m3u8"
    playable = PlayableOutputs(master_playlist_key=key, heights=[240])
    assert _apply(engine, _event(video_id, 2, playable=playable))
    assert _apply(engine, _event(video_id, 3))
    video = _video(engine, video_id)
    assert (video.status, video.progress, video.master_playlist_key) == (VideoState.TRANSCODING, 30, key)
    assert _apply(engine, ready_event(str(video_id), TASK, sequence=7))
    assert _video(engine, video_id).master_playlist_key == key


def test_duplicates_and_older_events_are_ignored(engine: Engine, video_id: uuid.UUID) -> None:
    assert _apply(engine, _event(video_id, 5))
    assert not _apply(engine, _event(video_id, 5))
    assert not _apply(engine, _event(video_id, 3))
    video = _video(engine, video_id)
    assert (video.progress, video.last_sequence) == (50, 5)


def test_a_terminal_state_is_never_overwritten(engine: Engine, video_id: uuid.UUID) -> None:
    assert _apply(engine, _event(video_id, 4, VideoState.FAILED, error_reason="not a video"))
    assert not _apply(engine, _event(video_id, 2))
    assert not _apply(engine, _event(video_id, 9))
    assert not _apply(engine, ready_event(str(video_id), TASK, sequence=10))
    video = _video(engine, video_id)
    assert (video.status, video.error_reason, video.last_sequence) == (VideoState.FAILED, "not a video", 4)


def _first_of(attempt: int) -> int:
    return attempt * SEQUENCES_PER_ATTEMPT


def test_a_redriven_run_revives_the_video_its_dead_letter_report_failed(
    engine: Engine, video_id: uuid.UUID
) -> None:
    dead_letter = _first_of(attempt_number(TASK_MAX_RECEIVES + 1))
    assert _apply(engine, _event(video_id, dead_letter, VideoState.FAILED, error_reason="in the DLQ"))
    redriven = _first_of(attempt_number(1, redrives=1))

    assert _apply(engine, _event(video_id, redriven))
    assert _video(engine, video_id).status == VideoState.TRANSCODING
    assert _apply(engine, ready_event(str(video_id), TASK, sequence=redriven + 5))
    assert _video(engine, video_id).status == VideoState.READY
    # The old run's failure, delivered late, changes nothing.
    assert not _apply(engine, _event(video_id, dead_letter + 1, VideoState.FAILED, error_reason="late"))


def test_a_redriven_run_never_revives_a_failure_of_its_own_run(engine: Engine, video_id: uuid.UUID) -> None:
    redriven = _first_of(attempt_number(1, redrives=1))
    assert _apply(engine, _event(video_id, redriven, VideoState.FAILED, error_reason="not a video"))
    assert not _apply(engine, _event(video_id, _first_of(attempt_number(2, redrives=1))))
    assert _video(engine, video_id).status == VideoState.FAILED


def test_a_redriven_run_never_revives_a_ready_video(engine: Engine, video_id: uuid.UUID) -> None:
    assert _apply(engine, ready_event(str(video_id), TASK, sequence=5))
    assert not _apply(engine, _event(video_id, _first_of(attempt_number(1, redrives=1))))
    assert _video(engine, video_id).status == VideoState.READY


def test_events_of_another_task_or_an_unknown_video_change_nothing(
    engine: Engine, video_id: uuid.UUID
) -> None:
    stale_task = ProgressEventV1(
        task_id=uuid.uuid4(), video_id=video_id, state=VideoState.TRANSCODING, percent=80, sequence=8
    )
    assert not _apply(engine, stale_task)
    assert not _apply(engine, _event(uuid.uuid4(), 3))
    video = _video(engine, video_id)
    assert (video.status, video.progress, video.last_sequence) == (VideoState.QUEUED, 0, -1)


@pytest.fixture
def status_queue(local_resources: LocalResources) -> Iterator[tuple[str, str]]:
    """A status queue redriving to a DLQ after 2 receives, with no visibility delay between them."""
    sqs = client("sqs", local_resources.endpoint_url)
    name = f"{local_resources.names.prefix}-{uuid.uuid4().hex[:8]}"
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "0",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
        },
    )["QueueUrl"]
    yield queue, dlq
    sqs.delete_queue(QueueUrl=queue)
    sqs.delete_queue(QueueUrl=dlq)


def _consumer(sqs: Any, queue: str, engine: Engine, resources: LocalResources) -> StatusConsumer:
    return StatusConsumer(
        sqs,
        queue,
        session_factory(engine),
        s3=client("s3", resources.endpoint_url),
        media_bucket=resources.media_bucket,
        sns=client("sns", resources.endpoint_url),
        video_events_topic_arn=resources.video_events_topic_arn,
        wait_seconds=0,
    )


def _count(sqs: object, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(  # type: ignore[attr-defined]
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_consumer_records_deletes_and_leaves_poison_for_the_dlq(
    engine: Engine, video_id: uuid.UUID, local_resources: LocalResources, status_queue: tuple[str, str]
) -> None:
    queue, dlq = status_queue
    sqs = client("sqs", local_resources.endpoint_url)
    for sequence in (2, 1, 2):  # out of order, with a duplicate
        sqs.send_message(QueueUrl=queue, MessageBody=_event(video_id, sequence).model_dump_json())
    sqs.send_message(QueueUrl=queue, MessageBody='{"state": "ready"}')
    consumer = _consumer(sqs, queue, engine, local_resources)

    recorded = sum(consumer.poll_once() for _ in range(4))

    assert recorded == 3
    video = _video(engine, video_id)
    assert (video.status, video.progress, video.last_sequence) == (VideoState.TRANSCODING, 20, 2)
    assert _count(sqs, queue) == 0
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in dead] == ['{"state": "ready"}']


def test_consumer_keeps_running_when_the_queue_cannot_be_read(
    engine: Engine, local_resources: LocalResources
) -> None:
    stop = threading.Event()

    class CountingConsumer(StatusConsumer):
        polls = 0

        def poll_once(self) -> int:
            CountingConsumer.polls += 1
            if CountingConsumer.polls == 2:
                stop.set()
            return super().poll_once()

    sqs = client("sqs", local_resources.endpoint_url)
    missing_queue = f"{local_resources.endpoint_url}/123456789012/no-such-queue-{uuid.uuid4().hex[:8]}"
    consumer = CountingConsumer(
        sqs,
        missing_queue,
        session_factory(engine),
        s3=client("s3", local_resources.endpoint_url),
        media_bucket=local_resources.media_bucket,
        sns=client("sns", local_resources.endpoint_url),
        video_events_topic_arn=local_resources.video_events_topic_arn,
        wait_seconds=0,
        retry_seconds=0,
    )

    consumer.run(stop)  # returns when stopped instead of raising on the first failed receive

    assert CountingConsumer.polls == 2


def test_outputs_of_a_video_deleted_while_transcoding_are_deleted_and_no_others(
    engine: Engine, video_id: uuid.UUID, local_resources: LocalResources, status_queue: tuple[str, str]
) -> None:
    queue, _ = status_queue
    sqs, s3 = client("sqs", local_resources.endpoint_url), client("s3", local_resources.endpoint_url)
    bucket = local_resources.media_bucket
    deleted = uuid.uuid4()  # its row is gone: deleted after its task was queued
    orphans = [f"{media_key_prefix(deleted, TASK)}{name}" for name in ("master.m3u8", "720/index.m3u8")]
    kept = f"{media_key_prefix(video_id, TASK)}master.m3u8"
    for key in [*orphans, kept]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"#EXTM3U\n")
    sqs.send_message(
        QueueUrl=queue, MessageBody=ready_event(str(deleted), TASK, sequence=3).model_dump_json()
    )

    assert _consumer(sqs, queue, engine, local_resources).poll_once() == 1

    remaining = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert not remaining & set(orphans)
    assert kept in remaining


def test_outputs_of_a_task_superseded_by_a_retry_are_deleted_and_the_current_ones_kept(
    engine: Engine, video_id: uuid.UUID, local_resources: LocalResources, status_queue: tuple[str, str]
) -> None:
    queue, _ = status_queue
    sqs, s3 = client("sqs", local_resources.endpoint_url), client("s3", local_resources.endpoint_url)
    bucket = local_resources.media_bucket
    old_task = uuid.uuid4()  # the video was retried under TASK; an operator then redrove the old task
    orphan = f"{media_key_prefix(video_id, old_task)}master.m3u8"
    kept = f"{media_key_prefix(video_id, TASK)}master.m3u8"
    for key in (orphan, kept):
        s3.put_object(Bucket=bucket, Key=key, Body=b"#EXTM3U\n")
    sqs.send_message(
        QueueUrl=queue, MessageBody=ready_event(str(video_id), old_task, sequence=3).model_dump_json()
    )

    assert _consumer(sqs, queue, engine, local_resources).poll_once() == 1

    remaining = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert orphan not in remaining and kept in remaining
    assert _video(engine, video_id).status == VideoState.QUEUED


def test_when_a_new_task_is_ready_the_outputs_of_the_videos_earlier_tasks_are_deleted(
    engine: Engine, video_id: uuid.UUID, local_resources: LocalResources, status_queue: tuple[str, str]
) -> None:
    """A video transcoded again (``reelstack retranscode``) is ready under its new task: the
    outputs of the task it replaced go, as a superseded task's do; its caption tracks and the
    poster its owner uploaded, which belong to no task, and another video's outputs stay."""
    queue, _ = status_queue
    sqs, s3 = client("sqs", local_resources.endpoint_url), client("s3", local_resources.endpoint_url)
    bucket = local_resources.media_bucket
    replaced = [f"{media_key_prefix(video_id, uuid.uuid4())}{name}" for name in ("master.m3u8", "720p/0.ts")]
    current = f"{media_key_prefix(video_id, TASK)}master.m3u8"
    elsewhere = f"{media_key_prefix(uuid.uuid4(), uuid.uuid4())}master.m3u8"
    captions = f"{caption_key_prefix(video_id)}en.vtt"
    poster = f"{poster_key_prefix(video_id)}chosen.jpg"
    for key in (*replaced, current, elsewhere, captions, poster):
        s3.put_object(Bucket=bucket, Key=key, Body=b"#EXTM3U\n")
    sqs.send_message(
        QueueUrl=queue, MessageBody=ready_event(str(video_id), TASK, sequence=3).model_dump_json()
    )

    assert _consumer(sqs, queue, engine, local_resources).poll_once() == 1

    remaining = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert not set(replaced) & remaining
    assert {current, elsewhere, captions, poster} <= remaining
    assert _video(engine, video_id).status == VideoState.READY


def test_a_recorded_outcome_is_announced_once_on_the_video_events_topic(
    engine: Engine, video_id: uuid.UUID, local_resources: LocalResources, status_queue: tuple[str, str]
) -> None:
    queue, _ = status_queue
    sqs = client("sqs", local_resources.endpoint_url)
    observer = video_events_observer(local_resources)
    ready = ready_event(str(video_id), TASK, sequence=3)
    for event in (_event(video_id, 1), ready, ready):  # the second ready: SNS delivered it twice
        sqs.send_message(QueueUrl=queue, MessageBody=event.model_dump_json())

    consumer = _consumer(sqs, queue, engine, local_resources)
    while consumer.poll_once():
        pass

    [announced] = video_events_received(local_resources, observer)
    assert (announced.type, announced.video_id, announced.task_id) == (VideoEventType.READY, video_id, TASK)
    assert announced.owner_id == "owner" and announced.duration_seconds == 10.0


def test_a_failure_is_announced_with_its_reason_and_again_when_its_announcement_failed(
    engine: Engine, video_id: uuid.UUID, local_resources: LocalResources, status_queue: tuple[str, str]
) -> None:
    queue, _ = status_queue
    sqs = client("sqs", local_resources.endpoint_url)
    observer = video_events_observer(local_resources)
    failed = _event(video_id, 4, VideoState.FAILED, error_reason="not a video")
    sqs.send_message(QueueUrl=queue, MessageBody=failed.model_dump_json())

    class DownSns:
        def publish(self, **_: object) -> None:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "down"}}, "Publish")

    broken = _consumer(sqs, queue, engine, local_resources)
    broken.sns = DownSns()
    with pytest.raises(ClientError):
        broken.poll_once()  # recorded, not announced, not deleted
    assert _video(engine, video_id).status == VideoState.FAILED

    assert _consumer(sqs, queue, engine, local_resources).poll_once() == 1

    [announced] = video_events_received(local_resources, observer)
    assert (announced.type, announced.error_reason) == (VideoEventType.FAILED, "not a video")


class _Looping:
    """A loop that runs until stopped, or fails at once with ``error``."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.stopped = False

    def run(self, stop: threading.Event) -> None:
        if self.error:
            raise self.error
        stop.wait(30)
        self.stopped = stop.is_set()


def test_a_failed_webhook_deliverer_stops_the_process_with_a_failure() -> None:
    """One process runs both loops: a dead delivery thread must not leave webhooks silent while
    statuses flow, so the consumer stops too and the exit code asks systemd for a restart."""
    consumer = _Looping()
    assert run_both(consumer, _Looping(RuntimeError("bug")), threading.Event()) == 1
    assert consumer.stopped


def test_a_failed_status_consumer_stops_the_deliverer_and_raises() -> None:
    deliverer = _Looping()
    with pytest.raises(RuntimeError):
        run_both(_Looping(RuntimeError("bug")), deliverer, threading.Event())
    assert deliverer.stopped


def test_a_stop_ends_both_loops_with_success() -> None:
    stop = threading.Event()
    consumer, deliverer = _Looping(), _Looping()
    threading.Timer(0.2, stop.set).start()
    assert run_both(consumer, deliverer, stop) == 0
    assert consumer.stopped and deliverer.stopped
