"""The backend's Flask app factory."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, current_app, g, request
from sqlalchemy import Engine

from app import metrics
from app.backend.answer_cache import ANONYMOUS_ANSWER_SECONDS, AnswerCache
from app.backend.api import BLUEPRINTS
from app.backend.api.videos import answer_kept_pages_first
from app.backend.auth import TokenVerifier
from app.backend.aws import AwsClients
from app.backend.context import EXTENSION, Services, close_db, require_user
from app.backend.db import database_engine, session_factory
from app.backend.media_grants import MediaGrants
from app.backend.openapi import requires_sign_in
from app.backend.revocations import RevocationStore, revocation_store
from app.contracts import bounded_json
from app.contracts.errors import ApiError
from app.contracts.settings import BackendSettings
from app.contracts.signouts import SignOuts
from app.contracts.tickets import load_key
from app.serving import answer_in_the_error_shape

log = logging.getLogger(__name__)

# Request bodies are small JSON documents; video bytes go straight to S3.
MAX_REQUEST_BYTES = 1024 * 1024
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _check_json_body() -> None:
    """Refuse bodies that are not JSON, before spectree would read them as an empty object."""
    if request.method not in _BODY_METHODS:
        return
    if request.mimetype and not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send the request body as application/json")
    data = request.get_data(cache=True)
    if not data:
        return
    try:
        # Only UTF-8 (RFC 8259, section 8.1): Python's parser would also guess UTF-16 and UTF-32.
        bounded_json.loads(data.decode("utf-8"))
    except bounded_json.TooDeep as exc:
        raise ApiError(400, "malformed_json", str(exc)) from None
    except ValueError:
        raise ApiError(400, "malformed_json", "the request body is not valid JSON") from None


def _authenticate_first() -> None:
    """A route that needs a signed-in caller answers an anonymous one 401 before it looks at
    the body: a 422 would tell a stranger what the route accepts."""
    if request.method == "OPTIONS":  # answered by Flask itself, for anyone
        return
    if requires_sign_in(current_app.view_functions.get(request.endpoint or "")):
        require_user()


def _start_clock() -> None:
    g.request_started = time.perf_counter()


def _count_request(response: Response) -> Response:
    """Request count, latency and 4xx/5xx per route (``app.metrics``), whatever answered."""
    started = g.get("request_started")
    if started is not None:
        template = request.url_rule.rule if request.url_rule else None
        route = metrics.route_name(request.method, template)
        metrics.request("backend", route, response.status_code, time.perf_counter() - started)
    return response


def create_app(
    settings: BackendSettings,
    *,
    aws: AwsClients | None = None,
    engine: Engine | None = None,
    revocations: RevocationStore | None = None,
    anonymous_answer_seconds: float = ANONYMOUS_ANSWER_SECONDS,
) -> Flask:
    """The backend API: every route under ``/api``, the OpenAPI document at ``/api/openapi.json``.

    ``aws``, ``engine`` and ``revocations`` default to clients, an engine and the media edge's
    store built from ``settings``; ``anonymous_answer_seconds``: how long the feed's answers to
    anonymous callers are kept (app/backend/answer_cache.py; 0: not kept).
    """
    aws = aws or AwsClients.from_settings(settings)
    engine = engine or database_engine(settings, aws.secretsmanager)
    ticket_key = load_key(aws.secretsmanager, settings.ticket_secret_arn)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = Services(
        settings=settings,
        aws=aws,
        engine=engine,
        sessions=session_factory(engine),
        verifier=TokenVerifier(
            jwks_url=settings.jwks_url,
            issuer=settings.jwt_issuer,
            client_id=settings.user_pool_client_id,
            signouts=SignOuts(aws.dynamodb, settings.signout_table),
        ),
        ticket_key=ticket_key,
        revocations=revocations or revocation_store(settings.media_revocation_store, ticket_key),
        grants=MediaGrants(ticket_key),
        anonymous_answers=AnswerCache(anonymous_answer_seconds),
    )
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)

    app.before_request(_start_clock)
    app.after_request(_count_request)
    app.before_request(_authenticate_first)
    app.before_request(_check_json_body)
    app.teardown_appcontext(close_db)
    answer_in_the_error_shape(app, unexpected="something went wrong on our side")
    answer_kept_pages_first(app)
    return app
