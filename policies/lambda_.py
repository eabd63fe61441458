"""Lambda: timeouts within bounds, and a log group that does not keep logs forever."""

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

from ._support import known, of_type, settings

FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
DEFAULT_TIMEOUT = 3  # seconds, when a function sets none

TIMEOUT_SCHEMA = PolicyConfigSchema(
    properties={
        "minimumSeconds": {"type": "integer", "minimum": 1, "default": 1},
        "maximumSeconds": {
            "type": "integer",
            "minimum": 1,
            "maximum": 900,
            "default": 29,
            "description": "API Gateway gives up on an integration after 29 s",
        },
    }
)


def _timeout(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != FUNCTION:
        return
    config = settings(args, TIMEOUT_SCHEMA)
    timeout = float(known(args.props, "timeout", DEFAULT_TIMEOUT))
    if not config["minimumSeconds"] <= timeout <= config["maximumSeconds"]:
        report(
            f"function {args.name} times out after {timeout:g} s; "
            f"allowed {config['minimumSeconds']}..{config['maximumSeconds']} s",
            None,
        )


RETENTION_SCHEMA = PolicyConfigSchema(
    properties={
        "minimumDays": {"type": "integer", "minimum": 1, "default": 7},
        "maximumDays": {"type": "integer", "minimum": 1, "default": 3653},
    }
)


def _log_retention(args: StackValidationArgs, report: ReportViolation) -> None:
    config = settings(args, RETENTION_SCHEMA)
    groups = {known(g.props, "name"): g for g in of_type(args, LOG_GROUP) if known(g.props, "name")}
    for function in of_type(args, FUNCTION):
        logging = known(function.props, "loggingConfig") or {}
        name = logging.get("logGroup") or f"/aws/lambda/{known(function.props, 'name', function.name)}"
        group = groups.get(name)
        if group is None:
            report(
                f"function {function.name} logs to {name}, which no log group in the stack manages",
                function.urn,
            )
            continue
        days = known(group.props, "retentionInDays", 0)
        if not config["minimumDays"] <= float(days) <= config["maximumDays"]:
            report(
                f"log group {name} of function {function.name} keeps logs {int(days) or 'forever'} days; "
                f"allowed {config['minimumDays']}..{config['maximumDays']}",
                group.urn,
            )


POLICIES = [
    ResourceValidationPolicy(
        name="lambda-timeout-bounds",
        description="Lambda timeouts stay within the configured bounds.",
        validate=_timeout,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=TIMEOUT_SCHEMA,
    ),
    StackValidationPolicy(
        name="lambda-log-retention",
        description="Every Lambda function's log group is managed by the stack with a bounded retention.",
        validate=_log_retention,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=RETENTION_SCHEMA,
    ),
]
