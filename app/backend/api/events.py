"""``/api/videos/{id}/events-ticket``: a short-lived ticket for the video's SSE progress stream."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from flask import Blueprint
from spectree import Response

from app.backend.context import db, services, viewer_id, viewer_identity
from app.backend.openapi import api
from app.backend.schemas import ErrorBody, EventsTicketOut
from app.backend.videos import snapshot, visible_video
from app.contracts.tickets import issue_events_ticket

bp = Blueprint("events", __name__, url_prefix="/api/videos/<uuid:video_id>/events-ticket")
# Anonymous viewers of public and unlisted videos get tickets too; the ticket names them so.
ANONYMOUS = "anonymous"


@bp.post("")
@api.validate(
    resp=Response(HTTP_200=EventsTicketOut, HTTP_401=ErrorBody, HTTP_404=ErrorBody), tags=("events",)
)
def events_ticket(video_id: uuid.UUID) -> EventsTicketOut:
    """For anyone who may see the video; carries the video's current state for late subscribers."""
    me = viewer_id()
    identity = viewer_identity()
    video = visible_video(db(), video_id, me)
    svc = services()
    ticket = issue_events_ticket(
        svc.ticket_key,
        user_id=me or ANONYMOUS,
        token_issued_at=identity.issued_at if identity else None,
        video_id=video.id,
        snapshot=snapshot(video),
        ttl_seconds=svc.settings.ticket_ttl_seconds,
    )
    return EventsTicketOut(ticket=ticket, url=f"/events/videos/{video.id}?ticket={quote(ticket)}")
