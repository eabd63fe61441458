"""SQS and SNS: every work queue has a dead-letter queue, and messages are encrypted at rest."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._support import document, is_true, known, linked, of_type, settings

QUEUE = "aws:sqs/queue:Queue"
REDRIVE_ALLOW = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"
TOPIC = "aws:sns/topic:Topic"

DLQ_SCHEMA = PolicyConfigSchema(
    properties={
        "maximumReceiveCount": {
            "type": "integer",
            "minimum": 1,
            "default": 10,
            "description": "the most receives before a message moves to the dead-letter queue",
        }
    }
)


def _dead_letter_queue(args: StackValidationArgs, report: ReportViolation) -> None:
    limit = int(settings(args, DLQ_SCHEMA)["maximumReceiveCount"])
    queues = of_type(args, QUEUE)
    # A queue that others redrive to, or that allows redrive from others, is itself a DLQ.
    dead_letter = {d.urn for q in queues for d in linked(q, "redrivePolicy", QUEUE)}
    dead_letter |= {d.urn for a in of_type(args, REDRIVE_ALLOW) for d in linked(a, "queueUrl", QUEUE)}
    for queue in queues:
        if queue.urn in dead_letter:
            continue
        redrive = document(known(queue.props, "redrivePolicy")) or {}
        if not redrive.get("deadLetterTargetArn"):
            report(f"queue {queue.name} has no redrive policy to a dead-letter queue", queue.urn)
            continue
        count = redrive.get("maxReceiveCount")
        if not isinstance(count, int | float) or not 1 <= count <= limit:
            report(f"queue {queue.name} redrives after {count} receives; allowed 1..{limit}", queue.urn)


def _sqs_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != QUEUE:
        return
    if not is_true(known(args.props, "sqsManagedSseEnabled")) and not known(args.props, "kmsMasterKeyId"):
        report(f"queue {args.name} sets neither sqsManagedSseEnabled nor kmsMasterKeyId", None)


def _sns_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == TOPIC and not known(args.props, "kmsMasterKeyId"):
        report(f"topic {args.name} has no kmsMasterKeyId", None)


POLICIES = [
    StackValidationPolicy(
        name="sqs-dead-letter-queue",
        description="Every SQS queue that is not itself a dead-letter queue redrives to one after a bounded number of receives.",
        validate=_dead_letter_queue,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=DLQ_SCHEMA,
    ),
    ResourceValidationPolicy(
        name="sqs-encryption",
        description="SQS queues encrypt messages at rest (SQS-managed SSE or KMS).",
        validate=_sqs_encrypted,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="sns-encryption",
        description="SNS topics encrypt messages at rest with a KMS key.",
        validate=_sns_encrypted,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
