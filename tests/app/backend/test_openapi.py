"""The OpenAPI document is generated from the code, and no request built from it, valid or not, gets a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, assume, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ensure_resource_availability
from sqlalchemy.orm import Session

from app.backend.caption_files import CaptionError, language_tag
from app.backend.models import Base
from app.backend.text import normalise_display_name
from tests.app.backend.conftest import Caller, Platform

# Bounded so the suite stays fast; each run covers every operation in both modes.
EXAMPLES = 120
STATEFUL_EXAMPLES = 70
# Enough steps for a walk to reach created resources along their links: each operation added
# (the cost of a video took 8 to too few) spreads the same steps over more choices.
STATEFUL_STEPS = 10
CAPTION_FILES = {
    "vtt": "WEBVTT\n\n00:01.000 --> 00:02.000\nhello\n",
    "srt": "1\n00:00:01,000 --> 00:00:02,000\nhello\n",
}
# A 1x1 PNG, base64.
SMALL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"


def test_openapi_document_lists_every_route_with_its_schemas(platform: Platform) -> None:
    document = platform.http.get("/api/openapi.json").json
    operations = {(path, method) for path, methods in document["paths"].items() for method in methods}
    assert {
        ("/api/videos", "post"),
        ("/api/videos", "get"),
        ("/api/videos/{video_id}", "get"),
        ("/api/videos/{video_id}", "patch"),
        ("/api/videos/{video_id}", "delete"),
        ("/api/videos/{video_id}/uploaded", "post"),
        ("/api/videos/{video_id}/multipart", "post"),
        ("/api/videos/{video_id}/multipart", "get"),
        ("/api/videos/{video_id}/multipart/parts", "post"),
        ("/api/videos/{video_id}/multipart/complete", "post"),
        ("/api/videos/{video_id}/multipart", "delete"),
        ("/api/videos/{video_id}/events-ticket", "post"),
        ("/api/videos/{video_id}/poster", "get"),
        ("/api/videos/{video_id}/poster", "put"),
        ("/api/videos/{video_id}/poster", "post"),
        ("/api/videos/{video_id}/comments", "get"),
        ("/api/videos/{video_id}/comments", "post"),
        ("/api/videos/{video_id}/comments/{comment_id}", "patch"),
        ("/api/videos/{video_id}/comments/{comment_id}", "delete"),
        ("/api/videos/{video_id}/like", "put"),
        ("/api/videos/{video_id}/like", "delete"),
        ("/api/videos/{video_id}/captions", "get"),
        ("/api/videos/{video_id}/captions/{language}", "put"),
        ("/api/videos/{video_id}/captions/{language}", "delete"),
        ("/api/videos/{video_id}/views", "post"),
        ("/api/videos/{video_id}/views", "get"),
        ("/api/tags/{tag}", "get"),
        ("/api/playlists", "get"),
        ("/api/playlists", "post"),
        ("/api/playlists/{playlist_id}", "get"),
        ("/api/playlists/{playlist_id}", "patch"),
        ("/api/playlists/{playlist_id}", "delete"),
        ("/api/playlists/{playlist_id}/items", "post"),
        ("/api/playlists/{playlist_id}/items", "put"),
        ("/api/playlists/{playlist_id}/items/{video_id}", "delete"),
        ("/api/me", "get"),
        ("/api/me", "patch"),
        ("/api/me/videos", "get"),
        ("/api/health/live", "get"),
        ("/api/health/ready", "get"),
        ("/api/reports", "post"),
        ("/api/moderation/reports", "get"),
        ("/api/moderation/reports/{report_id}/resolve", "post"),
        ("/api/moderation/videos/{video_id}/hide", "post"),
        ("/api/moderation/videos/{video_id}/restore", "post"),
        ("/api/moderation/comments/{comment_id}/hide", "post"),
        ("/api/moderation/comments/{comment_id}/restore", "post"),
        ("/api/admin/users", "get"),
        ("/api/admin/users/{user_id}/roles", "post"),
        ("/api/admin/users/{user_id}/roles/{role}/revoke", "post"),
        ("/api/admin/users/{user_id}/suspend", "post"),
        ("/api/admin/users/{user_id}/unsuspend", "post"),
        ("/api/admin/audit", "get"),
        ("/api/channels/{user_id}", "get"),
        ("/api/channels/{user_id}/videos", "get"),
        ("/api/channels/{user_id}/subscription", "put"),
        ("/api/channels/{user_id}/subscription", "delete"),
        ("/api/me/subscriptions", "get"),
        ("/api/me/subscriptions/videos", "get"),
        ("/api/webhooks", "get"),
        ("/api/webhooks", "post"),
        ("/api/webhooks/{webhook_id}", "delete"),
        ("/api/webhooks/{webhook_id}/secret", "post"),
        ("/api/webhooks/{webhook_id}/deliveries", "get"),
    } <= operations
    schemas = document["components"]["schemas"]
    assert schemas["VideoCreate"]["properties"]["visibility"]
    assert "filters" in schemas["VideoCreate"]["properties"]
    create = document["paths"]["/api/videos"]["post"]
    assert create["security"] == [{"bearer": []}]
    assert create["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert "mp4_download" in schemas["VideoCreate"]["properties"]
    assert "download_url" in schemas["VideoOut"]["properties"]
    upload = document["paths"]["/api/videos/{video_id}/poster"]["post"]
    assert upload["security"] == [{"bearer": []}]
    assert schemas["PosterUpload"]["properties"]["image"]["maxLength"] == 699052
    register = document["paths"]["/api/webhooks"]["post"]
    assert register["security"] == [{"bearer": []}]
    assert {"201", "401", "409", "422"} <= set(register["responses"])
    assert "secret" in schemas["WebhookWithSecret"]["properties"]
    assert "secret" not in schemas["WebhookOut"]["properties"]


def _sign_in(schema: Any, caller: Caller) -> None:
    """``caller``'s token on every request, as the schema's auth: the auth checks then know it is
    real, and resend requests without it or with a wrong one, expecting 401."""

    @schema.auth()
    class Bearer:
        def get(self, _case: Any, _context: Any) -> str:
            return caller.access_token

        def set(self, case: Any, token: str, _context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


def _positive_only_what_the_document_promises(case: Any) -> None:
    """Rules a JSON Schema cannot state, each named in the document's descriptions, kept out of
    positive mode so that a refusal there is a real disagreement."""
    # Cursors are opaque: the document gives their alphabet, the API issues them (the stateful
    # run follows next_cursor).
    if isinstance(case.query, dict):
        case.query.pop("cursor", None)
    body = case.body if isinstance(case.body, dict) else {}
    if case.method == "PUT" and case.path.endswith("/items"):
        body["video_ids"] = []  # a new order names every item of the playlist: it has none
    for spec in body.get("filters") or []:
        if isinstance(spec, dict) and spec.get("type") == "trim" and spec.get("end") is not None:
            assume(spec["end"] > spec["start"])  # a cross-field rule (trim end after start)
    if case.path.endswith("/poster") and case.method == "PUT":
        body["candidate"] = 0  # an index below the candidates' count (the video's ready event has 3)
    if case.path.endswith("/poster") and case.method == "POST":
        body["image"] = SMALL_PNG  # a picture, as the description asks (a pattern cannot)
    parts = body.get("parts")
    if isinstance(parts, list):
        # Each part once (a rule over items' fields, which uniqueItems cannot state).
        numbers = [p.get("part_number") for p in parts if isinstance(p, dict)]
        assume(len(numbers) == len(set(numbers)))
    language = (case.path_parameters or {}).get("language")
    if isinstance(language, str):
        # No variant or extension twice (RFC 5646 section 2.2.5/2.2.6): said in its description.
        try:
            language_tag(language)
        except CaptionError:
            assume(False)
    if isinstance(body.get("format"), str) and "content" in body:
        # The file's own syntax, which `format` names (app/backend/caption_files.py).
        body["content"] = CAPTION_FILES.get(body["format"], body["content"])
    if case.path == "/api/webhooks" and case.method == "POST":
        # An https URL of a public host, as its description asks: what the host resolves to (SSRF
        # rules, app/backend/webhook_targets.py) is beyond a schema.
        body["url"] = "https://93.184.216.34/hook"
    if "display_name" in body:
        # NFKC, one alphabet, no pseudonym look-alike: the name rules of app/backend/text.py.
        try:
            normalise_display_name(body["display_name"])
        except ValueError:
            assume(False)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_requests_pass_every_check(
    platform: Platform, app: Flask, alice: Caller, bob: Caller, mode: GenerationMode
) -> None:
    """All of schemathesis's checks (no 5xx, answers in the documented statuses, content types,
    headers and schemas; schema-valid data accepted, invalid data refused), signed in."""
    video_id = platform.ready(alice)
    playlist_id = platform.http.post("/api/playlists", json={"title": "p"}, headers=alice.headers).json["id"]
    comment_id = platform.http.post(
        f"/api/videos/{video_id}/comments", json={"body": "c"}, headers=alice.headers
    ).json["id"]
    platform.ready(bob)  # a channel with a video, for alice to follow
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    _sign_in(schema, alice)
    strategy = schema.as_strategy(
        generation_mode=mode,
        path_parameters={
            "video_id": video_id,
            "playlist_id": playlist_id,
            "comment_id": comment_id,
            "user_id": bob.sub,
            "tag": "cats",
        },
    )
    failures: list[str] = []

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        if mode is GenerationMode.POSITIVE:
            _positive_only_what_the_document_promises(case)
        try:
            case.call_and_validate()
        except (AssertionError, BaseExceptionGroup) as failure:
            failures.append(f"{case.method} {case.formatted_path} {case.query!r} {case.body!r}: {failure}")

    call()
    assert failures == [], "\n\n".join(failures)


def test_every_method_with_a_body_documents_the_answers_given_before_its_route_runs(
    platform: Platform,
) -> None:
    """400 malformed_json, 413 and 415 come from the app's body check, for every such route;
    the document listed none of them."""
    document = platform.http.get("/api/openapi.json").json
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if method in ("post", "put", "patch", "delete"):
                assert {"400", "413", "415"} <= set(operation["responses"]), f"{method} {path}"


def test_patch_schemas_say_a_field_is_needed_and_none_may_be_null(platform: Platform) -> None:
    """`{}` and `null` fields answer 422, while the document allowed both."""
    schemas = platform.http.get("/api/openapi.json").json["components"]["schemas"]
    patches = [name for name in schemas if name.endswith("Patch")]
    assert sorted(patches) == ["MePatch", "PlaylistPatch", "VideoPatch"]
    for name in patches:
        assert schemas[name]["minProperties"] == 1
        for field, prop in schemas[name]["properties"].items():
            assert "null" not in str(prop), f"{name}.{field} is documented as nullable"


def test_created_resources_link_to_their_operations(platform: Platform) -> None:
    """Stateful testers walk create → get/patch/delete only along the document's links."""
    document = platform.http.get("/api/openapi.json").json
    linked = {
        (source, link["operationRef"])
        for source, methods in document["paths"].items()
        for operation in methods.values()
        for link in operation["responses"].get("201", {}).get("links", {}).values()
    }
    assert {
        ("/api/videos", "#/paths/~1api~1videos~1{video_id}/delete"),
        ("/api/playlists", "#/paths/~1api~1playlists~1{playlist_id}/patch"),
        ("/api/videos", "#/paths/~1api~1channels~1{user_id}~1subscription/put"),
        (
            "/api/videos/{video_id}/comments",
            "#/paths/~1api~1videos~1{video_id}~1comments~1{comment_id}/delete",
        ),
    } <= linked


