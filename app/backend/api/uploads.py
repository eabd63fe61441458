"""Uploads of a video's source: multipart for large files, and the mark-uploaded step that queues the task."""

from __future__ import annotations

import uuid

from flask import Blueprint
from spectree import Response

from app.backend import videos as domain
from app.backend.api.render import video_out
from app.backend.context import db, require_user, services
from app.backend.openapi import AUTH, api
from app.backend.schemas import (
    ErrorBody,
    MultipartComplete,
    MultipartProgress,
    MultipartStart,
    MultipartStarted,
    PartUrl,
    PartUrls,
    PartUrlsRequest,
    StoredPartOut,
    VideoOut,
)

bp = Blueprint("uploads", __name__, url_prefix="/api/videos/<uuid:video_id>")
TAGS = ("uploads",)
_ERRORS = {"HTTP_401": ErrorBody, "HTTP_403": ErrorBody, "HTTP_404": ErrorBody, "HTTP_409": ErrorBody}


@bp.post("/uploaded")
@api.validate(
    resp=Response(HTTP_202=VideoOut, HTTP_413=ErrorBody, HTTP_415=ErrorBody, **_ERRORS),
    tags=TAGS,
    security=AUTH,
)
def uploaded(video_id: uuid.UUID) -> tuple[VideoOut, int]:
    """The source is in S3: check it and queue its transcoding task (once, however often this is called).

    413 `upload_too_large` for a file above `max_upload_bytes`, 413 `quota_storage` when the
    caller's kept sources and this one exceed the stack's `storedBytesPerUser`; either way the
    file is deleted and the video stays `uploading`."""
    owner = require_user()
    session = db()
    svc = services()
    video = domain.mark_uploaded(
        session, svc.aws, svc.settings, domain.own_video(session, video_id, owner.id)
    )
    return video_out(video, domain.video_stats(session, [video.id], owner.id)[video.id], svc), 202


@bp.post("/multipart")
@api.validate(resp=Response(HTTP_201=MultipartStarted, **_ERRORS), tags=TAGS, security=AUTH)
def start(video_id: uuid.UUID, json: MultipartStart) -> tuple[MultipartStarted, int]:
    """Start a multipart upload of the source (for files above `multipart_threshold_bytes`)."""
    owner = require_user()
    session = db()
    svc = services()
    video = domain.own_video(session, video_id, owner.id)
    upload_id = domain.start_multipart(session, svc.aws, svc.settings, video, json.content_type)
    return MultipartStarted(upload_id=upload_id, key=video.source_key), 201


@bp.get("/multipart")
@api.validate(resp=Response(HTTP_200=MultipartProgress, **_ERRORS), tags=TAGS, security=AUTH)
def progress(video_id: uuid.UUID) -> MultipartProgress:
    """The current multipart upload and the parts S3 already holds, so an interrupted upload
    resumes with the others. 409 `multipart_gone` once the bucket's lifecycle has aborted it."""
    owner = require_user()
    svc = services()
    video = domain.own_video(db(), video_id, owner.id)
    stored = domain.stored_parts(svc.aws, svc.settings, video)
    return MultipartProgress(
        upload_id=str(video.multipart_upload_id),
        key=video.source_key,
        parts=[StoredPartOut(part_number=p.part_number, etag=p.etag, size=p.size) for p in stored],
    )


@bp.post("/multipart/parts")
@api.validate(resp=Response(HTTP_200=PartUrls, **_ERRORS), tags=TAGS, security=AUTH)
def parts(video_id: uuid.UUID, json: PartUrlsRequest) -> PartUrls:
    """Presigned PUT URLs for the given part numbers of the current multipart upload: at first, or
    again for the parts a resumed upload still has to send (each URL expires after an hour)."""
    owner = require_user()
    svc = services()
    video = domain.own_video(db(), video_id, owner.id)
    urls = domain.part_urls(svc.aws, svc.settings, video, json.part_numbers)
    return PartUrls(
        parts=[PartUrl(part_number=n, url=u) for n, u in zip(json.part_numbers, urls, strict=True)]
    )


@bp.post("/multipart/complete")
@api.validate(resp=Response("HTTP_204", **_ERRORS), tags=TAGS, security=AUTH)
def complete(video_id: uuid.UUID, json: MultipartComplete) -> tuple[str, int]:
    """Assemble the uploaded parts (part numbers with the ETags S3 returned); 409
    `multipart_invalid` when storage refuses them (a part it does not hold, another ETag)."""
    owner = require_user()
    session = db()
    svc = services()
    domain.complete_multipart(
        session, svc.aws, svc.settings, domain.own_video(session, video_id, owner.id), json
    )
    return "", 204


@bp.delete("/multipart")
@api.validate(resp=Response("HTTP_204", **_ERRORS), tags=TAGS, security=AUTH)
def abort(video_id: uuid.UUID) -> tuple[str, int]:
    """Abort the current multipart upload and discard its parts."""
    owner = require_user()
    session = db()
    svc = services()
    domain.abort_multipart(session, svc.aws, svc.settings, domain.own_video(session, video_id, owner.id))
    return "", 204
