"""The instance's own queue: its name, its policy, its subscription, their removal, and the sweep."""

from __future__ import annotations

import json
import os
import re
import socket
import time
import uuid
from typing import Any

import pytest

from app.contracts.names import SQS_QUEUE_NAME_MAX, ResourceNames, progress_queue_name
from app.local.provision import LocalResources, client
from app.progress import instance_queue


def test_instance_id_is_the_configured_one_made_safe_for_a_queue_name() -> None:
    assert instance_queue.resolve_instance_id("i-0abc") == "i-0abc"
    assert instance_queue.resolve_instance_id("host.example/7") == "host-example-7"


def test_instance_id_off_ec2_is_host_and_pid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    expected = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{socket.gethostname()}-{os.getpid()}")
    assert instance_queue.resolve_instance_id("") == expected


def test_each_boot_of_an_instance_names_its_queue_afresh() -> None:
    """SQS refuses a queue name for 60 s after that queue was deleted: "You must wait 60 seconds
    after deleting a queue before you can create another queue with the same name"
    (QueueDeletedRecently, https://docs.aws.amazon.com/botocore/latest/reference/services/sqs/client/exceptions/QueueDeletedRecently.html;
    DeleteQueue: "you must wait at least 60 seconds before creating a queue with the same name").
    The emulator does not enforce it (LOCAL-AWS.md), so the rule is tested here: a restarted
    instance must never ask for the name its previous boot just deleted."""
    first = progress_queue_name("p-progress-", "i-0abc", instance_queue.new_boot_id())
    again = progress_queue_name("p-progress-", "i-0abc", instance_queue.new_boot_id())
    assert first != again
    assert first.startswith("p-progress-i-0abc-") and again.startswith("p-progress-i-0abc-")


def test_queue_names_fit_sqs_limits_whatever_the_instance_id() -> None:
    """CreateQueue: "A queue name can have up to 80 characters. Valid values: alphanumeric
    characters, hyphens (-), and underscores (_)"
    (https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/sqs/aws.sdk.kotlin.services.sqs.model/-create-queue-request/queue-name.html,
    and the queue quotas, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html)."""
    longest_prefix = ResourceNames("r" * 32).progress_queue_prefix
    boot = instance_queue.new_boot_id()
    long_host_pid = instance_queue.resolve_instance_id("ip-10-0-0-1.eu-west-1.compute.internal/" + "7" * 60)
    for instance_id in ("i-0123456789abcdef0", long_host_pid):
        name = progress_queue_name(longest_prefix, instance_id, boot)
        assert len(name) <= SQS_QUEUE_NAME_MAX, name
        assert re.fullmatch(r"[A-Za-z0-9_-]+", name), name
        assert name.startswith(longest_prefix) and name.endswith(f"-{boot}"), name
    with pytest.raises(ValueError, match="no valid SQS queue name"):
        progress_queue_name("p-progress-", "host.example", boot)
    with pytest.raises(ValueError, match="no valid SQS queue name"):
        progress_queue_name("p" * 70 + "-progress-", "i-1", boot)


def test_create_subscribes_with_raw_delivery_lets_only_the_topic_send_and_delete_removes_both(
    local_resources: LocalResources,
) -> None:
    sqs = client("sqs", local_resources.endpoint_url)
    sns = client("sns", local_resources.endpoint_url)
    topic = local_resources.progress_topic_arn
    name = local_resources.names.progress_queue_prefix + "i-1"

    created = instance_queue.create(sqs, sns, name=name, topic_arn=topic, instance_id="i-1")
    again = instance_queue.create(sqs, sns, name=name, topic_arn=topic, instance_id="i-1")  # a retried start
    assert again == created

    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=created.url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    (statement,) = policy["Statement"]
    assert statement["Action"] == "sqs:SendMessage" and statement["Resource"] == created.arn
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": topic}}
    endpoints = [s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]]
    assert endpoints.count(created.arn) == 1
    raw = sns.get_subscription_attributes(SubscriptionArn=created.subscription_arn)["Attributes"]
    assert raw["RawMessageDelivery"] == "true"

    instance_queue.delete(sqs, sns, created)
    endpoints = [s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]]
    assert created.arn not in endpoints
    assert not sqs.list_queues(QueueNamePrefix=name).get("QueueUrls")


