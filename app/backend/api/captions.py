"""``/api/videos/{id}/captions``: an owner's caption tracks, one per language (BCP 47 tag)."""

from __future__ import annotations

import uuid

from flask import Blueprint
from spectree import Response

from app.backend import captions as domain
from app.backend.api.render import caption_out, media_base
from app.backend.context import db, require_user, services
from app.backend.openapi import AUTH, api
from app.backend.schemas import CaptionList, CaptionOut, CaptionUpload, ErrorBody
from app.backend.videos import own_video

bp = Blueprint("captions", __name__, url_prefix="/api/videos/<uuid:video_id>/captions")
TAGS = ("captions",)


@bp.get("")
@api.validate(
    resp=Response(HTTP_200=CaptionList, HTTP_401=ErrorBody, HTTP_403=ErrorBody, HTTP_404=ErrorBody),
    tags=TAGS,
    security=AUTH,
)
def list_captions(video_id: uuid.UUID) -> CaptionList:
    """One's own video's caption tracks, by language, with the limits an upload must keep."""
    owner = require_user()
    session = db()
    video = own_video(session, video_id, owner.id)
    base = media_base(video, services())
    return CaptionList(
        items=[caption_out(t, base) for t in domain.tracks(session, video)],
        max_bytes=domain.MAX_CAPTION_BYTES,
        max_tracks=domain.MAX_TRACKS_PER_VIDEO,
    )


@bp.put("/<language>")
@api.validate(
    resp=Response(
        HTTP_200=CaptionOut,
        HTTP_201=CaptionOut,
        HTTP_401=ErrorBody,
        HTTP_403=ErrorBody,
        HTTP_404=ErrorBody,
        HTTP_409=ErrorBody,
        HTTP_413=ErrorBody,
        HTTP_503=ErrorBody,
    ),
    tags=TAGS,
    security=AUTH,
)
def put_caption(video_id: uuid.UUID, language: str, json: CaptionUpload) -> tuple[CaptionOut, int]:
    """Add (201) or replace (200) one's own video's caption track in `language` (a BCP 47 tag
    such as `en` or `pt-BR`) from a WebVTT or SRT file, stored as WebVTT and published as an HLS
    subtitles rendition of the video's playlist: at once on a ready video; on a video not ready
    yet (uploading, queued, transcoding, failed), when it becomes ready. Until then the track's
    `url` is null.

    422 `invalid_language`, `caption_invalid` (the message names the line); 413
    `caption_too_large` (over `max_bytes` of the list); 409 `caption_label_taken`,
    `too_many_captions`, `caption_conflict`; 503 `storage_unavailable`."""
    owner = require_user()
    session = db()
    svc = services()
    video = own_video(session, video_id, owner.id)
    track, created = domain.put_track(
        session,
        svc.aws,
        svc.settings,
        video,
        language,
        label=json.label,
        fmt=json.format,
        content=json.content,
    )
    return caption_out(track, media_base(video, svc)), 201 if created else 200


@bp.delete("/<language>")
@api.validate(
    resp=Response("HTTP_204", HTTP_401=ErrorBody, HTTP_403=ErrorBody, HTTP_404=ErrorBody, HTTP_503=ErrorBody),
    tags=TAGS,
    security=AUTH,
)
def delete_caption(video_id: uuid.UUID, language: str) -> tuple[str, int]:
    """Delete one's own video's caption track in `language`; the published playlist drops it at once.

    404 `caption_not_found`; 422 `invalid_language`."""
    owner = require_user()
    session = db()
    svc = services()
    domain.delete_track(session, svc.aws, svc.settings, own_video(session, video_id, owner.id), language)
    return "", 204
