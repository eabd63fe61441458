"""This instance's own SQS queue on the progress topic: created at start, removed at shutdown.

One queue per instance is what makes every instance see every event (ARCHITECTURE.md, fix 1);
IAM lets instances manage only queues under ``progress_queue_prefix``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
from dataclasses import dataclass
from typing import Any

import requests

from app.contracts.queue_policies import topic_to_queue_policy

log = logging.getLogger(__name__)

_IMDS = "http://169.254.169.254/latest"
_QUEUE_NAME_MAX = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
# Progress is live state: what an instance has not read within minutes is of no use to anyone.
QUEUE_ATTRIBUTES = {
    "MessageRetentionPeriod": "300",
    "VisibilityTimeout": "30",
    "ReceiveMessageWaitTimeSeconds": "20",
}


def _ec2_instance_id() -> str | None:
    """The EC2 instance id from IMDSv2, or None off EC2 (or with AWS_EC2_METADATA_DISABLED=true)."""
    if os.environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true":
        return None
    try:
        token = requests.put(
            f"{_IMDS}/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}, timeout=1
        )
        token.raise_for_status()
        answer = requests.get(
            f"{_IMDS}/meta-data/instance-id",
            headers={"X-aws-ec2-metadata-token": token.text},
            timeout=1,
        )
        answer.raise_for_status()
    except requests.RequestException:
        return None
    return answer.text.strip() or None


def resolve_instance_id(configured: str) -> str:
    """``configured`` if set, else the EC2 instance id, else ``<host>-<pid>``."""
    instance_id = configured or _ec2_instance_id() or f"{socket.gethostname()}-{os.getpid()}"
    return _UNSAFE.sub("-", instance_id).strip("-")


def queue_name(prefix: str, instance_id: str) -> str:
    name = prefix + instance_id
    if len(name) > _QUEUE_NAME_MAX:
        raise ValueError(f"progress queue name {name!r} is longer than {_QUEUE_NAME_MAX} characters")
    return name


@dataclass(frozen=True)
class InstanceQueue:
    name: str
    url: str
    arn: str
    subscription_arn: str


def create(sqs: Any, sns: Any, *, name: str, topic_arn: str) -> InstanceQueue:
    """Create the queue, let the topic send to it, subscribe it with raw delivery (idempotent)."""
    url = sqs.create_queue(QueueName=name, Attributes=QUEUE_ATTRIBUTES, tags={"service": "progress"})[
        "QueueUrl"
    ]
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
