"""The reelstack policy pack: every policy, grouped by concern. ``__main__`` serves it; the runner evaluates it."""

from __future__ import annotations

from pulumi_policy import Policy

from . import (
    apigateway,
    cloudfront,
    compute,
    cost,
    dynamodb,
    iam,
    lambda_,
    notifications,
    queues,
    rds,
    s3,
    tags,
)

NAME = "reelstack"
DESCRIPTION = "Keeps reelstack's stacks private, encrypted, least-privileged, tagged and within budget."
CONCERNS = (
    s3,
    rds,
    dynamodb,
    iam,
    compute,
    queues,
    notifications,
    lambda_,
    apigateway,
    cloudfront,
    tags,
    cost,
)
POLICIES: list[Policy] = [policy for concern in CONCERNS for policy in concern.POLICIES]
