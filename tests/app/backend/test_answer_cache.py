"""The feed's answers to anonymous callers, kept a few seconds by each worker."""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask, request
from sqlalchemy import Engine

from app.backend import AwsClients, create_app
from app.backend.answer_cache import MAX_ANSWERS, AnswerCache
from app.backend.context import EXTENSION
from app.backend.media_grants import MediaGrants
from app.contracts.settings import BackendSettings
from tests.app.backend.conftest import Caller, Platform, RecordedRevocations
from tests.support.emf import metric_lines


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_kept_for_its_seconds_then_made_again() -> None:
    clock = Clock(100.0)
    cache = AnswerCache(5, clock=clock)
    made: list[int] = []

    def make() -> int:
        made.append(len(made))
        return made[-1]

    assert [cache.get_or_make("page", make) for _ in range(3)] == [0, 0, 0]
    clock.now += 4.9
    assert cache.get_or_make("page", make) == 0
    clock.now += 0.2
    assert cache.get_or_make("page", make) == 1
    assert cache.get_or_make("another page", make) == 2


def test_no_seconds_keeps_nothing() -> None:
    cache = AnswerCache(0)
    answers = iter(range(3))
    assert [cache.get_or_make("page", lambda: next(answers)) for _ in range(3)] == [0, 1, 2]


def test_the_cache_holds_a_bounded_number_of_answers() -> None:
    cache = AnswerCache(60, clock=Clock(100.0))
    for key in range(3 * MAX_ANSWERS):
        cache.get_or_make(key, lambda: "answer")
    assert len(cache._answers) <= MAX_ANSWERS


@pytest.fixture
def app(
    settings: BackendSettings, engine: Engine, aws: AwsClients, revocations: RecordedRevocations
) -> Flask:
    """The app as it serves: anonymous answers kept (a minute here, so no test races the clock)."""
    return create_app(settings, aws=aws, engine=engine, revocations=revocations, anonymous_answer_seconds=60)


def _feed(platform: Platform, caller: Caller | None = None, **query: object) -> list[str]:
    headers = caller.headers if caller else {}
    response = platform.http.get("/api/videos", query_string=query, headers=headers)
    assert response.status_code == 200
    return [item["id"] for item in response.json["items"]]


def test_anonymous_readers_get_the_kept_answer_and_signed_in_ones_a_fresh_one(
    platform: Platform, alice: Caller
) -> None:
    first = platform.ready(alice, "first")
    assert _feed(platform) == [first]
    second = platform.ready(alice, "second")

    assert _feed(platform) == [first]  # kept
    assert _feed(platform, alice) == [second, first]
    assert _feed(platform, limit=5) == [second, first]  # another query, another answer
    assert _feed(platform, q="second") == [second]


def test_a_kept_answer_is_not_handed_out_past_its_grants_window(
    platform: Platform, alice: Caller, app: Flask
) -> None:
    """Its grants were reused until the window's end: past it, they would live less than their lifetime."""
    services = app.extensions[EXTENSION]
    clock = Clock(1_000_020.0)
    app.extensions[EXTENSION] = dataclasses.replace(
        services, grants=MediaGrants(services.ticket_key, window_seconds=60, clock=clock)
    )
    first = platform.ready(alice, "first")
    assert _feed(platform) == [first]
    second = platform.ready(alice, "second")
    clock.now += 60
    assert _feed(platform) == [second, first]


def test_an_anonymous_answer_sent_back_by_its_etag_is_a_304_without_a_body(
    platform: Platform, alice: Caller
) -> None:
    platform.ready(alice)
    first = platform.http.get("/api/videos")
    etag = first.headers["ETag"]

    again = platform.http.get("/api/videos", headers={"If-None-Match": etag})
    weak = platform.http.get("/api/videos", headers={"If-None-Match": f'"other", W/{etag}'})
    other = platform.http.get("/api/videos", headers={"If-None-Match": '"other"'})
    signed_in = platform.http.get("/api/videos", headers={"If-None-Match": etag, **alice.headers})

    assert (again.status_code, again.data, again.headers["ETag"]) == (304, b"", etag)
    assert weak.status_code == 304
    assert (other.status_code, other.json) == (200, first.json)
    assert signed_in.status_code == 200 and "ETag" not in signed_in.headers


