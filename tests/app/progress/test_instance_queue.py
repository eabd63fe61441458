"""The instance's own queue: its name, its policy, its subscription, and their removal."""

from __future__ import annotations

import json
import os
import re
import socket

import pytest

from app.local.provision import LocalResources, client
from app.progress import instance_queue


def test_instance_id_is_the_configured_one_made_safe_for_a_queue_name() -> None:
    assert instance_queue.resolve_instance_id("i-0abc") == "i-0abc"
    assert instance_queue.resolve_instance_id("host.example/7") == "host-example-7"


def test_instance_id_off_ec2_is_host_and_pid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    expected = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{socket.gethostname()}-{os.getpid()}")
    assert instance_queue.resolve_instance_id("") == expected


def test_queue_names_longer_than_sqs_allows_are_refused() -> None:
    assert instance_queue.queue_name("p-progress-", "i-1") == "p-progress-i-1"
    with pytest.raises(ValueError, match="longer than 80"):
        instance_queue.queue_name("p-progress-", "x" * 70)


def test_create_subscribes_with_raw_delivery_lets_only_the_topic_send_and_delete_removes_both(
    local_resources: LocalResources,
) -> None:
    sqs = client("sqs", local_resources.endpoint_url)
    sns = client("sns", local_resources.endpoint_url)
    topic = local_resources.progress_topic_arn
    name = local_resources.names.progress_queue_prefix + "i-1"

    created = instance_queue.create(sqs, sns, name=name, topic_arn=topic)
    again = instance_queue.create(sqs, sns, name=name, topic_arn=topic)  # a restart with the same id
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
        instance_queue.create(sqs, sns, name=name, topic_arn=missing_topic)
    assert not sqs.list_queues(QueueNamePrefix=name).get("QueueUrls")
