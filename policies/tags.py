"""Tags: every taggable resource says which service it belongs to, which stack, and who owns it."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from ._support import known, settings, taggable, tags_of

TAGS_SCHEMA = PolicyConfigSchema(
    properties={
        "requiredKeys": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["service", "stack", "owner"],
        },
        "expectedValues": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "default": {},
            "description": "tag values fixed for the whole stack, e.g. {'stack': 'prod'}",
        },
    }
)


def _required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not taggable(args.resource_type):
        return
    config = settings(args, TAGS_SCHEMA)
    # The AWS provider's defaultTags land on every resource it creates.
    defaults = (known(args.provider.props, "defaultTags") or {}).get("tags") if args.provider else None
    tags = {**dict(defaults or {}), **tags_of(args.props)}
    missing = [k for k in config["requiredKeys"] if not tags.get(k)]
    if missing:
        report(f"{args.name} lacks the tags {', '.join(missing)}", None)
    wrong = {k: tags[k] for k, v in config["expectedValues"].items() if tags.get(k) and tags[k] != v}
    for key, value in wrong.items():
        report(f"{args.name} has tag {key}={value}; this stack expects {config['expectedValues'][key]}", None)


POLICIES = [
    ResourceValidationPolicy(
        name="tags-required",
        description="Every taggable AWS resource carries the service, stack and owner tags.",
        validate=_required_tags,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=TAGS_SCHEMA,
    ),
]
