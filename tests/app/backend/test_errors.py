"""Bad input never gives a 5xx: each answer is a 4xx with the error shape, and nothing is half-written."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.backend.app import MAX_REQUEST_BYTES
from app.backend.models import Base
from app.backend.openapi import requires_sign_in
from tests.app.backend.conftest import Caller, Platform


def _row_counts(platform: Platform) -> dict[str, int]:
    with Session(platform.engine) as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def _assert_error(response: Any, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str)
    if code is not None:
        assert error["code"] == code


JSON = {"Content-Type": "application/json"}


# A fixed id no row has: parameter ids must be the same in every pytest-xdist worker.
_NO_SUCH_ID = uuid.UUID("0b7a1f64-3a2c-4d8e-9f10-2b3c4d5e6f70")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("post", "/api/videos", {"data": "{not json", "headers": JSON}, 400, "malformed_json"),
        ("post", "/api/videos", {"data": b"\xff\xfe\x00", "headers": JSON}, 400, "malformed_json"),
        (
            "post",
            "/api/videos",
            {"data": "title=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
            415,
            "unsupported_media_type",
        ),
        ("post", "/api/videos", {"json": {}}, 422, "validation_error"),
        ("post", "/api/videos", {"data": "", "headers": JSON}, 422, "validation_error"),
        (
            "post",
            "/api/playlists",
            {"data": "", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
            415,
            "unsupported_media_type",
        ),
        ("post", "/api/videos", {"json": []}, 422, "validation_error"),
        ("post", "/api/videos", {"json": {"title": 12}}, 422, "validation_error"),
        ("post", "/api/videos", {"json": {"title": "   "}}, 422, "validation_error"),
        ("post", "/api/videos", {"json": {"title": "x", "visibility": "secret"}}, 422, "validation_error"),
        (
            "post",
            "/api/videos",
            {"json": {"title": "x", "filters": [{"type": "drawtext", "text": "rm -rf"}]}},
            422,
            "validation_error",
        ),
        ("post", "/api/videos", {"json": {"title": "x", "owner_id": "someone"}}, 422, "validation_error"),
        ("post", "/api/videos", {"json": {"title": "x" * 201}}, 422, "validation_error"),
        (
            "post",
            "/api/videos",
            {"json": {"title": "x", "description": "d" * (MAX_REQUEST_BYTES + 1)}},
            413,
            None,
        ),
        ("post", "/api/videos", {"json": {"title": "nul\u0000byte"}}, 422, "validation_error"),
        ("get", "/api/videos?q=nul%00byte", {}, 422, "validation_error"),
        (
            "post",
            "/api/videos",
            {"data": '{"title": "lone \\ud800 surrogate"}', "headers": JSON},
            422,
            "validation_error",
        ),
        (
            "post",
            "/api/playlists",
            {"json": {"title": "p", "description": "\u0000"}},
            422,
            "validation_error",
        ),
        ("get", "/api/videos?limit=0", {}, 422, "validation_error"),
        ("get", "/api/videos?limit=1000", {}, 422, "validation_error"),
        ("get", "/api/videos?cursor=%%%", {}, 400, "invalid_cursor"),
        ("get", "/api/videos?cursor=eyJ0IjogMX0", {}, 400, "invalid_cursor"),
        ("get", f"/api/videos/{_NO_SUCH_ID}", {}, 404, "not_found"),
        ("get", "/api/videos/not-a-uuid", {}, 404, "not_found"),
        ("get", "/api/nothing-here", {}, 404, "not_found"),
        ("put", "/api/videos", {"json": {}}, 405, "method_not_allowed"),
        ("patch", f"/api/videos/{_NO_SUCH_ID}", {"json": {"title": "x"}}, 404, "not_found"),
        ("post", f"/api/videos/{_NO_SUCH_ID}/uploaded", {}, 404, "not_found"),
        ("post", f"/api/videos/{_NO_SUCH_ID}/comments", {"json": {"body": "hi"}}, 404, "not_found"),
        ("put", f"/api/videos/{_NO_SUCH_ID}/like", {}, 404, "not_found"),
        ("get", f"/api/playlists/{_NO_SUCH_ID}", {}, 404, "not_found"),
        ("post", "/api/playlists", {"json": {"title": "p", "visibility": 3}}, 422, "validation_error"),
        ("post", f"/api/videos/{_NO_SUCH_ID}/events-ticket", {}, 404, "not_found"),
    ],
)
def test_bad_requests_get_a_4xx_with_the_error_shape_and_write_nothing(
    platform: Platform,
    alice: Caller,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    platform.http.get("/api/me", headers=alice.headers)  # the user row exists before counting
    before = _row_counts(platform)
    kwargs = dict(kwargs)
    headers = {**alice.headers, **kwargs.pop("headers", {})}

    response = getattr(platform.http, method)(path, headers=headers, **kwargs)

    _assert_error(response, status, code)
    assert _row_counts(platform) == before


def test_patch_with_wrong_types_or_nothing_changes_nothing(platform: Platform, alice: Caller) -> None:
    video_id = platform.create(alice, "original")
    for body in ({}, {"title": None}, {"visibility": "nobody"}, {"title": ["a"]}):
        _assert_error(platform.http.patch(f"/api/videos/{video_id}", json=body, headers=alice.headers), 422)
    row = platform.row(video_id)
    assert row is not None and row.title == "original"
    playlist = platform.http.post("/api/playlists", json={"title": "p"}, headers=alice.headers).json
    nulled = platform.http.patch(
        f"/api/playlists/{playlist['id']}", json={"visibility": None}, headers=alice.headers
    )
    _assert_error(nulled, 422, "validation_error")


def test_405_names_the_allowed_methods(platform: Platform) -> None:
    response = platform.http.delete("/api/health/live")
    _assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_every_json_endpoint_answers_a_deeply_nested_body_with_a_400(
    platform: Platform, alice: Caller
) -> None:
    """A few thousand brackets made Python's json parser raise RecursionError: a 500 on every endpoint."""
    nested = '{"title": ' + "[" * 5000 + "]" * 5000 + "}"
    video_id = platform.create(alice, "target")
    routes = [
        (rule.rule, method)
        for rule in platform.http.application.url_map.iter_rules()
        for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"})
    ]
    assert len(routes) > 5
    for rule, method in routes:
        path = rule.replace("<uuid:video_id>", str(video_id))
        for other in (
            "<uuid:playlist_id>",
            "<uuid:comment_id>",
            "<uuid:report_id>",
            "<user_id>",
            "<uuid:webhook_id>",
        ):
            path = path.replace(other, str(uuid.uuid4()))
        path = path.replace("<any(admin,moderator):role>", "moderator").replace("<language>", "en")
        assert "<" not in path, f"fill in the parameter of {rule}"
        response = platform.http.open(path, method=method, data=nested, headers={**alice.headers, **JSON})
        _assert_error(response, 400, "malformed_json")


