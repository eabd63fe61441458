"""DynamoDB: tables encrypted with a KMS key, and recoverable (point-in-time recovery, deletion protection)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from ._support import is_true, known

TABLE = "aws:dynamodb/table:Table"


def _enabled(props: Mapping[str, Any], key: str) -> bool:
    block = known(props, key) or {}
    return isinstance(block, Mapping) and is_true(block.get("enabled"))


def _kms_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # Without it a table is encrypted with a key AWS owns, whose use no CloudTrail of ours records.
    if args.resource_type == TABLE and not _enabled(args.props, "serverSideEncryption"):
        report(f"table {args.name} does not set serverSideEncryption.enabled (a KMS key)", None)


def _recoverable(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != TABLE:
        return
    if not _enabled(args.props, "pointInTimeRecovery"):
        report(f"table {args.name} has no point-in-time recovery", None)
    if not is_true(known(args.props, "deletionProtectionEnabled")):
        report(f"table {args.name} does not set deletionProtectionEnabled", None)


POLICIES = [
    ResourceValidationPolicy(
        name="dynamodb-kms-encryption",
        description="DynamoDB tables are encrypted with a KMS key.",
        validate=_kms_encrypted,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="dynamodb-recoverable",
        description="DynamoDB tables have point-in-time recovery and deletion protection (prod).",
        validate=_recoverable,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