def test_a_spelling_of_a_query_is_remembered_with_its_answer_and_lives_as_long() -> None:
    clock = Clock(100.0)
    cache = AnswerCache(5, clock=clock)
    assert cache.answered("limit=20") is None
    cache.get_or_make(("page", 20), lambda: "answer", request_key="limit=20")
    clock.now += 4
    assert cache.get_or_make(("page", 20), lambda: "another", request_key="") == "answer"
    assert [cache.answered(sent) for sent in ("limit=20", "", "limit=5")] == ["answer", "answer", None]
    clock.now += 1
    assert [cache.answered(sent) for sent in ("limit=20", "")] == [None, None]


def test_spellings_past_the_bound_are_not_remembered_and_push_out_none() -> None:
    cache = AnswerCache(60, clock=Clock(100.0))
    for spelling in range(3 * MAX_ANSWERS):
        cache.get_or_make("page", lambda: "answer", request_key=spelling)
    assert cache.answered(0) == "answer"
    assert cache.answered(3 * MAX_ANSWERS - 1) is None


def _flask_runs(app: Flask) -> list[str]:
    """The feed requests Flask handled (its before_request hooks ran), as they come."""
    handled: list[str] = []

    def note() -> None:
        if request.path == "/api/videos" and request.method in ("GET", "HEAD"):
            handled.append(request.full_path)

    app.before_request(note)
    return handled


def test_a_kept_answer_asked_again_as_sent_is_answered_before_flask_alike(
    platform: Platform, alice: Caller, app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same status, headers and bytes as the route's, its 304 too, and the same metrics line."""
    handled = _flask_runs(app)
    platform.ready(alice)
    through_flask = platform.http.get("/api/videos?limit=20")
    etag = through_flask.headers["ETag"]
    not_modified_through_flask = platform.http.get("/api/videos?limit=20&q=", headers={"If-None-Match": etag})
    capsys.readouterr()

    again = platform.http.get("/api/videos?limit=20")
    not_modified = platform.http.get("/api/videos?limit=20&q=", headers={"If-None-Match": etag})

    assert handled == ["/api/videos?limit=20", "/api/videos?limit=20&q="]
    assert (again.status_code, list(again.headers), again.data) == (
        200,
        list(through_flask.headers),
        through_flask.data,
    )
    assert (not_modified.status_code, list(not_modified.headers), not_modified.data) == (
        304,
        list(not_modified_through_flask.headers),
        b"",
    )
    lines = metric_lines(capsys.readouterr().out)
    assert [(line.dimensions["route"], line.values["Errors4xx"]) for line in lines] == [
        ("GET /api/videos", [0]),
        ("GET /api/videos", [0]),
    ]


def test_only_anonymous_gets_of_query_strings_the_feed_validated_are_answered_before_flask(
    platform: Platform, alice: Caller, app: Flask
) -> None:
    handled = _flask_runs(app)
    platform.ready(alice)
    for _ in range(2):
        assert platform.http.get("/api/videos?limit=0").status_code == 422  # never kept
        assert platform.http.get("/api/videos?limit=20&extra=1").status_code == 422
        assert platform.http.get("/api/videos?limit=20", headers=alice.headers).status_code == 200
        assert platform.http.head("/api/videos?limit=20").status_code == 200
    assert platform.http.get("/api/videos?limit=020").status_code == 200  # validated alike, seen first here
    assert platform.http.get("/api/videos?limit=020").status_code == 200

    assert handled == 2 * [
        "/api/videos?limit=0",
        "/api/videos?limit=20&extra=1",
        "/api/videos?limit=20",
        "/api/videos?limit=20",
    ] + ["/api/videos?limit=020"]
