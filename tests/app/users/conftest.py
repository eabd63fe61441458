"""API Gateway REST proxy events, shaped as API Gateway sends them to a `/auth/{proxy+}` integration."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from app.contracts.settings import UserServiceSettings
from app.local.provision import LocalResources, client
from app.users.handler import create_resolver

Invoke = Callable[..., tuple[int, dict[str, Any]]]


def rest_event(
    method: str,
    path: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    *,
    base64_body: bool = False,
) -> dict[str, Any]:
    """A REST API (v1) proxy event as documented for Lambda proxy integrations."""
    headers = {"Content-Type": "application/json", "Host": "api.example.com", **(headers or {})}
    encoded = body
    if body is not None and base64_body:
        encoded = base64.b64encode(body.encode()).decode()
    return {
        "resource": "/auth/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.removeprefix("/auth/")},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": "/auth/{proxy+}",
            "httpMethod": method,
            "extendedRequestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTime": "26/Nov/2026:02:00:00 +0000",
            "path": f"/prod{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": "api",
            "requestTimeEpoch": 1795658400000,
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "pytest"},
            "domainName": "api.example.com",
            "apiId": "1234567890",
        },
        "body": encoded,
        "isBase64Encoded": base64_body,
    }


@pytest.fixture
def cognito(local_resources: LocalResources) -> Any:
    return client("cognito-idp", local_resources.endpoint_url)


@pytest.fixture
def dynamodb(local_resources: LocalResources) -> Any:
    return client("dynamodb", local_resources.endpoint_url)


@pytest.fixture
def invoke(local_resources: LocalResources, cognito: Any, dynamodb: Any) -> Invoke:
    """Call the handler with an event; returns (status, parsed JSON body)."""
    settings = UserServiceSettings(
        user_pool_id=local_resources.user_pool_id,
        user_pool_client_id=local_resources.user_pool_client_id,
        signout_table=local_resources.names.signout_table,
    )
    resolver = create_resolver(settings, cognito, dynamodb)

    def call(
        path: str, body: Any = None, *, raw: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        text = raw if raw is not None else (json.dumps(body) if body is not None else None)
        result = resolver.resolve(rest_event("POST", path, text, headers), None)
        assert result["multiValueHeaders"]["Content-Type"] == ["application/json"]
        return result["statusCode"], json.loads(result["body"])

    return call
