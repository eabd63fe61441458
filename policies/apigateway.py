"""API Gateway (REST): every stage writes access logs and is throttled."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._support import known, linked, of_type, settings

STAGE = "aws:apigateway/stage:Stage"
REST_API = "aws:apigateway/restApi:RestApi"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"


def _access_logs(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != STAGE:
        return
    logs = known(args.props, "accessLogSettings") or {}
    if not logs.get("destinationArn") or not logs.get("format"):
        report(f"stage {args.name} has no access log destination and format", None)


THROTTLE_SCHEMA = PolicyConfigSchema(
    properties={
        "maximumRateLimit": {
            "type": "number",
            "minimum": 0,
            "default": 10000,
            "description": "the highest steady-state requests per second a stage may allow",
        },
        "maximumBurstLimit": {"type": "integer", "minimum": 0, "default": 5000},
    }
)


def _applies_to(settings_resource: PolicyResource, stage: PolicyResource) -> bool:
    if any(s.urn == stage.urn for s in linked(settings_resource, "stageName", STAGE)):
        return True
    same_api = {a.urn for a in linked(settings_resource, "restApi", REST_API)} & {
        a.urn for a in linked(stage, "restApi", REST_API)
    }
    return bool(same_api) and known(settings_resource.props, "stageName") == known(stage.props, "stageName")


def _throttled(args: StackValidationArgs, report: ReportViolation) -> None:
    config = settings(args, THROTTLE_SCHEMA)
    method_settings = of_type(args, METHOD_SETTINGS)
    for stage in of_type(args, STAGE):
        limits = [
            known(m.props, "settings") or {}
            for m in method_settings
            if known(m.props, "methodPath") == "*/*" and _applies_to(m, stage)
        ]
        rates = [(s.get("throttlingRateLimit"), s.get("throttlingBurstLimit")) for s in limits]
        if not rates:
            report(f"stage {stage.name} has no method settings for '*/*' with throttling", stage.urn)
            continue
        for rate, burst in rates:
            if not rate or not burst or rate < 0 or burst < 0:
                report(f"stage {stage.name} sets no positive throttling rate and burst limits", stage.urn)
            elif rate > config["maximumRateLimit"] or burst > config["maximumBurstLimit"]:
                report(
                    f"stage {stage.name} allows {rate:g} req/s (burst {burst:g}); at most "
                    f"{config['maximumRateLimit']:g} (burst {config['maximumBurstLimit']})",
                    stage.urn,
                )


POLICIES = [
    ResourceValidationPolicy(
        name="apigateway-access-logs",
        description="API Gateway stages write access logs to a destination in a set format.",
        validate=_access_logs,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name="apigateway-throttling",
        description="Every API Gateway stage has stage-wide ('*/*') throttling within the configured limits.",
        validate=_throttled,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=THROTTLE_SCHEMA,
    ),
]
