"""``/api/videos``: create, feed, read, change and delete videos."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from flask import Blueprint, request
from spectree import Response

from app.backend import costs
from app.backend import videos as domain
from app.backend.api.render import video_out, videos_out
from app.backend.context import db, require_user, services, viewer_id
from app.backend.openapi import AUTH, api
from app.backend.schemas import (
    ErrorBody,
    FeedOrder,
    PresignedPost,
    TranscodeCostOut,
    VideoCostOut,
    VideoCreate,
    VideoCreated,
    VideoFeedQuery,
    VideoOut,
    VideoPage,
    VideoPatch,
)

bp = Blueprint("videos", __name__, url_prefix="/api/videos")
TAGS = ("videos",)


@bp.post("")
@api.validate(
    resp=Response(HTTP_201=VideoCreated, HTTP_401=ErrorBody, HTTP_429=ErrorBody), tags=TAGS, security=AUTH
)
def create(json: VideoCreate) -> tuple[VideoCreated, int]:
    """Create a video and get a presigned POST for its source (fields to send with the file).

    429 `quota_videos_per_day` (with `Retry-After`, in seconds) once the caller has created the
    stack's `videosPerUserPerDay` videos in the last 24 hours."""
    owner = require_user()
    svc = services()
    video, post = domain.create_video(db(), svc.aws, svc.settings, owner, json)
    body = VideoCreated(
        id=video.id,
        upload=PresignedPost(url=post["url"], fields=post["fields"]),
        max_upload_bytes=svc.settings.max_upload_bytes,
        multipart_threshold_bytes=svc.settings.multipart_threshold_bytes,
        video=video_out(video, domain.VideoStats(domain.LikeCount(0, False), 0, json.tags), svc),
    )
    return body, 201


@bp.get("")
@api.validate(resp=Response("HTTP_304", HTTP_200=VideoPage, HTTP_400=ErrorBody), tags=TAGS)
def feed(query: VideoFeedQuery) -> VideoPage | tuple[VideoPage | str, int, dict[str, str]]:
    """Public, ready videos, newest first; `q` searches titles; `cursor` continues a page.

    Answers to anonymous callers may be up to 5 seconds old (each server keeps them that long)
    and carry an `ETag`: sent back in `If-None-Match`, an unchanged answer is a 304 without a body.

    `order=trending`: the same videos by 3 * likes + views of the last 7 days (views counted by
    UTC day), those with neither left out; one page, without `next_cursor` (400 for a cursor)."""
    me = viewer_id()
    if me is not None:
        return _feed_page(query, me)
    svc = services()
    # Kept within one grant window only, so a kept answer's grants live their full lifetime.
    key = (svc.grants.window_end(), query.order, query.q, query.cursor, query.limit)
    kept: KeptPage = svc.anonymous_answers.get_or_make(key, lambda: KeptPage.of(_feed_page(query, None)))
    headers = {"ETag": f'"{kept.etag}"'}
    # RFC 9110, section 13.1.2: If-None-Match compares weakly, and "*" matches any answer.
    if request.if_none_match.contains_weak(kept.etag):
        return "", 304, headers
    return kept.page, 200, headers


@dataclass(frozen=True)
class KeptPage:
    """An anonymous answer and its entity tag, unquoted (the same bytes have the same tag in every worker)."""

    page: VideoPage
    etag: str

    @classmethod
    def of(cls, page: VideoPage) -> KeptPage:
        return cls(page, hashlib.sha256(page.model_dump_json().encode()).hexdigest()[:32])


def _feed_page(query: VideoFeedQuery, me: str | None) -> VideoPage:
    session = db()
    if query.order == FeedOrder.TRENDING:
        rows, next_cursor = domain.trending(session, query), None
    else:
        rows, next_cursor = domain.feed(session, query)
    stats = domain.video_stats(session, [v.id for v in rows], me)
    return VideoPage(items=videos_out(rows, stats, services()), next_cursor=next_cursor)


@bp.get("/<uuid:video_id>")
@api.validate(resp=Response(HTTP_200=VideoOut, HTTP_404=ErrorBody), tags=TAGS)
def get(video_id: uuid.UUID) -> VideoOut:
    """A video the caller may see: status, progress, and when ready its playback and thumbnail URLs."""
    session = db()
    me = viewer_id()
    video = domain.visible_video(session, video_id, me)
    return video_out(video, domain.video_stats(session, [video.id], me)[video.id], services())


@bp.patch("/<uuid:video_id>")
@api.validate(
    resp=Response(
        HTTP_200=VideoOut, HTTP_401=ErrorBody, HTTP_403=ErrorBody, HTTP_404=ErrorBody, HTTP_503=ErrorBody
    ),
    tags=TAGS,
    security=AUTH,
)
def patch(video_id: uuid.UUID, json: VideoPatch) -> VideoOut:
    """Change the title, description or visibility of one's own video; made private, the links
    others were given stop playing within seconds."""
    owner = require_user()
    session = db()
    svc = services()
    video = domain.patch_video(session, svc.revocations, domain.own_video(session, video_id, owner.id), json)
    return video_out(video, domain.video_stats(session, [video.id], owner.id)[video.id], svc)


@bp.delete("/<uuid:video_id>")
@api.validate(
    resp=Response("HTTP_204", HTTP_401=ErrorBody, HTTP_403=ErrorBody, HTTP_404=ErrorBody, HTTP_503=ErrorBody),
    tags=TAGS,
    security=AUTH,
)
def delete(video_id: uuid.UUID) -> tuple[str, int]:
    """Delete one's own video with its uploaded source and every transcoded output; its links stop playing."""
    owner = require_user()
    session = db()
    svc = services()
    domain.delete_video(
        session, svc.aws, svc.settings, svc.revocations, domain.own_video(session, video_id, owner.id)
    )
    return "", 204


@bp.get("/<uuid:video_id>/cost")
@api.validate(
    resp=Response(HTTP_200=VideoCostOut, HTTP_401=ErrorBody, HTTP_403=ErrorBody, HTTP_404=ErrorBody),
    tags=TAGS,
    security=AUTH,
)
def cost(video_id: uuid.UUID) -> VideoCostOut:
    """What transcoding one's own video cost, at the stack's prices."""
    owner = require_user()
    video = domain.own_video(db(), video_id, owner.id)
    priced = costs.video_cost(video, costs.Prices.from_settings(services().settings))
    return VideoCostOut(
        video_id=video.id,
        cost=TranscodeCostOut.model_validate(priced, from_attributes=True) if priced else None,
    )


@bp.post("/<uuid:video_id>/retry")
@api.validate(
    resp=Response(
        HTTP_202=VideoOut,
        HTTP_401=ErrorBody,
        HTTP_403=ErrorBody,
        HTTP_404=ErrorBody,
        HTTP_409=ErrorBody,
        HTTP_503=ErrorBody,
    ),
    tags=TAGS,
    security=AUTH,
)
def retry(video_id: uuid.UUID) -> tuple[VideoOut, int]:
    """Transcode one's own failed video again from its kept source, under a new task (queued once,
    however often this is called).

    409 `not_failed` unless the video is `failed`; 409 `source_gone` when its source is no longer
    stored (deleted, or past the stack's `rawUploadExpiryDays`): upload the video again."""
    owner = require_user()
    session = db()
    svc = services()
    video = domain.retry_video(session, svc.aws, svc.settings, domain.own_video(session, video_id, owner.id))
    return video_out(video, domain.video_stats(session, [video.id], owner.id)[video.id], svc), 202
