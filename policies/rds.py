"""RDS: never publicly reachable, encrypted at rest, backups kept long enough, protected from deletion."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from ._support import is_true, known, settings

DATABASE_TYPES = ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster")


def _not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in DATABASE_TYPES and is_true(known(args.props, "publiclyAccessible")):
        report(f"database {args.name} sets publiclyAccessible; keep it in private subnets only", None)


def _encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in DATABASE_TYPES and not is_true(known(args.props, "storageEncrypted")):
        report(f"database {args.name} does not set storageEncrypted", None)


BACKUP_SCHEMA = PolicyConfigSchema(
    properties={
        "minimumDays": {
            "type": "integer",
            "minimum": 0,
            "maximum": 35,
            "default": 7,
            "description": "the shortest automated backup retention allowed, in days",
        }
    }
)


def _backups(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in DATABASE_TYPES:
        return
    minimum = int(settings(args, BACKUP_SCHEMA)["minimumDays"])
    days = known(args.props, "backupRetentionPeriod", 0)
    if float(days) < minimum:
        report(f"database {args.name} keeps backups {int(days)} days; at least {minimum} required", None)


def _deletion_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in DATABASE_TYPES and not is_true(known(args.props, "deletionProtection")):
        report(f"database {args.name} does not set deletionProtection", None)


POLICIES = [
    ResourceValidationPolicy(
        name="rds-not-public",
        description="RDS databases are not publicly accessible.",
        validate=_not_public,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="rds-encrypted",
        description="RDS databases encrypt their storage.",
        validate=_encrypted,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="rds-backup-retention",
        description="RDS databases keep automated backups for at least the configured number of days.",
        validate=_backups,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=BACKUP_SCHEMA,
    ),
    ResourceValidationPolicy(
        name="rds-deletion-protection",
        description="RDS databases have deletion protection on (prod).",
        validate=_deletion_protection,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