def test_stateful_walks_along_the_links_pass_every_check(
    platform: Platform, app: Flask, alice: Caller
) -> None:
    """Sequences of calls, each created id fed to the operations its links name, with every check."""
    platform.http.get("/api/me", headers=alice.headers)  # the user row, kept across scenarios
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    _sign_in(schema, alice)

    answered: set[tuple[str, str, int]] = set()
    failures: list[str] = []

    class Walk(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each scenario starts from the same state: what a scenario draws depends on what the
            # API answers, and Hypothesis replays scenarios, so leftovers would make it flaky.
            with Session(platform.engine) as session:
                for table in reversed(Base.metadata.sorted_tables):
                    if table.name != "users":
                        session.execute(table.delete())
                session.commit()

        def before_call(self, case: Any) -> None:
            if case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE:
                _positive_only_what_the_document_promises(case)

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            answered.add((case.method, case.path, response.status_code))

        def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
            # Collected, not raised: the database outlives each example, so Hypothesis could not
            # replay a failing one (it would report a flaky strategy instead of the failure).
            body = case.body if isinstance(case.body, dict) else {}
            try:
                if (
                    response.status_code == 404
                    and "video_id" in body
                    and str(body["video_id"]) in response.text
                ):
                    # A 404 for the video a body names (a playlist item) is not the linked resource
                    # gone missing, which is all ST302 can judge: it looks at the path only.
                    case.validate_response(
                        response,
                        excluded_checks=[ensure_resource_availability],
                        transport_kwargs=kwargs or None,
                        recorder=self.recorder,
                    )
                else:
                    super().validate_response(response, case, *args, **kwargs)
            except (AssertionError, BaseExceptionGroup) as failure:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query!r} {case.body!r}: {failure}"
                )

    Walk.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert failures == [], "\n\n".join(failures)
    # The links were walked: ids drawn at random never find a resource, created ones do.
    reached = {(method, path) for method, path, status in answered if "{" in path and status < 300}
    assert len(reached) >= 3, "\n".join(map(str, sorted(answered)))
