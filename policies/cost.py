"""Cost guard: instance types and database classes come from the stack's allow-list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from ._support import as_list, known, matches, settings

COST_SCHEMA = PolicyConfigSchema(
    properties={
        "allowedInstanceTypes": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["t4g.*", "t3.*", "t3a.*", "c7g.large", "c7g.xlarge"],
            "description": "glob patterns of EC2 instance types instances, launch templates and groups may use",
        },
        "allowedDatabaseClasses": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["db.t4g.*", "db.t3.*"],
            "description": "glob patterns of RDS instance classes",
        },
    }
)


def _instance_types(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    if resource_type in ("aws:ec2/instance:Instance", "aws:ec2/launchTemplate:LaunchTemplate"):
        return [t for t in [known(props, "instanceType")] if t]
    if resource_type == "aws:autoscaling/group:Group":
        mixed = known(props, "mixedInstancesPolicy") or {}
        template = mixed.get("launchTemplate") or {}
        return [o["instanceType"] for o in as_list(template.get("overrides")) if o.get("instanceType")]
    return []


def _allowed_sizes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    config = settings(args, COST_SCHEMA)
    for instance_type in _instance_types(args.resource_type, args.props):
        if not matches(instance_type, config["allowedInstanceTypes"]):
            report(f"{args.name} uses instance type {instance_type}, not in this stack's allow-list", None)
    if args.resource_type == "aws:rds/instance:Instance":
        db_class = known(args.props, "instanceClass")
        if db_class and not matches(db_class, config["allowedDatabaseClasses"]):
            report(f"{args.name} uses database class {db_class}, not in this stack's allow-list", None)


POLICIES = [
    ResourceValidationPolicy(
        name="cost-instance-types",
        description="EC2 instance types and RDS classes come from the stack's allow-list (small sizes in dev).",
        validate=_allowed_sizes,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=COST_SCHEMA,
    ),
]
