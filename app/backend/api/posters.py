"""``/api/videos/<id>/poster``: the owner sees the candidate posters, chooses one or uploads an image."""

from __future__ import annotations

import base64
import binascii
import uuid

from flask import Blueprint
from spectree import Response

from app.backend import posters
from app.backend import videos as domain
from app.backend.api.render import poster_out
from app.backend.context import db, require_user, services
from app.backend.openapi import AUTH, api
from app.backend.schemas import ErrorBody, PosterChoice, PosterOut, PosterUpload
from app.contracts.errors import ApiError

bp = Blueprint("posters", __name__, url_prefix="/api/videos")
TAGS = ("videos",)
_OWNER_ONLY = {"HTTP_401": ErrorBody, "HTTP_403": ErrorBody, "HTTP_404": ErrorBody}


@bp.get("/<uuid:video_id>/poster")
@api.validate(resp=Response(HTTP_200=PosterOut, **_OWNER_ONLY), tags=TAGS, security=AUTH)
def get(video_id: uuid.UUID) -> PosterOut:
    """One's own video's poster and the candidates to choose from (none before it is ready)."""
    owner = require_user()
    return poster_out(domain.own_video(db(), video_id, owner.id), services())


@bp.put("/<uuid:video_id>/poster")
@api.validate(
    resp=Response(HTTP_200=PosterOut, HTTP_400=ErrorBody, HTTP_409=ErrorBody, **_OWNER_ONLY),
    tags=TAGS,
    security=AUTH,
)
def choose(video_id: uuid.UUID, json: PosterChoice) -> PosterOut:
    """Show one of the candidates as one's own video's poster, in the feed and the player.

    400 `no_such_candidate` past the last candidate; 409 `not_ready` before the video is ready."""
    owner = require_user()
    session = db()
    svc = services()
    video = domain.own_video(session, video_id, owner.id)
    return poster_out(posters.choose_candidate(session, svc.aws.s3, svc.settings, video, json.candidate), svc)


@bp.post("/<uuid:video_id>/poster")
@api.validate(
    resp=Response(
        HTTP_200=PosterOut, HTTP_400=ErrorBody, HTTP_409=ErrorBody, HTTP_413=ErrorBody, **_OWNER_ONLY
    ),
    tags=TAGS,
    security=AUTH,
)
def upload(video_id: uuid.UUID, json: PosterUpload) -> PosterOut:
    """Show an image of one's own as the video's poster: recognised by its content, re-encoded.

    400 `not_an_image` unless it decodes as the JPEG, PNG or WebP its first bytes announce;
    413 `image_too_large` over the size limit; 409 `not_ready` before the video is ready."""
    owner = require_user()
    session = db()
    svc = services()
    video = domain.own_video(session, video_id, owner.id)
    try:
        image = base64.b64decode(json.image, validate=True)
    except binascii.Error:
        raise ApiError(400, "not_base64", "image is not valid base64") from None
    return poster_out(posters.upload_poster(session, svc.aws.s3, svc.settings, video, image), svc)
