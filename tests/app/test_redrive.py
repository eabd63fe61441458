"""``reelstack redrive``: the DLQ's tasks go back to the task queue once, each idempotent."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from app import redrive
from app.contracts.messages import REDRIVES_ATTRIBUTE, TaskMessageV1, VideoState, attempt_number
from app.contracts.names import TASK_MAX_RECEIVES
from app.contracts.tickets import media_key_prefix
from app.transcoder.worker import Worker
from tests.app.transcoder import conftest as transcoder_fixtures
from tests.app.transcoder.conftest import Pipeline, clip, run_one

MakeWorker = Callable[..., Worker]
pipeline = transcoder_fixtures.pipeline
make_worker = transcoder_fixtures.make_worker


def _queues(pipeline: Pipeline) -> redrive.Queues:
    resources = pipeline.resources
    return redrive.Queues(resources.task_queue_url, resources.task_dlq_url, resources.media_bucket)


def _to_dlq(pipeline: Pipeline, task: TaskMessageV1) -> None:
    """``task`` as the queue's redrive policy leaves it after its last failed receive."""
    queued = pipeline.sqs.receive_message(QueueUrl=pipeline.resources.task_queue_url, WaitTimeSeconds=1)
    [message] = queued["Messages"]
    assert TaskMessageV1.model_validate_json(message["Body"]).task_id == task.task_id
    pipeline.sqs.delete_message(
        QueueUrl=pipeline.resources.task_queue_url, ReceiptHandle=message["ReceiptHandle"]
    )
    pipeline.sqs.send_message(QueueUrl=pipeline.resources.task_dlq_url, MessageBody=message["Body"])


def _run(pipeline: Pipeline, *, list_only: bool = False) -> tuple[int, list[str]]:
    said: list[str] = []
    count = redrive.run(
        pipeline.sqs, pipeline.s3, _queues(pipeline), list_only=list_only, wait_seconds=0, say=said.append
    )
    return count, said


def test_a_dead_lettered_task_is_sent_back_and_transcoded_to_ready_after_its_failed_report(
    pipeline: Pipeline, make_worker: MakeWorker, tmp_path: Path
) -> None:
    task = pipeline.submit(clip(tmp_path / "clip.mp4", "320x180", 1))
    _to_dlq(pipeline, task)

    sent, said = _run(pipeline)

    assert sent == 1 and str(task.task_id) in said[0]
    assert pipeline.messages_left() == {"tasks": 1, "dlq": 0}
    worker = make_worker(ladder="180")
    run_one(worker)
    ready = pipeline.terminal(task.task_id)
    assert ready.state == VideoState.READY
    # After the dead-letter report of the first run (its failed event), so the backend records it.
    assert ready.sequence > attempt_number(TASK_MAX_RECEIVES + 1) * 1_000_000
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 0}


def test_a_redriven_task_counts_its_redrives_and_a_second_redrive_one_more(pipeline: Pipeline) -> None:
    task = TaskMessageV1(
        video_id=uuid.uuid4(), owner_id="u", source_bucket=pipeline.resources.uploads_bucket, source_key="k"
    )
    pipeline.sqs.send_message(QueueUrl=pipeline.resources.task_dlq_url, MessageBody=task.model_dump_json())
    for expected in ("1", "2"):
        assert _run(pipeline)[0] == 1
        [message] = pipeline.sqs.receive_message(
            QueueUrl=pipeline.resources.task_queue_url, MessageAttributeNames=[REDRIVES_ATTRIBUTE]
        )["Messages"]
        assert message["MessageAttributes"][REDRIVES_ATTRIBUTE]["StringValue"] == expected
        pipeline.sqs.delete_message(
            QueueUrl=pipeline.resources.task_queue_url, ReceiptHandle=message["ReceiptHandle"]
        )
        pipeline.sqs.send_message(
            QueueUrl=pipeline.resources.task_dlq_url,
            MessageBody=message["Body"],
            MessageAttributes={REDRIVES_ATTRIBUTE: message["MessageAttributes"][REDRIVES_ATTRIBUTE]},
        )


def test_a_task_whose_outputs_are_complete_is_dropped_not_transcoded_again(pipeline: Pipeline) -> None:
    task = TaskMessageV1(
        video_id=uuid.uuid4(), owner_id="u", source_bucket=pipeline.resources.uploads_bucket, source_key="k"
    )
    pipeline.s3.put_object(
        Bucket=pipeline.resources.media_bucket,
        Key=media_key_prefix(task.video_id, task.task_id) + redrive.MASTER_PLAYLIST,
        Body=b"#EXTM3U\n",
    )
    pipeline.sqs.send_message(QueueUrl=pipeline.resources.task_dlq_url, MessageBody=task.model_dump_json())

    sent, said = _run(pipeline)

    assert sent == 0 and said[0].startswith("dropped (already transcoded)")
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 0}


def test_listing_leaves_the_dlq_as_it_was_and_a_message_that_is_not_a_task_stays(pipeline: Pipeline) -> None:
    task = TaskMessageV1(
        video_id=uuid.uuid4(), owner_id="u", source_bucket=pipeline.resources.uploads_bucket, source_key="k"
    )
    pipeline.sqs.send_message(QueueUrl=pipeline.resources.task_dlq_url, MessageBody=task.model_dump_json())
    pipeline.sqs.send_message(QueueUrl=pipeline.resources.task_dlq_url, MessageBody="{not a task")

    listed, said = _run(pipeline, list_only=True)
    assert listed == 2 and any(str(task.video_id) in line for line in said)
    assert pipeline.messages_left() == {"tasks": 0, "dlq": 2}
    assert redrive.hidden_count(pipeline.sqs, pipeline.resources.task_dlq_url) == 0  # visible again at once

    sent, said = _run(pipeline)
    assert sent == 1 and any(line.startswith("left") and "not a task" in line for line in said)
    assert pipeline.messages_left() == {"tasks": 1, "dlq": 1}


def test_a_dead_letter_hidden_by_a_transcoders_report_is_named_not_silently_missed(
    pipeline: Pipeline, make_worker: MakeWorker
) -> None:
    task = TaskMessageV1(
        video_id=uuid.uuid4(), owner_id="u", source_bucket=pipeline.resources.uploads_bucket, source_key="k"
    )
    pipeline.sqs.send_message(QueueUrl=pipeline.resources.task_dlq_url, MessageBody=task.model_dump_json())
    make_worker().report_dead_letters()

    sent, said = _run(pipeline)

    assert sent == 0
    assert said and said[-1].startswith("1 more hidden") and "--wait-seconds" in said[-1]
