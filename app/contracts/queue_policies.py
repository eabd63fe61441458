"""SQS queue policies that the Pulumi components and the services at run time both write."""

from __future__ import annotations

from typing import Any


def topic_to_queue_policy(queue_arn: str, topic_arn: str, sid: str = "FromProgressTopic") -> dict[str, Any]:
    """Let one SNS topic, and nothing else, send to the queue."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
