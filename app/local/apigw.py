"""What API Gateway does for a REST API Lambda proxy integration, done locally.

``proxy_event`` turns a Flask request into the event API Gateway would send for a
``/auth/{proxy+}`` resource; ``to_response`` turns the Lambda's answer back into HTTP.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

from flask import Request, Response

LOCAL_STAGE = "local"


def _single_and_multi(
    pairs: list[tuple[str, str]],
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not pairs:
        return None, None
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    # API Gateway's single-value maps hold the last value of each key.
    return {key: values[-1] for key, values in multi.items()}, multi


def proxy_event(request: Request, resource: str, proxy: str) -> dict[str, Any]:
    """The REST API proxy event for ``request`` matched by ``resource`` with ``{proxy+}`` = ``proxy``."""
    raw = request.get_data(cache=True)
    try:
        body: str | None = raw.decode("utf-8") if raw else None
        is_base64 = False
    except UnicodeDecodeError:
        body, is_base64 = base64.b64encode(raw).decode(), True
    headers, multi_headers = _single_and_multi(list(request.headers.items()))
    query, multi_query = _single_and_multi(list(request.args.items(multi=True)))
    now = time.time()
    return {
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": {"proxy": proxy},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": resource,
            "httpMethod": request.method,
            "extendedRequestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{LOCAL_STAGE}{request.path}",
            "accountId": "123456789012",
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "stage": LOCAL_STAGE,
            "domainPrefix": "localhost",
            "requestTimeEpoch": int(now * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.user_agent.string,
            },
            "domainName": request.host,
            "apiId": "local",
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def to_response(result: dict[str, Any]) -> Response:
    """The HTTP response API Gateway makes of a proxy integration's answer."""
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response = Response(data, status=int(result.get("statusCode", 200)))
    response.headers.clear()
    for key, value in (result.get("headers") or {}).items():
        response.headers[key] = value
    for key, values in (result.get("multiValueHeaders") or {}).items():
        response.headers.remove(key)
        for value in values:
            response.headers.add(key, value)
    response.headers.setdefault("Content-Type", "application/json")
    return response
