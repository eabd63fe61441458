"""This instance's own SQS queue on the progress topic: created at start, removed at shutdown.

One queue per instance is what makes every instance see every event (ARCHITECTURE.md, fix 1);
IAM lets instances manage only queues under ``progress_queue_prefix``. Each boot names its
queue afresh (``progress_queue_name``), and tags it with its instance and a heartbeat its
poller refreshes; an instance that dies without removing its queue (killed, crashed, its
machine gone) leaves a queue the next instance to boot sweeps away, subscription and all.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from app.contracts.names import QUEUE_NAME_UNSAFE
from app.contracts.queue_policies import topic_to_queue_policy
from app.instance_metadata import ec2_instance_id

log = logging.getLogger(__name__)

# Progress is live state: what an instance has not read within minutes is of no use to anyone.
QUEUE_ATTRIBUTES = {
    "MessageRetentionPeriod": "300",
    "VisibilityTimeout": "30",
    "ReceiveMessageWaitTimeSeconds": "20",
}
INSTANCE_TAG = "instance-id"
HEARTBEAT_TAG = "heartbeat"
# Tagging is limited to 30 requests per second per account (SQS queue quotas): one a minute per instance is far below.
HEARTBEAT_SECONDS = 60
# Ten missed heartbeats: a queue nobody has read for this long (its messages expire after 300 s) is dead.
STALE_AFTER_SECONDS = 600
BOOT_ID_BYTES = 6


def resolve_instance_id(configured: str) -> str:
    """``configured`` if set, else the EC2 instance id, else ``<host>-<pid>``."""
    instance_id = configured or ec2_instance_id() or f"{socket.gethostname()}-{os.getpid()}"
    return QUEUE_NAME_UNSAFE.sub("-", instance_id).strip("-")


def new_boot_id() -> str:
    """Twelve random hex digits: this boot's part of the queue name."""
    return secrets.token_hex(BOOT_ID_BYTES)


@dataclass(frozen=True)
class InstanceQueue:
    name: str
    url: str
    arn: str
    subscription_arn: str


def _heartbeat() -> dict[str, str]:
    return {HEARTBEAT_TAG: str(int(time.time()))}


def create(sqs: Any, sns: Any, *, name: str, topic_arn: str, instance_id: str) -> InstanceQueue:
    """Create the queue, let the topic send to it, subscribe it with raw delivery (idempotent)."""
    tags = {"service": "progress", INSTANCE_TAG: instance_id, **_heartbeat()}
    url = sqs.create_queue(QueueName=name, Attributes=QUEUE_ATTRIBUTES, tags=tags)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"Policy": json.dumps(topic_to_queue_policy(arn, topic_arn))}
    )
    try:
        subscription_arn = sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true"},
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
    except Exception:
        sqs.delete_queue(QueueUrl=url)  # a queue nothing sends to must not outlive a failed start
        raise
    log.info("subscribed queue %s to %s", name, topic_arn)
    return InstanceQueue(name=name, url=url, arn=arn, subscription_arn=subscription_arn)


def delete(sqs: Any, sns: Any, instance_queue: InstanceQueue) -> None:
    """Unsubscribe first, so the topic stops sending, then delete the queue."""
    sns.unsubscribe(SubscriptionArn=instance_queue.subscription_arn)
    sqs.delete_queue(QueueUrl=instance_queue.url)
    log.info("deleted queue %s and its subscription", instance_queue.name)


def beat(sqs: Any, queue_url: str) -> None:
    """Refresh the queue's heartbeat: its owner is alive."""
    sqs.tag_queue(QueueUrl=queue_url, Tags=_heartbeat())


def _is_dead(tags: dict[str, str], instance_id: str, now: float) -> bool:
    """A queue of an earlier boot of this instance, or one whose owner stopped beating."""
    heartbeat = tags.get(HEARTBEAT_TAG, "")
    if not heartbeat.isdigit():
        return False  # not made by this code: not ours to judge
    return tags.get(INSTANCE_TAG) == instance_id or now - int(heartbeat) > STALE_AFTER_SECONDS


def _queue_urls(sqs: Any, queue_prefix: str) -> Iterator[str]:
    # ListQueues: without MaxResults (the page size) AWS answers up to 1,000 queues and no NextToken.
    pages = sqs.get_paginator("list_queues").paginate(
        QueueNamePrefix=queue_prefix, PaginationConfig={"PageSize": 1000}
    )
    for page in pages:
        yield from page.get("QueueUrls", [])


def _dead_queues(sqs: Any, queue_prefix: str, instance_id: str, now: float) -> dict[str, str]:
    """ARN -> URL of the dead queues under the prefix; one another instance sweeps meanwhile is skipped."""
    dead = {}
    for url in _queue_urls(sqs, queue_prefix):
        try:
            tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
            if _is_dead(tags, instance_id, now):
                attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
                dead[attributes["Attributes"]["QueueArn"]] = url
        except sqs.exceptions.QueueDoesNotExist:
            continue
    return dead


def sweep(sqs: Any, sns: Any, *, queue_prefix: str, topic_arn: str, instance_id: str) -> list[str]:
    """Remove the queues (and their subscriptions) of dead instances; returns their URLs.

    Run at boot, before this boot creates its own queue, so any queue tagged with this
    instance's id is a previous boot's. Two instances booting together may sweep the same
    queue: whatever the other removed first is skipped.
    """
    dead = _dead_queues(sqs, queue_prefix, instance_id, time.time())
    if not dead:
        return []
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        for subscription in page.get("Subscriptions", []):
            # A subscription still pending confirmation has no ARN to unsubscribe by ("PendingConfirmation").
            if subscription["Endpoint"] in dead and subscription["SubscriptionArn"].startswith("arn:"):
                with contextlib.suppress(sns.exceptions.NotFoundException):  # unsubscribed meanwhile
                    sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    for url in dead.values():
        try:
            sqs.delete_queue(QueueUrl=url)
        except sqs.exceptions.QueueDoesNotExist:
            continue
        log.info("swept the queue %s of a dead instance and its subscription", url)
    return list(dead.values())
