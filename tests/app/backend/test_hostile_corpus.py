"""A hostile-input corpus against every JSON endpoint and the upload path: each answer is a 4xx in
the error shape, and nothing is stored (row counts unchanged, no source kept, no task queued)."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from app.backend.app import MAX_REQUEST_BYTES
from tests.app.backend.conftest import MAX_UPLOAD_BYTES, Caller, Platform, drain, put_source, s3
from tests.app.backend.test_errors import JSON, _row_counts

# Whole bodies no endpoint may take: broken encodings and syntax, JSON's non-standard literals
# (Python's parser reads NaN and Infinity), wrong media types, and sizes past the limit.
RAW_BODIES: dict[str, tuple[bytes, str]] = {
    "invalid-utf8": (b'{"title": "\xff\xfe"}', "application/json"),
    "utf16": ('{"title": "t"}'.encode("utf-16"), "application/json"),
    "truncated": (b'{"title": ', "application/json"),
    "nan": (
        b'{"title": "t", "body": NaN, "display_name": NaN, "filters": [{"type": "trim", "start": NaN}]}',
        "application/json",
    ),
    "infinity": (b'{"part_number": Infinity, "parts": Infinity, "video_id": Infinity}', "application/json"),
    "text-plain": (b'{"title": "t"}', "text/plain"),
    "form": (b"title=t&visibility=public", "application/x-www-form-urlencoded"),
    "multipart": (b"--x\r\n\r\n--x--", "multipart/form-data; boundary=x"),
    "xml": (b"<title>t</title>", "application/xml"),
    "oversized": (b'{"title": "' + b"x" * MAX_REQUEST_BYTES + b'"}', "application/json"),
    "nested": (b'{"title": ' + b"[" * 40 + b"]" * 40 + b"}", "application/json"),
}

# Values put in place of each field of a valid body: control, invisible and reordering
# characters, NUL, a lone surrogate, sizes far past any limit, and every wrong JSON type.
HOSTILE_VALUES: dict[str, Any] = {
    "ansi-escape": "\x1b[2J\x1b[31mred",
    "bell": "ding\x07",
    "nul": "nul\x00byte",
    "bidi-override": "\u202eevil",
    "zero-width": "zero\u200bwidth",
    "line-separator": "a\u2028b",
    "lone-surrogate": "\ud800",
    "huge-string": "x" * 100_000,
    "huge-int": 10**400,
    "negative": -1,
    "float": 1.5,
    "true": True,
    "null": None,
    "operator-object": {"$gt": ""},
    "long-list": ["x"] * 20_000,
    "nested": [[[[["x"]]]]],
}

FILTER_INJECTIONS: dict[str, list[Any]] = {
    "unknown-filter": [{"type": "drawtext", "text": "owned"}],
    "filtergraph-in-value": [{"type": "flip", "axis": "horizontal,drawtext=text=x"}],
    "filtergraph-field": [{"type": "grayscale", "filter_complex": "[0:v]drawtext=text=x"}],
    "shell-in-number": [{"type": "trim", "start": "0; rm -rf /"}],
    "case-folded-type": [{"type": "TRIM", "start": 0}],
    "type-with-nul": [{"type": "trim\x00", "start": 0}],
    "type-as-list": [{"type": ["trim"], "start": 0}],
    "no-type": [{"start": 0}],
    "odd-angle": [{"type": "rotate", "degrees": 45}],
    "negative-start": [{"type": "trim", "start": -1}],
    "past-a-day": [{"type": "trim", "start": 0, "end": 1e308}],
    "end-before-start": [{"type": "trim", "start": 5, "end": 1}],
    "too-many": [{"type": "grayscale"}] * 9,
    "filter-as-string": ["grayscale"],
    "filters-as-object": {"type": "grayscale"},  # type: ignore[dict-item]
}


def _json_routes(platform: Platform) -> list[tuple[str, str]]:
    """Every (rule, method) of the app that may carry a body, from its url_map."""
    return [
        (rule.rule, method)
        for rule in platform.http.application.url_map.iter_rules()
        for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"})
    ]


def _fill(rule: str, video_id: str, playlist_id: str, comment_id: str) -> str:
    path = (
        rule.replace("<uuid:video_id>", video_id)
        .replace("<uuid:playlist_id>", playlist_id)
        .replace("<uuid:comment_id>", comment_id)
        .replace("<uuid:report_id>", str(uuid.uuid4()))
        .replace("<uuid:webhook_id>", str(uuid.uuid4()))
        .replace("<user_id>", "someone")
        .replace("<any(admin,moderator):role>", "moderator")
        .replace("<language>", "en")
    )
    assert "<" not in path, f"fill in the parameter of {rule}"
    return path


def _assert_refused(response: Any, what: str) -> None:
    assert 400 <= response.status_code < 500, (
        f"{what}: {response.status_code} {response.get_data(as_text=True)[:300]}"
    )
    error = response.json["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str), what


def _targets(platform: Platform, caller: Caller) -> tuple[str, str, str]:
    """A ready video with a comment, and a playlist holding it: every route has something to hit."""
    video_id = platform.ready(caller)
    playlist_id = platform.http.post("/api/playlists", json={"title": "p"}, headers=caller.headers).json["id"]
    platform.http.post(
        f"/api/playlists/{playlist_id}/items", json={"video_id": video_id}, headers=caller.headers
    )
    comment_id = platform.http.post(
        f"/api/videos/{video_id}/comments", json={"body": "c"}, headers=caller.headers
    ).json["id"]
    return video_id, playlist_id, comment_id


def test_every_body_route_refuses_every_hostile_raw_body(platform: Platform, alice: Caller) -> None:
    ids = _targets(platform, alice)
    routes = _json_routes(platform)
    assert len(routes) > 15
    before = _row_counts(platform)
    for rule, method in routes:
        path = _fill(rule, *ids)
        for name, (data, content_type) in RAW_BODIES.items():
            response = platform.http.open(
                path, method=method, data=data, headers={**alice.headers, "Content-Type": content_type}
            )
            _assert_refused(response, f"{method} {rule} {name}")
    assert _row_counts(platform) == before


# A whole image: the poster upload's base body, so each refusal is the hostile value's.
ONE_PIXEL_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _valid_bodies(video_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """A body each route with a schema accepts, whose fields the corpus replaces one at a time."""
    return {
        ("/api/videos", "POST"): {"title": "t", "description": "d", "visibility": "public", "filters": []},
        ("/api/videos/<uuid:video_id>", "PATCH"): {"title": "t", "description": "d", "visibility": "public"},
        ("/api/videos/<uuid:video_id>/comments", "POST"): {"body": "c"},
        ("/api/videos/<uuid:video_id>/comments/<uuid:comment_id>", "PATCH"): {"body": "c"},
        ("/api/playlists", "POST"): {"title": "p", "description": "d", "visibility": "public"},
        ("/api/playlists/<uuid:playlist_id>", "PATCH"): {"title": "p", "description": "d"},
        ("/api/playlists/<uuid:playlist_id>/items", "POST"): {"video_id": video_id},
        ("/api/playlists/<uuid:playlist_id>/items", "PUT"): {"video_ids": [video_id]},
        ("/api/me", "PATCH"): {"display_name": "Alice"},
        ("/api/videos/<uuid:video_id>/captions/<language>", "PUT"): {
            "label": "English",
            "format": "srt",
            "content": "1\n00:00:01,000 --> 00:00:02,000\nhello\n",
        },
        ("/api/videos/<uuid:video_id>/poster", "PUT"): {"candidate": 0},
        ("/api/videos/<uuid:video_id>/poster", "POST"): {"image": ONE_PIXEL_PNG},
        ("/api/videos/<uuid:video_id>/multipart", "POST"): {"content_type": "video/mp4"},
        ("/api/videos/<uuid:video_id>/multipart/parts", "POST"): {"part_numbers": [1]},
        ("/api/videos/<uuid:video_id>/multipart/complete", "POST"): {
            "parts": [{"part_number": 1, "etag": "e"}]
        },
        ("/api/reports", "POST"): {"target_type": "video", "target_id": video_id, "reason": "spam"},
        ("/api/moderation/reports/<uuid:report_id>/resolve", "POST"): {"reason": "r"},
        ("/api/moderation/videos/<uuid:video_id>/hide", "POST"): {"reason": "r"},
        ("/api/moderation/videos/<uuid:video_id>/restore", "POST"): {"reason": "r"},
        ("/api/moderation/comments/<uuid:comment_id>/hide", "POST"): {"reason": "r"},
        ("/api/moderation/comments/<uuid:comment_id>/restore", "POST"): {"reason": "r"},
        ("/api/admin/users/<user_id>/roles", "POST"): {"role": "moderator", "reason": "r"},
        ("/api/admin/users/<user_id>/roles/<any(admin,moderator):role>/revoke", "POST"): {"reason": "r"},
        ("/api/admin/users/<user_id>/suspend", "POST"): {"reason": "r"},
        ("/api/admin/users/<user_id>/unsuspend", "POST"): {"reason": "r"},
        ("/api/webhooks", "POST"): {"url": "https://93.184.216.34/hook", "event_types": ["video.ready"]},
    }


def test_every_field_of_every_json_body_refuses_every_hostile_value(
    platform: Platform, alice: Caller
) -> None:
    ids = _targets(platform, alice)
    bodies = _valid_bodies(ids[0])
    document = platform.http.get("/api/openapi.json").json
    with_body = {
        (path, method.upper())
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if "requestBody" in operation
    }
    flask_paths = {(re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule), method) for rule, method in bodies}
    assert flask_paths == with_body, "a route with a body schema has no valid body here"
    before = _row_counts(platform)
    for (rule, method), body in bodies.items():
        path = _fill(rule, *ids)
        for field in body:
            for name, value in HOSTILE_VALUES.items():
                if field == "etag" and isinstance(value, str) and "\x00" not in value:
                    continue  # any text is an ETag's; S3 is the judge of it, below
                hostile = json.dumps({**body, field: value}).encode()
                response = platform.http.open(
                    path, method=method, data=hostile, headers={**alice.headers, **JSON}
                )
                _assert_refused(response, f"{method} {rule} {field}={name}")
    assert _row_counts(platform) == before
    # The bases pass validation, so each refusal above is the hostile value's.
    for (rule, method), body in bodies.items():
        response = platform.http.open(_fill(rule, *ids), method=method, json=body, headers=alice.headers)
        assert response.status_code < 400 or response.json["error"]["code"] != "validation_error", (
            f"{method} {rule}: {response.json}"
        )


@pytest.mark.parametrize("filters", FILTER_INJECTIONS.values(), ids=FILTER_INJECTIONS.keys())
def test_filter_specs_outside_the_allow_list_are_refused(
    platform: Platform, alice: Caller, filters: list[Any]
) -> None:
    platform.http.get("/api/me", headers=alice.headers)  # the user row exists before counting
    before = _row_counts(platform)
    response = platform.http.post(
        "/api/videos", json={"title": "t", "filters": filters}, headers=alice.headers
    )
    _assert_refused(response, str(filters))
    assert response.json["error"]["code"] == "validation_error"
    assert _row_counts(platform) == before


def _source_kept(platform: Platform, video_id: str) -> bool:
    try:
        s3(platform.resources).head_object(
            Bucket=platform.resources.names.uploads_bucket, Key=f"incoming/{video_id}/source"
        )
    except ClientError:
        return False
    return True


# Sources a presigned POST may leave behind when the browser or the emulator ignores its policy.
HOSTILE_SOURCES: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "video/mp4"),
    "png": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "video/mp4"),
    "html": (b"<!doctype html><script>alert(1)</script>", "video/mp4"),
    "shell-script": (b"#!/bin/sh\nrm -rf /\n", "video/mp4"),
    "elf": (b"\x7fELF\x02\x01\x01" + b"\x00" * 64, "video/mp4"),
    "zip": (b"PK\x03\x04" + b"\x00" * 64, "video/mp4"),
    "image-type": (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "image/png"),
    "html-type": (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "text/html"),
    "one-byte-over": (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * (MAX_UPLOAD_BYTES - 11), "video/mp4"),
    "far-over": (b"\x1a\x45\xdf\xa3" + b"\x00" * (4 * MAX_UPLOAD_BYTES), "video/webm"),
}


@pytest.mark.parametrize("source", HOSTILE_SOURCES.values(), ids=HOSTILE_SOURCES.keys())
def test_non_video_and_oversized_sources_are_refused_and_not_kept(
    platform: Platform, alice: Caller, source: tuple[bytes, str]
) -> None:
    body, content_type = source
    video_id = platform.create(alice)
    put_source(platform.resources, video_id, body, content_type)
    before = _row_counts(platform)

    response = platform.http.post(f"/api/videos/{video_id}/uploaded", headers=alice.headers)

    _assert_refused(response, f"{len(body)} bytes of {content_type}")
    assert not _source_kept(platform, video_id)
    assert _row_counts(platform) == before
    row = platform.row(video_id)
    assert row is not None and row.status == "uploading" and row.task_id is None
    assert drain(platform.resources, platform.resources.task_queue_url) == []


def _forged_cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


# Query values the list routes must refuse: forged and broken cursors, limits out of range or
# of the wrong kind, and search text with NUL or past its length.
HOSTILE_QUERIES: dict[str, dict[str, str]] = {
    "cursor-not-base64": {"cursor": "%%%"},
    "cursor-sql": {"cursor": _forged_cursor({"t": "2020-01-01' OR '1'='1", "id": str(uuid.uuid4())})},
    "cursor-not-uuid": {"cursor": _forged_cursor({"t": "2020-01-01T00:00:00", "id": "1 OR 1=1"})},
    "cursor-list": {"cursor": _forged_cursor([1, 2])},
    "cursor-huge": {"cursor": "A" * 10_000},
    "limit-huge": {"limit": str(10**30)},
    "limit-negative": {"limit": "-1"},
    "limit-float": {"limit": "1.5"},
    "limit-nan": {"limit": "NaN"},
    "q-nul": {"q": "a\x00b"},
    "q-long": {"q": "q" * 10_000},
}


@pytest.mark.parametrize("query", HOSTILE_QUERIES.values(), ids=HOSTILE_QUERIES.keys())
def test_every_list_route_refuses_every_hostile_query(
    platform: Platform, alice: Caller, query: dict[str, str]
) -> None:
    video_id, playlist_id, _ = _targets(platform, alice)
    document = platform.http.get("/api/openapi.json").json
    listed = [
        path
        for path, methods in document["paths"].items()
        if any(parameter["name"] == "cursor" for parameter in methods.get("get", {}).get("parameters", []))
    ]
    assert len(listed) >= 3
    before = _row_counts(platform)
    for path in listed:
        filled = path.replace("{video_id}", video_id).replace("{playlist_id}", playlist_id)
        for name, value in query.items():
            if name == "q" and "q" not in str(document["paths"][path]["get"]["parameters"]):
                continue
            response = platform.http.get(filled, query_string={name: value}, headers=alice.headers)
            _assert_refused(response, f"GET {path}?{name}")
    assert _row_counts(platform) == before
