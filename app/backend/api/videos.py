"""``/api/videos``: create, feed, read, change and delete videos."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, request
from spectree import Response
from werkzeug.http import parse_etags

from app import metrics
from app.backend import costs
from app.backend import videos as domain
from app.backend.api.render import video_out, videos_out
from app.backend.context import EXTENSION, Services, db, require_user, services, viewer_id
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
    window_end = svc.grants.window_end()
    kept: KeptPage = svc.anonymous_answers.get_or_make(
        (window_end, query.order, query.q, query.cursor, query.limit),
        lambda: KeptPage.of(_feed_page(query, None)),
        request_key=(window_end, request.environ.get("QUERY_STRING", "")),
    )
    headers = {"ETag": f'"{kept.etag}"'}
    if kept.not_modified(request.headers.get("If-None-Match")):
        return "", 304, headers
    return kept.page, 200, headers


@dataclass(frozen=True)
class KeptPage:
    """An anonymous answer, its JSON and its entity tag, unquoted (the same bytes have the same
    tag in every worker)."""

    page: VideoPage
    body: bytes
    etag: str

    @classmethod
    def of(cls, page: VideoPage) -> KeptPage:
        body = page.model_dump_json().encode()  # what spectree sends for the page
        return cls(page, body, hashlib.sha256(body).hexdigest()[:32])

    def not_modified(self, if_none_match: str | None) -> bool:
        # RFC 9110, section 13.1.2: If-None-Match compares weakly, and "*" matches any answer.
        return bool(if_none_match) and parse_etags(if_none_match).contains_weak(self.etag)


FEED_ROUTE = metrics.route_name("GET", bp.url_prefix)


def answer_kept_pages_first(app: Flask) -> None:
    """Answer a feed request remembered with its kept anonymous answer before Flask runs.

    A kept answer served through Flask still cost about 0.5 ms of Python over serving its bytes
    (bench/README.md, row 5): the request context and hooks, spectree's validation of the query
    and its serialization of the 20 kB page. This layer answers, ahead of all that, a ``GET``
    without ``Authorization`` (``viewer`` takes such a caller as anonymous) whose query string,
    as sent, the feed validated and answered in the current grant window (``AnswerCache``'s
    remembered requests): the same status, headers and bytes as the route, the 304 of its
    ``ETag`` included, and the request's metrics line; gunicorn's access log sees it as any
    other. Anything else, or a query string not seen yet, goes to Flask.
    """
    through_flask = app.wsgi_app

    def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (
            environ.get("PATH_INFO") != bp.url_prefix
            or environ["REQUEST_METHOD"] != "GET"
            or environ.get("HTTP_AUTHORIZATION")
        ):
            return through_flask(environ, start_response)
        started = time.perf_counter()
        svc: Services = app.extensions[EXTENSION]
        kept: KeptPage | None = svc.anonymous_answers.answered(
            (svc.grants.window_end(), environ.get("QUERY_STRING", ""))
        )
        if kept is None:
            return through_flask(environ, start_response)
        etag = ("ETag", f'"{kept.etag}"')
        if kept.not_modified(environ.get("HTTP_IF_NONE_MATCH")):
            status, headers, body = 304, [etag], b""
        else:
            status = 200
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(kept.body))), etag]
            body = kept.body
        start_response("304 NOT MODIFIED" if status == 304 else "200 OK", headers)
        metrics.request("backend", FEED_ROUTE, status, time.perf_counter() - started)
        return [body]

    app.wsgi_app = wsgi_app  # type: ignore[method-assign]


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
