"""IAM: no ``*`` actions, no ``*`` resources on write actions (but those AWS gives no resource type,
under a condition), no administrator policies attached.

Covers every IAM-style document a resource carries: identity policies, role trust and inline
policies, and the resource policies of buckets, queues and topics. Only ``Allow`` statements
grant anything, so ``Deny`` statements (such as a TLS-only bucket policy's ``s3:*``) pass.
"""

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

from ._support import allow_statements, as_list, known, policy_documents, settings


def _label(statement: Mapping[str, Any]) -> str:
    sid = statement.get("Sid")
    return f"statement {sid}" if sid else "a statement"


def _no_wildcard_action(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for doc in policy_documents(args.resource_type, args.props):
        for statement in allow_statements(doc):
            if "NotAction" in statement:
                report(f"{args.name}: {_label(statement)} allows everything but a list (NotAction)", None)
            wild = [a for a in as_list(statement.get("Action")) if str(a) == "*" or str(a).endswith(":*")]
            if wild:
                report(f"{args.name}: {_label(statement)} allows {', '.join(map(str, wild))}", None)


WRITE_SCHEMA = PolicyConfigSchema(
    properties={
        "readVerbs": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["Get", "List", "Describe", "Head", "Lookup", "Search", "Query", "Scan", "View"],
            "description": "action-name prefixes that only read; any other action counts as a write",
        },
        "resourcelessActions": {
            "type": "array",
            "items": {"type": "string"},
            # Session Manager's agent calls: the Service Authorization Reference lists no resource
            # type for them (ssm, ssmmessages), so only "*" can name what they act on.
            "default": [
                "ssm:UpdateInstanceInformation",
                "ssmmessages:CreateControlChannel",
                "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel",
            ],
            "description": "write actions AWS defines no resource type for; allowed on '*' under a Condition",
        },
    }
)


def _is_wildcard_resource(resource: Any) -> bool:
    text = str(resource)
    return text == "*" or (text.startswith("arn:") and text.split(":", 5)[-1] in ("*", "*/*"))


def _no_wildcard_resource_on_write(args: ResourceValidationArgs, report: ReportViolation) -> None:
    config = settings(args, WRITE_SCHEMA)
    read_verbs = tuple(config["readVerbs"])
    resourceless = set(config["resourcelessActions"])
    for doc in policy_documents(args.resource_type, args.props):
        for statement in allow_statements(doc):
            if "Principal" in statement and args.resource_type == "aws:iam/role:Role":
                continue  # a trust policy names who may assume the role, not what it may touch
            wildcards = [r for r in as_list(statement.get("Resource")) if _is_wildcard_resource(r)]
            if "NotResource" in statement:
                wildcards.append("everything but NotResource")
            writes = [
                str(a)
                for a in as_list(statement.get("Action"))
                if not str(a).split(":", 1)[-1].startswith(read_verbs)
                and not (str(a) in resourceless and statement.get("Condition"))
            ]
            if wildcards and writes:
                report(
                    f"{args.name}: {_label(statement)} allows {', '.join(writes)} on {', '.join(map(str, wildcards))}",
                    None,
                )


ADMIN_SCHEMA = PolicyConfigSchema(
    properties={
        "forbiddenPolicies": {
            "type": "array",
            "items": {"type": "string"},
            "default": [
                "arn:aws:iam::aws:policy/AdministratorAccess",
                "arn:aws:iam::aws:policy/PowerUserAccess",
                "arn:aws:iam::aws:policy/IAMFullAccess",
            ],
            "description": "managed policy ARNs that may never be attached",
        }
    }
)

ATTACHMENT_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)


def _no_admin_policies(args: ResourceValidationArgs, report: ReportViolation) -> None:
    forbidden = set(settings(args, ADMIN_SCHEMA)["forbiddenPolicies"])
    attached: list[Any] = []
    if args.resource_type in ATTACHMENT_TYPES:
        attached = [known(args.props, "policyArn")]
    elif args.resource_type == "aws:iam/role:Role":
        attached = as_list(known(args.props, "managedPolicyArns"))
    for arn in attached:
        if arn in forbidden:
            report(f"{args.name} attaches {arn}", None)


POLICIES = [
    ResourceValidationPolicy(
        name="iam-no-wildcard-action",
        description="No IAM or resource policy allows a '*' or 'service:*' action.",
        validate=_no_wildcard_action,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="iam-no-wildcard-resource-on-write",
        description="No policy allows a write action on a '*' resource.",
        validate=_no_wildcard_resource_on_write,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=WRITE_SCHEMA,
    ),
    ResourceValidationPolicy(
        name="iam-no-admin-policies",
        description="No administrator-level managed policy is attached to a role, user or group.",
        validate=_no_admin_policies,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=ADMIN_SCHEMA,
    ),
]
