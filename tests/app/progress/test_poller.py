"""The poller against the emulated SQS: valid events reach the hub, every message is deleted."""

from __future__ import annotations

import time
import uuid

from app.contracts.messages import VideoState
from app.local.provision import LocalResources, client
from app.progress import instance_queue
from app.progress.hub import Hub, StreamEvent
from app.progress.poller import UNHEALTHY_AFTER_FAILURES, Poller
from tests.app.progress.conftest import progress_event


def _remaining(sqs: object, url: str) -> int:
    attributes = sqs.get_queue_attributes(  # type: ignore[attr-defined]
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def test_invalid_messages_are_dropped_and_deleted_and_valid_ones_fanned_out(
    local_resources: LocalResources,
) -> None:
    sqs = client("sqs", local_resources.endpoint_url)
    url = sqs.create_queue(QueueName=f"{local_resources.names.progress_queue_prefix}poller")["QueueUrl"]
    video, task = uuid.uuid4(), uuid.uuid4()
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    sqs.send_message(QueueUrl=url, MessageBody='{"schema_version": 1, "state": "ready"}')
    sqs.send_message(QueueUrl=url, MessageBody=progress_event(video, task, 1).model_dump_json())
    hub = Hub(buffer_size=8, max_videos=8, max_streams=8)
    subscriber, _ = hub.subscribe(video)
    poller = Poller(sqs, url, hub, wait_seconds=1)

    consumed = 0
    for _ in range(5):  # a receive may return fewer messages than are queued
        consumed += poller.poll_once()
        if consumed == 3:
            break
    assert consumed == 3
    assert subscriber.next(0) == StreamEvent(VideoState.TRANSCODING, 10, 1)
    assert subscriber.next(0) is None
    assert _remaining(sqs, url) == 0


def test_polling_failures_mark_the_poller_unhealthy_until_a_poll_succeeds(
    local_resources: LocalResources,
) -> None:
    sqs = client("sqs", local_resources.endpoint_url)
    hub = Hub(buffer_size=8, max_videos=8, max_streams=8)
    missing = Poller(sqs, f"{local_resources.endpoint_url}/123456789012/no-such-queue", hub, wait_seconds=0)
    assert missing.healthy
    for _ in range(UNHEALTHY_AFTER_FAILURES):
        assert not missing.step()
    assert not missing.healthy

    url = sqs.create_queue(QueueName=f"{local_resources.names.progress_queue_prefix}healthy")["QueueUrl"]
    recovered = Poller(sqs, url, hub, wait_seconds=0)
    recovered.consecutive_failures = UNHEALTHY_AFTER_FAILURES
    assert recovered.step()
    assert recovered.healthy


def test_polling_refreshes_the_queues_heartbeat_so_booting_instances_leave_it(
    local_resources: LocalResources,
) -> None:
    sqs = client("sqs", local_resources.endpoint_url)
    url = sqs.create_queue(QueueName=f"{local_resources.names.progress_queue_prefix}beating")["QueueUrl"]
    hub = Hub(buffer_size=8, max_videos=8, max_streams=8)
    poller = Poller(sqs, url, hub, wait_seconds=0, heartbeat_seconds=3600)

    def heartbeat() -> int:
        return int(sqs.list_queue_tags(QueueUrl=url)["Tags"][instance_queue.HEARTBEAT_TAG])

    before = int(time.time())
    assert poller.step()
    first = heartbeat()
    assert first >= before
    sqs.tag_queue(QueueUrl=url, Tags={instance_queue.HEARTBEAT_TAG: "1"})
    assert poller.step()
    assert heartbeat() == 1  # not due again for an hour: one tag call per heartbeat, not per poll
