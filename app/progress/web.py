"""The progress service's Flask app: ``GET /events/videos/<id>?ticket=...`` (SSE) and its health.

``GET /events/health/live`` is liveness, what the load balancer and the Auto Scaling group act
on: this process serves. ``GET /events/health/ready`` is readiness: whether the instance also
receives events (its queue polls). Readiness is reported and logged, never a reason to replace
an instance: a failing dependency is not mended by a new instance, and a check that follows it
would replace the whole fleet at once.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from pydantic import ValidationError

from app.contracts import tickets
from app.contracts.errors import ApiError
from app.contracts.settings import ProgressSettings
from app.contracts.signouts import SignOuts, SignOutsUnavailable
from app.progress import stream
from app.progress.hub import Connection, Hub, ShuttingDown, Subscriber, TooManyStreams
from app.progress.poller import Poller
from app.serving import answer_in_the_error_shape

log = logging.getLogger(__name__)

EXTENSION = "reelstack.progress"
RETRY_AFTER_SECONDS = 5
_SEQUENCE_NUMBER = re.compile(r"[0-9]{1,18}")
# The stream must reach the browser event by event: no caching, no proxy buffering (nginx, ALB).
# An EventSource never reuses its connection, and a kept-alive one would hold up graceful shutdown.
STREAM_HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
    "Connection": "close",
}


ClientWatch = Callable[[dict[str, Any], Callable[[], None]], Callable[[], None]]
"""``watch(environ, gone)`` calls ``gone`` once the request's client closes its connection, and
returns what stops watching. Without one, a departed client is noticed only when a write to it
fails, at the next heartbeat, and holds its slot until then."""


ClientConnection = Callable[[dict[str, Any]], Connection | None]
"""``connection(environ)``: the request's connection for the hub to write the stream's live events
to in its publish loop, or None; without one, each stream writes its own events. Whoever gives
connections runs ``Hub.beat_every`` too: the hub writes those streams' heartbeats."""


@dataclass(frozen=True)
class ProgressContext:
    settings: ProgressSettings
    hub: Hub
    ticket_key: bytes
    signouts: SignOuts
    instance_id: str
    queue_name: str = ""
    poller: Poller | None = None
    watch_client: ClientWatch | None = None
    connection: ClientConnection | None = None


events = Blueprint("events", __name__, url_prefix="/events")


def _context() -> ProgressContext:
    context: ProgressContext = current_app.extensions[EXTENSION]
    return context


def _video_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        # As the backend and the media edge answer it: an id that cannot exist names no video.
        raise ApiError(404, "not_found", "no such video: the id must be a UUID") from None


def _last_event_id() -> int | None:
    raw = request.headers.get("Last-Event-ID")
    if raw is None or raw == "":
        return None
    # ASCII digits only, and few of them: str.isdigit() also accepts "²", which int() refuses.
    if not _SEQUENCE_NUMBER.fullmatch(raw):
        raise ApiError(
            400, "invalid_last_event_id", "Last-Event-ID must be the id of an event of this stream"
        )
    return int(raw)


def _ticket(context: ProgressContext, video_id: uuid.UUID) -> tickets.EventsTicket:
    raw = request.args.get("ticket", "")
    if not raw:
        raise ApiError(401, "ticket_required", "ask POST /api/videos/{id}/events-ticket for a ticket")
    try:
        ticket = tickets.verify_events_ticket(context.ticket_key, raw, video_id)
    except tickets.TicketForAnotherVideo as exc:
        raise ApiError(403, "ticket_for_another_video", str(exc)) from None
    except tickets.TicketError as exc:
        raise ApiError(401, "invalid_ticket", f"{exc}; ask for a new one") from None
    if ticket.token_issued_at is not None:
        # Issued for a signed-in user's token: refused once that user has signed out since.
        try:
            signed_out = context.signouts.signed_out(ticket.user_id, ticket.token_issued_at)
        except SignOutsUnavailable:
            raise ApiError(503, "auth_unavailable", "sign-outs cannot be checked; retry shortly") from None
        if signed_out:
            raise ApiError(401, "signed_out", "the session that asked for this ticket has been signed out")
    return ticket


@events.get("/videos/<raw_video_id>")
def video_events(raw_video_id: str) -> Response:
    context = _context()
    video_id = _video_id(raw_video_id)
    last_event_id = _last_event_id()
    ticket = _ticket(context, video_id)
    try:
        snapshot = stream.TicketSnapshot.model_validate(ticket.snapshot).as_event()
    except ValidationError:
        raise ApiError(400, "invalid_ticket", "the ticket carries no valid video state") from None
    try:
        subscriber, history = context.hub.subscribe(video_id)
    except TooManyStreams as exc:
        raise ApiError(503, "too_many_streams", f"{exc}; retry shortly") from None
    except ShuttingDown as exc:
        raise ApiError(503, "shutting_down", f"{exc}; reconnect") from None
    log.info("stream opened", extra={"video_id": video_id, "user_id": ticket.user_id})
    opening = stream.opening_events(snapshot, history, last_event_id)
    response = Response(
        stream.events(
            subscriber,
            opening,
            context.settings.heartbeat_seconds,
            hub=context.hub,
            connection=context.connection(request.environ) if context.connection is not None else None,
        ),
        mimetype="text/event-stream",
        headers=STREAM_HEADERS,
    )
    # A viewer who reloads must not count twice against the limit until a heartbeat fails.
    stop_watching = (
        context.watch_client(request.environ, lambda: context.hub.leave(subscriber))
        if context.watch_client is not None
        else None
    )
    # On the WSGI close, whether the stream ended, the client left, or it never started.
    response.call_on_close(lambda: _closed(context.hub, subscriber, stop_watching))
    return response


def _closed(hub: Hub, subscriber: Subscriber, stop_watching: Callable[[], None] | None) -> None:
    if stop_watching is not None:
        stop_watching()
    hub.unsubscribe(subscriber)
    log.info("stream closed", extra={"video_id": subscriber.video_id})


@events.get("/health/live")
def liveness() -> tuple[Response, int]:
    """200 while this process serves streams; 503 only once it is stopping (it refuses new ones)."""
    context = _context()
    stopping = context.hub.closed
    body = {"status": "stopping" if stopping else "ok", "instance_id": context.instance_id}
    return jsonify(body), 503 if stopping else 200


@events.get("/health/ready")
def readiness() -> tuple[Response, int]:
    """Liveness plus the dependency: 503 while polling the queue keeps failing."""
    context = _context()
    polling = context.poller is None or context.poller.healthy
    body = {
        "status": "stopping" if context.hub.closed else "ok" if polling else "degraded",
        "instance_id": context.instance_id,
        "queue": context.queue_name,
        "polling_failures": 0 if context.poller is None else context.poller.consecutive_failures,
        "streams": context.hub.stream_count,
        "videos": context.hub.video_count,
    }
    return jsonify(body), 200 if polling and not context.hub.closed else 503


def create_app(
    settings: ProgressSettings,
    *,
    hub: Hub,
    ticket_key: bytes,
    signouts: SignOuts,
    instance_id: str,
    queue_name: str = "",
    poller: Poller | None = None,
    watch_client: ClientWatch | None = None,
    connection: ClientConnection | None = None,
) -> Flask:
    app = Flask(__name__)
    app.extensions[EXTENSION] = ProgressContext(
        settings, hub, ticket_key, signouts, instance_id, queue_name, poller, watch_client, connection
    )
    app.register_blueprint(events)
    answer_in_the_error_shape(
        app, unexpected="the progress service failed; retry", retry_after_seconds=RETRY_AFTER_SECONDS
    )
    return app
