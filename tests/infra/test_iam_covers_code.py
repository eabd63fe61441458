"""Each service's role grants exactly what its code calls: a new call without a grant, or a
grant without a call, fails the suite.

Both sides are read: the calls by walking the service's modules for method calls on its
boto3 clients (receivers named ``s3``, ``sqs``, ``sns``, ``secretsmanager``, ``kvs``, ``dynamodb``,
``cognito_admin``, with or without
a leading underscore or suffix such as ``s3_presign``), the permissions from the
synthesized role policy. ``ACTIONS`` is boto3-to-IAM knowledge, not a list of answers: a
client call missing from it fails the test until it is mapped. ``GRANTED_WITHOUT_A_CALL`` is
the one table of what a role holds that no code of the service calls, each with its reason.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra._fleet import instance_agent_statements
from pulumi_offline.graph import Graph, as_list, statements_allowing

APP = Path(__file__).resolve().parents[2] / "app"
ACTIONS = {
    "s3": {
        "get_object": "s3:GetObject",
        "head_object": "s3:GetObject",
        "download_file": "s3:GetObject",
        "download_fileobj": "s3:GetObject",
        "put_object": "s3:PutObject",
        "upload_file": "s3:PutObject",
        "upload_fileobj": "s3:PutObject",
        "upload_part": "s3:PutObject",
        "create_multipart_upload": "s3:PutObject",
        "complete_multipart_upload": "s3:PutObject",
        "generate_presigned_post": "s3:PutObject",
        "abort_multipart_upload": "s3:AbortMultipartUpload",
        "list_parts": "s3:ListMultipartUploadParts",
        "list_multipart_uploads": "s3:ListBucketMultipartUploads",
        "delete_object": "s3:DeleteObject",
        "delete_objects": "s3:DeleteObject",
        "list_objects_v2": "s3:ListBucket",
        "list_object_versions": "s3:ListBucketVersions",
        "copy": "s3:PutObject",
    },
    "sqs": {
        "send_message": "sqs:SendMessage",
        "receive_message": "sqs:ReceiveMessage",
        "delete_message": "sqs:DeleteMessage",
        "delete_message_batch": "sqs:DeleteMessage",
        "change_message_visibility": "sqs:ChangeMessageVisibility",
        "change_message_visibility_batch": "sqs:ChangeMessageVisibility",
        "create_queue": "sqs:CreateQueue",
        "delete_queue": "sqs:DeleteQueue",
        "get_queue_url": "sqs:GetQueueUrl",
        "get_queue_attributes": "sqs:GetQueueAttributes",
        "set_queue_attributes": "sqs:SetQueueAttributes",
        "list_queues": "sqs:ListQueues",
        "list_queue_tags": "sqs:ListQueueTags",
        "tag_queue": "sqs:TagQueue",
    },
    "sns": {
        "publish": "sns:Publish",
        "subscribe": "sns:Subscribe",
        "unsubscribe": "sns:Unsubscribe",
        "list_subscriptions_by_topic": "sns:ListSubscriptionsByTopic",
    },
    "secretsmanager": {"get_secret_value": "secretsmanager:GetSecretValue"},
    "autoscaling": {"set_instance_protection": "autoscaling:SetInstanceProtection"},
    "kvs": {  # the cloudfront-keyvaluestore client
        "describe_key_value_store": "cloudfront-keyvaluestore:DescribeKeyValueStore",
        "list_keys": "cloudfront-keyvaluestore:ListKeys",
        "update_keys": "cloudfront-keyvaluestore:UpdateKeys",
        "put_key": "cloudfront-keyvaluestore:PutKey",
        "delete_key": "cloudfront-keyvaluestore:DeleteKey",
        "get_key": "cloudfront-keyvaluestore:GetKey",
    },
    "dynamodb": {"get_item": "dynamodb:GetItem", "put_item": "dynamodb:PutItem"},
    # The backend's cognito-idp client as it acts on the pool (named ``cognito_admin`` there); the
    # token-authorized calls (GetUser by the user's own token) need no IAM and use ``cognito``.
    "cognito_admin": {
        "admin_add_user_to_group": "cognito-idp:AdminAddUserToGroup",
        "admin_remove_user_from_group": "cognito-idp:AdminRemoveUserFromGroup",
        "admin_disable_user": "cognito-idp:AdminDisableUser",
        "admin_enable_user": "cognito-idp:AdminEnableUser",
        "admin_user_global_sign_out": "cognito-idp:AdminUserGlobalSignOut",
    },
}
# Calls the transfer manager makes besides the one named: a multipart transfer that fails is aborted.
IMPLIED = {
    ("s3", "upload_file"): ["s3:AbortMultipartUpload"],
    ("s3", "upload_fileobj"): ["s3:AbortMultipartUpload"],
    # A managed copy reads its source (HeadObject, CopyObject or UploadPartCopy) and aborts a failed multipart copy.
    ("s3", "copy"): ["s3:GetObject", "s3:AbortMultipartUpload"],
}
# What the clients' helpers call under the hood: the first argument names the operation.
BY_FIRST_ARGUMENT = {"get_paginator", "generate_presigned_url"}
SERVICES = {
    "backend": ["backend", "contracts/tickets.py", "contracts/signouts.py", "contracts/signout_records.py"],
    "transcoder": ["transcoder"],
    "progress": ["progress", "contracts/tickets.py", "contracts/signouts.py"],
    "users": ["users", "contracts/signout_records.py"],
}


def _client(receiver: ast.expr) -> str | None:
    name = receiver.id if isinstance(receiver, ast.Name) else getattr(receiver, "attr", "")
    name = name.lstrip("_")
    return next((client for client in ACTIONS if name == client or name.startswith(f"{client}_")), None)


def _modules(service: str) -> Iterator[Path]:
    for part in SERVICES[service]:
        path = APP / part
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def needed_actions(service: str) -> dict[str, set[str]]:
    """IAM action -> where the code needs it."""
    needed: dict[str, set[str]] = {}
    for module in _modules(service):
        for node in ast.walk(ast.parse(module.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            client = _client(node.func.value)
            if client is None:
                continue
            method = node.func.attr
            if method in BY_FIRST_ARGUMENT:
                first = node.args[0] if node.args else None
                assert isinstance(first, ast.Constant), f"{module}:{node.lineno}: {method} of a computed name"
                method = str(first.value)
            where = f"{module.relative_to(APP.parent)}:{node.lineno} {client}.{method}"
            assert method in ACTIONS[client], f"{where}: map this call to its IAM action in ACTIONS"
            needed.setdefault(ACTIONS[client][method], set()).add(where)
            for implied in IMPLIED.get((client, method), []):
                needed.setdefault(implied, set()).add(where)
            if method == "create_queue" and any(k.arg == "tags" for k in node.keywords):
                needed.setdefault("sqs:TagQueue", set()).add(where)
            if method == "delete_object" and any(k.arg == "VersionId" for k in node.keywords):
                needed.setdefault("s3:DeleteObjectVersion", set()).add(where)
    return needed


_AGENTS = {
    a
    for s in instance_agent_statements("arn:aws:logs:us-east-1:1:log-group:g", "us-east-1", "1")
    for a in as_list(s["Action"])
}
GRANTED_WITHOUT_A_CALL: dict[str, dict[str, str]] = {
    "backend": {
        **dict.fromkeys(_AGENTS, "the CloudWatch agent and SSM Agent on the instance"),
        "kms:GenerateDataKey": "sns:Publish to the video events topic, which is encrypted with a KMS key",
        "kms:Decrypt": "sns:Publish to the video events topic, which is encrypted with a KMS key",
    },
    "transcoder": {
        **dict.fromkeys(_AGENTS, "the CloudWatch agent and SSM Agent on the instance"),
        "kms:GenerateDataKey": "sns:Publish to the progress topic, which is encrypted with a KMS key",
        "kms:Decrypt": "sns:Publish to the progress topic, which is encrypted with a KMS key",
    },
    "progress": dict.fromkeys(_AGENTS, "the CloudWatch agent and SSM Agent on the instance"),
    # The handler's Cognito calls are public or token-authorized (IAM does not authorize them).
    "users": dict.fromkeys(
        ["logs:CreateLogStream", "logs:PutLogEvents"], "the Lambda runtime's own log lines"
    ),
}


def _granted(graph: Graph, service: str) -> set[str]:
    return {
        a for s in statements_allowing(graph.role_policy(f"{service}-policy")) for a in as_list(s["Action"])
    }


@pytest.mark.parametrize("service", sorted(GRANTED_WITHOUT_A_CALL))
def test_a_role_grants_nothing_beyond_its_codes_calls_but_the_listed_exceptions(
    service: str, prod: Graph
) -> None:
    """Least privilege: each grant no code calls (once the backend's media GetObject, the
    transcoder's GetQueueAttributes, progress's GetQueueUrl) is removed or named here."""
    needed = set(needed_actions(service)) if service in SERVICES else set()
    assert _granted(prod, service) - needed == set(GRANTED_WITHOUT_A_CALL[service])


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_instance_role_allows_every_call_the_service_makes(service: str, prod: Graph) -> None:
    needed = needed_actions(service)
    assert needed, f"found no AWS calls in {service}'s code"
    allowed = {
        a for s in statements_allowing(prod.role_policy(f"{service}-policy")) for a in as_list(s["Action"])
    }
    missing = {action: sorted(sites) for action, sites in needed.items() if action not in allowed}
    assert not missing, f"{service}'s role lacks: {missing}"