@pytest.mark.parametrize("hostile", ["\x1b[2Jcleared", "ding\x07", "zero\u200bwidth", "\u202eevil"])
def test_control_and_invisible_characters_are_refused_in_every_stored_text(
    platform: Platform, alice: Caller, hostile: str
) -> None:
    video_id = platform.create(alice, "target")
    attempts = [
        ("post", "/api/videos", {"title": hostile}),
        ("post", "/api/videos", {"title": "t", "description": hostile}),
        ("patch", f"/api/videos/{video_id}", {"title": hostile}),
        ("post", f"/api/videos/{video_id}/comments", {"body": hostile}),
        ("post", "/api/playlists", {"title": hostile}),
        ("post", "/api/playlists", {"title": "p", "description": hostile}),
    ]
    before = _row_counts(platform)
    for method, path, body in attempts:
        response = getattr(platform.http, method)(path, json=body, headers=alice.headers)
        _assert_error(response, 422, "validation_error")
    assert _row_counts(platform) == before


def test_lengths_are_checked_on_what_was_sent_as_the_schema_says(platform: Platform, alice: Caller) -> None:
    """The schema's maxLength (200) held only after stripping: 250 characters with spaces passed."""
    padded = " " * 50 + "t" * 200
    _assert_error(platform.http.post("/api/videos", json={"title": padded}, headers=alice.headers), 422)
    created = platform.http.post("/api/videos", json={"title": "  spaced  "}, headers=alice.headers)
    assert created.json["video"]["title"] == "spaced"


def test_an_anonymous_caller_is_told_401_before_any_body_is_validated(
    platform: Platform, alice: Caller
) -> None:
    """PATCH and POST bodies were validated first: an anonymous caller got a 422 describing them."""
    video_id = platform.create(alice, "target")
    routes = [
        (rule.rule, method, rule.endpoint)
        for rule in platform.http.application.url_map.iter_rules()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]
    signed_in_only = [
        (rule, method)
        for rule, method, endpoint in routes
        if requires_sign_in(platform.http.application.view_functions[endpoint])
    ]
    assert len(signed_in_only) > 15
    for rule, method in signed_in_only:
        path = rule.replace("<uuid:video_id>", str(video_id))
        for other in (
            "<uuid:playlist_id>",
            "<uuid:comment_id>",
            "<uuid:report_id>",
            "<user_id>",
            "<uuid:webhook_id>",
        ):
            path = path.replace(other, str(uuid.uuid4()))
        path = path.replace("<any(admin,moderator):role>", "moderator")
        for body in ({"data": '{"wrong": 1}', "headers": JSON}, {"data": "{not json", "headers": JSON}):
            response = platform.http.open(f"{path}?limit=0", method=method, **body)
            _assert_error(response, 401, "unauthorized")


def test_options_answers_204_with_allow_and_no_html(platform: Platform) -> None:
    """Flask's automatic OPTIONS answered an empty text/html page."""
    response = platform.http.options("/api/videos")
    assert response.status_code == 204
    assert "text/html" not in response.headers.get("Content-Type", "")
    assert {"GET", "POST"} <= set(response.headers["Allow"].split(", "))
