"""Readers shared by the policies: camelCase props as the engine sends them, IAM documents, tags, links.

Every helper takes what CrossGuard hands a policy (``props`` mappings, ``PolicyResource``
objects) so the same code runs under ``pulumi preview`` and under the offline runner.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import inspect
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyConfigSchema, PolicyResource, ResourceValidationArgs, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError


def as_list(value: Any) -> list[Any]:
    """IAM and provider fields that take one value or a list of them."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


def is_true(value: Any) -> bool:
    """Booleans the provider types as strings in some nested blocks (``"true"``)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def known(props: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """``props[key]``, or ``default`` when absent or not yet known (a preview of a new resource)."""
    try:
        value = props.get(key, default)
    except UnknownValueError:
        return default
    return default if value is None else value


def settings(
    args: ResourceValidationArgs | StackValidationArgs, schema: PolicyConfigSchema
) -> dict[str, Any]:
    """The policy's config with the schema's defaults filled in where the stack's config is silent."""
    defaults = {k: v["default"] for k, v in schema.properties.items() if "default" in v}
    return {**defaults, **dict(args.get_config() or {})}


def matches(value: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


def document(value: Any) -> dict[str, Any] | None:
    """An IAM-style policy document from a JSON string or a mapping; None when absent or unreadable."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return dict(value) if isinstance(value, Mapping) else None


def allow_statements(doc: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not doc:
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, Mapping) and s.get("Effect") == "Allow"]


# Resource types whose inputs hold IAM-style documents, and the inputs that hold them.
POLICY_DOCUMENT_INPUTS: dict[str, tuple[str, ...]] = {
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws:iam/role:Role": ("assumeRolePolicy",),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy",),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy",),
    "aws:sns/topicPolicy:TopicPolicy": ("policy",),
}


def policy_documents(resource_type: str, props: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every policy document a resource carries, inline role policies included."""
    found = [document(known(props, key)) for key in POLICY_DOCUMENT_INPUTS.get(resource_type, ())]
    if resource_type == "aws:iam/role:Role":
        found += [document(p.get("policy")) for p in as_list(known(props, "inlinePolicies"))]
    return [d for d in found if d]


def tags_of(props: Mapping[str, Any]) -> dict[str, str]:
    """A resource's tags; Auto Scaling groups list them as ``{key, value, propagateAtLaunch}``."""
    tags = known(props, "tags") or {}
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    return {
        str(t["key"]): str(t.get("value")) for t in as_list(tags) if isinstance(t, Mapping) and "key" in t
    }


@functools.cache
def taggable(resource_type: str) -> bool:
    """Whether the AWS provider's SDK gives this resource type a ``tags`` input."""
    try:
        package, module_path, name = resource_type.split(":")
    except ValueError:
        return False
    if package != "aws":
        return False
    module = module_path.split("/")[0]
    try:
        sdk = importlib.import_module(f"pulumi_aws.{'lambda_' if module == 'lambda' else module}")
    except ImportError:
        return False
    cls = getattr(sdk, name, None)
    init = getattr(cls, "_internal_init", None)
    return init is not None and "tags" in inspect.signature(init).parameters


def linked(resource: PolicyResource, key: str, resource_type: str) -> list[PolicyResource]:
    """The resources of ``resource_type`` whose outputs flow into ``resource``'s input ``key``."""
    return [d for d in resource.property_dependencies.get(key, []) if d.resource_type == resource_type]


def of_type(args: StackValidationArgs, resource_type: str) -> list[PolicyResource]:
    return [r for r in args.resources if r.resource_type == resource_type]


def companions(args: StackValidationArgs, resource_type: str, key: str) -> dict[str, list[PolicyResource]]:
    """For each resource referenced through ``key`` by a resource of ``resource_type``: those resources.

    For example ``companions(args, "aws:s3/bucketPolicy:BucketPolicy", "bucket")`` maps each
    bucket's URN to the bucket policies attached to it (a bucket's policy is its own resource).
    """
    found: dict[str, list[PolicyResource]] = {}
    for resource in of_type(args, resource_type):
        for target in resource.property_dependencies.get(key, []):
            found.setdefault(target.urn, []).append(resource)
    return found
