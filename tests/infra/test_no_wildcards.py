"""Acceptance 2 over the whole graph of both stacks: no IAM statement allows a ``*`` action or a
``*`` resource; and every taggable resource carries the service, stack and owner tags."""

from __future__ import annotations

import importlib
import inspect
import json
from typing import Any

import pytest

from infra._common import ACTIONS_WITHOUT_RESOURCE_TYPES, TAG_KEYS
from pulumi_offline.graph import Graph, as_list
from pulumi_offline.synth import SynthResource

# Resource types and the inputs that hold IAM-style policy documents.
POLICY_INPUTS = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
}


def policy_documents(graph: Graph) -> list[tuple[SynthResource, dict[str, Any]]]:
    found = []
    for resource in graph.resources:
        key = POLICY_INPUTS.get(resource.type)
        if key and key in resource.inputs:
            found.append((resource, json.loads(resource.inputs[key])))
    return found


def _unscopable(statement: dict[str, Any]) -> bool:
    """Only actions AWS gives no resource type may name "*", and only under a condition."""
    actions = as_list(statement.get("Action", []))
    return bool(statement.get("Condition")) and all(a in ACTIONS_WITHOUT_RESOURCE_TYPES for a in actions)


def wildcard_problems(document: dict[str, Any]) -> list[str]:
    problems = []
    for s in as_list(document["Statement"]):
        if s["Effect"] != "Allow":
            continue
        for action in as_list(s.get("Action", [])):
            if action == "*" or action.endswith(":*"):
                problems.append(f"{s.get('Sid')}: action {action}")
        for resource in as_list(s.get("Resource", [])):
            if (resource == "*" and not _unscopable(s)) or (
                resource != "*" and not resource.startswith("arn:")
            ):
                problems.append(f"{s.get('Sid')}: resource {resource}")
    return problems


def test_wildcard_check_catches_star_actions_and_resources() -> None:
    bad = {"Statement": [{"Sid": "a", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    assert wildcard_problems(bad) == ["a: action s3:*", "a: resource *"]


def test_wildcard_check_lets_only_resourceless_actions_name_star_and_only_under_a_condition() -> None:
    condition = {"ArnLike": {"ec2:SourceInstanceARN": "arn:aws:ec2:us-east-1:1:instance/*"}}
    session = {"Sid": "s", "Effect": "Allow", "Action": ["ssmmessages:OpenDataChannel"], "Resource": "*"}
    assert wildcard_problems({"Statement": [{**session, "Condition": condition}]}) == []
    assert wildcard_problems({"Statement": [session]}) == ["s: resource *"]
    mixed = {**session, "Action": ["ssmmessages:OpenDataChannel", "sqs:SendMessage"], "Condition": condition}
    assert wildcard_problems({"Statement": [mixed]}) == ["s: resource *"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_policy_allows_a_wildcard_action_or_resource(stack: str, request: pytest.FixtureRequest) -> None:
    graph: Graph = request.getfixturevalue(stack)
    documents = policy_documents(graph)
    # backend, transcoder, progress, users (the API Gateway account role is the account program's)
    assert len([r for r, _ in documents if r.type == "aws:iam/rolePolicy:RolePolicy"]) == 4
    problems = {f"{r.type} {r.name}": wildcard_problems(d) for r, d in documents}
    assert {k: v for k, v in problems.items() if v} == {}


def test_no_managed_policy_is_attached(prod: Graph) -> None:
    assert prod.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    assert all("managedPolicyArns" not in r.inputs for r in prod.of_type("aws:iam/role:Role"))


def _resource_class(type_token: str) -> type | None:
    package, module_path, name = type_token.split(":")
    if package != "aws":
        return None
    module = module_path.split("/")[0]
    mod = importlib.import_module(f"pulumi_aws.{'lambda_' if module == 'lambda' else module}")
    cls = getattr(mod, name, None)
    return cls if isinstance(cls, type) else None


def is_taggable(type_token: str) -> bool:
    cls = _resource_class(type_token)
    return cls is not None and "tags" in inspect.signature(cls._internal_init).parameters  # type: ignore[attr-defined]


def test_taggability_is_read_from_the_provider_sdk() -> None:
    assert is_taggable("aws:s3/bucket:Bucket")
    assert not is_taggable("aws:s3/bucketPolicy:BucketPolicy")
    assert not is_taggable("random:index/randomPassword:RandomPassword")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_taggable_resource_has_service_stack_and_owner_tags(
    stack: str, request: pytest.FixtureRequest
) -> None:
    graph: Graph = request.getfixturevalue(stack)
    missing = []
    checked = 0
    for resource in graph.resources:
        if not resource.custom or not is_taggable(resource.type):
            continue
        checked += 1
        tags = resource.inputs.get("tags") or {}
        if isinstance(tags, list):  # Auto Scaling groups: [{key, value, propagateAtLaunch}]
            tags = {t["key"]: t["value"] for t in tags if t.get("propagateAtLaunch")}
        if any(not tags.get(k) for k in TAG_KEYS) or tags.get("stack") != stack:
            missing.append(f"{resource.type} {resource.name}")
    assert checked > 50
    assert missing == []
