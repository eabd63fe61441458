"""An idle worker reports the tasks in the DLQ failed (no attempt of theirs could) and leaves them there."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from app.contracts.messages import TaskMessageV1, VideoState
from app.contracts.names import TASK_MAX_RECEIVES
from app.transcoder.worker import Worker
from tests.app.transcoder.conftest import Pipeline, run_one

MakeWorker = Callable[..., Worker]


def _dead_letter(pipeline: Pipeline, body: str) -> None:
    pipeline.sqs.send_message(QueueUrl=pipeline.resources.task_dlq_url, MessageBody=body)


def _dead_task(pipeline: Pipeline) -> TaskMessageV1:
    task = TaskMessageV1(
        video_id=uuid.uuid4(),
        owner_id="user-1",
        source_bucket=pipeline.resources.uploads_bucket,
        source_key="uploads/x",
    )
    _dead_letter(pipeline, task.model_dump_json())
    return task


def _visible_in_dlq(pipeline: Pipeline) -> int:
    attributes = pipeline.sqs.get_queue_attributes(
        QueueUrl=pipeline.resources.task_dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_a_dead_lettered_task_is_reported_failed_once_per_sweep_and_stays_in_the_dlq(
    pipeline: Pipeline, make_worker: MakeWorker
) -> None:
    task = _dead_task(pipeline)
    worker = make_worker()
    worker.report_dead_letters()
    worker.report_dead_letters()  # the message is hidden now: nothing to report again
    pipeline.drain()
    events = pipeline.events_of(task.task_id)
    assert [(e.state, e.video_id) for e in events] == [(VideoState.FAILED, task.video_id)]
    # Above every attempt's sequences (attempt * 1_000_000 + n), the same on every report.
    assert events[0].sequence == (TASK_MAX_RECEIVES + 1) * 1_000_000
    assert events[0].error_reason and "dead-letter queue" in events[0].error_reason
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 1}
    assert _visible_in_dlq(pipeline) == 0


def test_a_dead_letter_that_is_not_a_task_is_left_alone(
    pipeline: Pipeline, make_worker: MakeWorker, caplog: pytest.LogCaptureFixture
) -> None:
    _dead_letter(pipeline, "{this is not json")
    make_worker().report_dead_letters()
    pipeline.drain()
    assert pipeline.events == []
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 1}
    assert "is not a task" in caplog.text


def test_a_dead_letter_that_could_not_be_reported_is_visible_again_for_the_next_sweep(
    pipeline: Pipeline, make_worker: MakeWorker
) -> None:
    _dead_task(pipeline)
    worker = make_worker(progress_topic_arn=pipeline.resources.progress_topic_arn + "-missing")
    worker.report_dead_letters()
    assert _visible_in_dlq(pipeline) == 1


def test_an_idle_poll_reports_the_dead_letters(pipeline: Pipeline, make_worker: MakeWorker) -> None:
    task = _dead_task(pipeline)
    assert make_worker().poll_once() == 0
    assert pipeline.terminal(task.task_id).state == VideoState.FAILED


def test_a_worker_with_a_task_to_do_does_not_read_the_dlq(
    pipeline: Pipeline, make_worker: MakeWorker
) -> None:
    dead = _dead_task(pipeline)
    live = TaskMessageV1(
        video_id=uuid.uuid4(),
        owner_id="user-1",
        source_bucket=pipeline.resources.uploads_bucket,
        source_key="uploads/missing",  # fails permanently at once
    )
    pipeline.send(live.model_dump_json())
    run_one(make_worker())
    assert pipeline.terminal(live.task_id).state == VideoState.FAILED
    pipeline.drain()
    assert pipeline.events_of(dead.task_id) == []
    assert _visible_in_dlq(pipeline) == 1
