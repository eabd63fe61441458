"""``/api/me``: the caller chooses a display name; others see it, or a pseudonym, never the email."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tests.app.backend.conftest import Caller, Platform


def _comment(platform: Platform, video_id: str, author: Caller) -> dict[str, Any]:
    response = platform.http.post(
        f"/api/videos/{video_id}/comments", json={"body": "hello"}, headers=author.headers
    )
    assert response.status_code == 201
    body: dict[str, Any] = response.json
    return body


def test_a_display_name_is_set_stripped_and_shown_on_comments_to_anonymous_viewers(
    platform: Platform, alice: Caller, bob: Caller
) -> None:
    video_id = platform.ready(alice)
    _comment(platform, video_id, bob)

    patched = platform.http.patch("/api/me", json={"display_name": "  Bob the Builder "}, headers=bob.headers)
    assert patched.status_code == 200
    assert (patched.json["display_name"], patched.json["public_name"]) == (
        "Bob the Builder",
        "Bob the Builder",
    )
    assert platform.http.get("/api/me", headers=bob.headers).json["display_name"] == "Bob the Builder"
    # Earlier comments show the new name too: it is looked up, not copied into the comment.
    listed = platform.http.get(f"/api/videos/{video_id}/comments").json["items"]
    assert [c["author_name"] for c in listed] == ["Bob the Builder"]


def test_without_a_display_name_comments_show_a_stable_pseudonym_not_the_email(
    platform: Platform, alice: Caller
) -> None:
    video_id = platform.ready(alice)
    me = platform.http.get("/api/me", headers=alice.headers).json
    pseudonym = "user-" + hashlib.sha256(alice.sub.encode()).hexdigest()[:6]
    assert (me["display_name"], me["public_name"]) == (None, pseudonym)

    created = _comment(platform, video_id, alice)
    listed = platform.http.get(f"/api/videos/{video_id}/comments").json["items"]
    assert created["author_name"] == listed[0]["author_name"] == pseudonym
    local_part = alice.email.partition("@")[0]
    for response in (
        platform.http.get(f"/api/videos/{video_id}/comments"),
        platform.http.get(f"/api/videos/{video_id}"),
        platform.http.get("/api/videos"),
    ):
        assert local_part not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "body",
    [
        {"display_name": ""},
        {"display_name": "   "},
        {"display_name": "x" * 41},
        {"display_name": "nul\x00byte"},
        {"display_name": "line\nbreak"},
        {"display_name": "bell\x07"},
        {"display_name": None},
        {"display_name": 7},
        {},
        {"display_name": "ok", "email": "x@example.com"},
    ],
    ids=[
        "empty",
        "blank",
        "too-long",
        "nul",
        "newline",
        "control",
        "null",
        "number",
        "nothing",
        "extra-field",
    ],
)
def test_an_invalid_display_name_is_refused_with_422_and_changes_nothing(
    platform: Platform, alice: Caller, body: dict[str, Any]
) -> None:
    response = platform.http.patch("/api/me", json=body, headers=alice.headers)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert platform.http.get("/api/me", headers=alice.headers).json["display_name"] is None


def test_a_lone_surrogate_in_a_display_name_is_refused_with_422(platform: Platform, alice: Caller) -> None:
    # Valid JSON, but not storable as UTF-8: refused before it reaches the database.
    response = platform.http.patch(
        "/api/me",
        data=json.dumps({"display_name": "\ud800"}),
        content_type="application/json",
        headers=alice.headers,
    )
    assert response.status_code == 422


def test_forty_characters_and_non_ascii_names_are_accepted(platform: Platform, alice: Caller) -> None:
    for name in ("é" * 40, "Zoë 👩‍🎤"):
        response = platform.http.patch("/api/me", json={"display_name": name}, headers=alice.headers)
        assert response.status_code == 200 and response.json["display_name"] == name


def test_setting_a_display_name_needs_a_signed_in_caller(platform: Platform) -> None:
    response = platform.http.patch("/api/me", json={"display_name": "anon"})
    assert response.status_code == 401


def test_the_openapi_document_describes_the_display_name(platform: Platform) -> None:
    document = platform.http.get("/api/openapi.json").json
    patch = document["paths"]["/api/me"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/MePatch")
    assert {"200", "401", "422"} <= set(patch["responses"])
    schemas = document["components"]["schemas"]
    assert "display_name" in schemas["MePatch"]["properties"]
    assert "display_name" in schemas["MeOut"]["properties"]


def test_a_display_name_is_unique_ignoring_case_and_width(
    platform: Platform, alice: Caller, bob: Caller
) -> None:
    assert (
        platform.http.patch("/api/me", json={"display_name": "Alice"}, headers=alice.headers).status_code
        == 200
    )
    for copy in ("alice", "ＡＬＩＣＥ", " ALICE "):
        response = platform.http.patch("/api/me", json={"display_name": copy}, headers=bob.headers)
        assert (response.status_code, response.json["error"]["code"]) == (409, "display_name_taken")
    assert platform.http.get("/api/me", headers=bob.headers).json["display_name"] is None
    again = platform.http.patch("/api/me", json={"display_name": "ALICE"}, headers=alice.headers)
    assert (again.status_code, again.json["display_name"]) == (200, "ALICE")  # one's own name, recased


def test_nobody_can_take_another_users_pseudonym(platform: Platform, alice: Caller, bob: Caller) -> None:
    alices = platform.http.get("/api/me", headers=alice.headers).json["public_name"]
    response = platform.http.patch("/api/me", json={"display_name": alices}, headers=bob.headers)
    assert response.status_code == 422


@pytest.mark.parametrize("name", ["al\u200bice", "\u202eecila", "\u0410lice"])
def test_invisible_and_look_alike_names_are_refused(platform: Platform, alice: Caller, name: str) -> None:
    response = platform.http.patch("/api/me", json={"display_name": name}, headers=alice.headers)
    assert response.status_code == 422


def test_a_full_width_name_is_stored_normalised(platform: Platform, alice: Caller) -> None:
    response = platform.http.patch("/api/me", json={"display_name": "ＺＯË"}, headers=alice.headers)
    assert response.json["display_name"] == "ZOË"