def test_a_failed_subscription_leaves_no_queue_behind(local_resources: LocalResources) -> None:
    sqs = client("sqs", local_resources.endpoint_url)
    sns = client("sns", local_resources.endpoint_url)
    name = local_resources.names.progress_queue_prefix + "i-2"
    missing_topic = local_resources.progress_topic_arn + "-missing"
    with pytest.raises(sns.exceptions.NotFoundException):
        instance_queue.create(sqs, sns, name=name, topic_arn=missing_topic, instance_id="i-2")
    assert not sqs.list_queues(QueueNamePrefix=name).get("QueueUrls")


def _queue(local_resources: LocalResources, instance_id: str) -> instance_queue.InstanceQueue:
    sqs = client("sqs", local_resources.endpoint_url)
    sns = client("sns", local_resources.endpoint_url)
    name = progress_queue_name(
        local_resources.names.progress_queue_prefix, instance_id, instance_queue.new_boot_id()
    )
    return instance_queue.create(
        sqs, sns, name=name, topic_arn=local_resources.progress_topic_arn, instance_id=instance_id
    )


def _exists(local_resources: LocalResources, queue: instance_queue.InstanceQueue) -> dict[str, Any]:
    """Whether the queue and its subscription are still there."""
    sqs = client("sqs", local_resources.endpoint_url)
    sns = client("sns", local_resources.endpoint_url)
    topic = local_resources.progress_topic_arn
    urls = sqs.list_queues(QueueNamePrefix=queue.name).get("QueueUrls", [])
    endpoints = [s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]]
    return {"queue": queue.url in urls, "subscription": queue.arn in endpoints}


def _sweep(local_resources: LocalResources, instance_id: str) -> list[str]:
    return instance_queue.sweep(
        client("sqs", local_resources.endpoint_url),
        client("sns", local_resources.endpoint_url),
        queue_prefix=local_resources.names.progress_queue_prefix,
        topic_arn=local_resources.progress_topic_arn,
        instance_id=instance_id,
    )


def test_a_boot_sweeps_its_instances_earlier_queue_and_leaves_live_and_foreign_ones(
    local_resources: LocalResources,
) -> None:
    me, other = f"i-{uuid.uuid4().hex[:8]}", f"i-{uuid.uuid4().hex[:8]}"
    earlier_boot = _queue(local_resources, me)  # killed: it never removed its queue
    alive = _queue(local_resources, other)
    sqs = client("sqs", local_resources.endpoint_url)
    foreign = sqs.create_queue(QueueName=f"{local_resources.names.progress_queue_prefix}{me}-foreign")[
        "QueueUrl"
    ]

    assert _sweep(local_resources, me) == [earlier_boot.url]

    assert _exists(local_resources, earlier_boot) == {"queue": False, "subscription": False}
    assert _exists(local_resources, alive) == {"queue": True, "subscription": True}
    assert (
        foreign in sqs.list_queues(QueueNamePrefix=local_resources.names.progress_queue_prefix)["QueueUrls"]
    )


def test_a_boot_sweeps_other_instances_queues_whose_heartbeat_stopped(
    local_resources: LocalResources,
) -> None:
    dead, beating, booting = (f"i-{uuid.uuid4().hex[:8]}" for _ in range(3))
    sqs = client("sqs", local_resources.endpoint_url)
    gone_quiet = _queue(local_resources, dead)
    still_beating = _queue(local_resources, beating)
    long_ago = str(int(time.time()) - instance_queue.STALE_AFTER_SECONDS - 1)
    for queue in (gone_quiet, still_beating):
        sqs.tag_queue(QueueUrl=queue.url, Tags={instance_queue.HEARTBEAT_TAG: long_ago})
    instance_queue.beat(sqs, still_beating.url)

    assert _sweep(local_resources, booting) == [gone_quiet.url]

    assert _exists(local_resources, gone_quiet) == {"queue": False, "subscription": False}
    assert _exists(local_resources, still_beating) == {"queue": True, "subscription": True}
