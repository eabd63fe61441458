"""The video catalogue's domain: creation, uploads, the queueing of one task, the feed, visibility, deletion.

Plain functions over a SQLAlchemy session and the AWS clients; no Flask here.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import (
    CursorResult,
    Select,
    and_,
    bindparam,
    func,
    literal,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from app.backend import tags as video_tags
from app.backend import video_events
from app.backend.aws import AwsClients
from app.backend.models import Like, User, Video, VideoTag, VideoView, Visibility, utcnow
from app.backend.pagination import page
from app.backend.revocations import RevocationFailed, RevocationStore, now_ms
from app.backend.schemas import FeedQuery, MultipartComplete, PageQuery, VideoCreate, VideoPatch
from app.contracts.errors import ApiError
from app.contracts.messages import TaskMessageV1, VideoState
from app.contracts.names import incoming_key_prefix, upload_key_prefix
from app.contracts.settings import BackendSettings
from app.contracts.tickets import MEDIA_GRANT_MAX_SECONDS

log = logging.getLogger(__name__)

PRESIGN_EXPIRES_SECONDS = 3600
_SNIFF_BYTES = 64
# CopyObject copies at most 5 GB in one request; a larger source is copied in parts
# (UploadPartCopy), here from 1 GiB on, in parallel parts of 512 MiB.
ACCEPT_COPY = TransferConfig(multipart_threshold=1024**3, multipart_chunksize=512 * 1024**2)


def source_key(video_id: uuid.UUID) -> str:
    """Where the video's upload goes: the key its presigned POST and multipart upload write."""
    return f"{incoming_key_prefix(video_id)}source"


def accepted_source_key(video_id: uuid.UUID, task_id: uuid.UUID) -> str:
    """Where an accepted source is kept, one key per task: no presigned upload can write it (a POST
    policy's ``key`` condition is an exact match, and part URLs name the upload's own key)."""
    return f"{upload_key_prefix(video_id)}accepted/{task_id}"


def media_prefix(video_id: uuid.UUID) -> str:
    """Every task's outputs of a video live under this prefix (see contracts.tickets.media_key_prefix)."""
    return f"videos/{video_id}/"


# Visibility
def can_view(video: Video, viewer_id: str | None) -> bool:
    """The owner sees their video in every state; others only one neither private, hidden by a
    moderator, nor owned by a suspended user."""
    if video.owner_id == viewer_id:
        return True
    return (
        video.visibility != Visibility.PRIVATE
        and video.hidden_at is None
        and video.owner_suspended_at is None
    )


def shown_to_everyone() -> Any:
    """The SQL condition of videos neither hidden by a moderator nor owned by a suspended user
    (columns of the video's own row: the feed and search read no other table)."""
    return and_(Video.hidden_at.is_(None), Video.owner_suspended_at.is_(None))


def visible_video(session: Session, video_id: uuid.UUID, viewer_id: str | None) -> Video:
    """The video if the viewer may see it; 404 otherwise, so private videos do not reveal they exist."""
    video = session.get(Video, video_id)
    if video is None or not can_view(video, viewer_id):
        raise ApiError(404, "not_found", f"no video {video_id}")
    return video


def own_video(session: Session, video_id: uuid.UUID, owner_id: str) -> Video:
    video = visible_video(session, video_id, owner_id)
    if video.owner_id != owner_id:
        raise ApiError(403, "forbidden", "only the video's owner can do this")
    return video


@dataclass(frozen=True)
class LikeCount:
    likes: int
    liked_by_me: bool


def like_counts(
    session: Session, video_ids: list[uuid.UUID], viewer_id: str | None
) -> dict[uuid.UUID, LikeCount]:
    if not video_ids:
        return {}
    counts = dict(
        session.execute(
            select(Like.video_id, func.count()).where(Like.video_id.in_(video_ids)).group_by(Like.video_id)
        ).all()
    )
    mine: set[uuid.UUID] = set()
    if viewer_id is not None:
        mine = set(
            session.scalars(
                select(Like.video_id).where(Like.video_id.in_(video_ids), Like.user_id == viewer_id)
            )
        )
    return {vid: LikeCount(int(counts.get(vid, 0)), vid in mine) for vid in video_ids}


@dataclass(frozen=True)
class VideoStats:
    """What a video's answer carries besides its row: likes, views and tags."""

    likes: LikeCount
    views: int
    tags: list[str]


# The rows of video_stats' query: what each counts, and the statement (built once: building it
# cost more than running it). The page's ids are one list, sent once however many parts name it.
_LIKES, _VIEWS, _TAG, _MINE = "likes", "views", "tag", "mine"


def _stats_statement(of_viewer: bool) -> Any:
    page = bindparam("page", expanding=True, type_=Video.id.type)
    parts: list[Select[*tuple[Any, ...]]] = [
        select(
            Like.video_id,
            literal_column(f"'{_LIKES}'").label("kind"),
            func.count().label("count"),
            null().label("tag"),
        )
        .where(Like.video_id.in_(page))
        .group_by(Like.video_id),
        select(VideoView.video_id, literal_column(f"'{_VIEWS}'"), func.count(), null())
        .where(VideoView.video_id.in_(page))
        .group_by(VideoView.video_id),
        select(VideoTag.video_id, literal_column(f"'{_TAG}'"), literal_column("1"), VideoTag.tag).where(
            VideoTag.video_id.in_(page)
        ),
    ]
    if of_viewer:
        parts.append(
            select(Like.video_id, literal_column(f"'{_MINE}'"), literal_column("1"), null()).where(
                Like.video_id.in_(page), Like.user_id == bindparam("viewer_id")
            )
        )
    rows = union_all(*parts).subquery()
    return select(rows).order_by(rows.c.tag)


_STATS = {of_viewer: _stats_statement(of_viewer) for of_viewer in (False, True)}


def video_stats(
    session: Session, video_ids: list[uuid.UUID], viewer_id: str | None
) -> dict[uuid.UUID, VideoStats]:
    """The stats of a page of videos in one query (one round trip to the database), whatever its
    length: like and view counts, the viewer's likes and the tags, as rows of one UNION ALL."""
    if not video_ids:
        return {}
    likes: dict[uuid.UUID, int] = {}
    views: dict[uuid.UUID, int] = {}
    mine: set[uuid.UUID] = set()
    tags: dict[uuid.UUID, list[str]] = {vid: [] for vid in video_ids}
    statement = _STATS[viewer_id is not None]
    for video_id, kind, count, tag in session.execute(statement, {"page": video_ids, "viewer_id": viewer_id}):
        if kind == _TAG:
            tags[video_id].append(tag)
        elif kind == _MINE:
            mine.add(video_id)
        else:
            (likes if kind == _LIKES else views)[video_id] = int(count)
    return {
        vid: VideoStats(LikeCount(likes.get(vid, 0), vid in mine), views.get(vid, 0), tags[vid])
        for vid in video_ids
    }


# Quotas
QUOTA_WINDOW = timedelta(days=1)


def check_videos_per_day(session: Session, settings: BackendSettings, owner_id: str) -> None:
    """429 once the owner has created ``videos_per_user_per_day`` videos in the last 24 hours, with
    Retry-After the seconds until the oldest of them leaves the window."""
    since = utcnow() - QUOTA_WINDOW
    created = session.scalars(
        select(Video.created_at)
        .where(Video.owner_id == owner_id, Video.created_at > since)
        .order_by(Video.created_at.desc())
        .limit(settings.videos_per_user_per_day)
    ).all()
    if len(created) < settings.videos_per_user_per_day:
        return
    # The oldest of the newest ``limit``: once it ages out, one more fits.
    oldest = created[-1] if created[-1].tzinfo else created[-1].replace(tzinfo=UTC)
    wait = max(1, math.ceil((oldest + QUOTA_WINDOW - utcnow()).total_seconds()))
    raise ApiError(
        429,
        "quota_videos_per_day",
        f"you have created {settings.videos_per_user_per_day} videos in the last 24 hours, the most"
        " allowed; retry after the time in Retry-After",
        retry_after_seconds=wait,
    )


def stored_bytes(session: Session, owner_id: str) -> int:
    """Bytes of the sources the owner keeps (accepted uploads only)."""
    total = session.scalar(
        select(func.coalesce(func.sum(Video.source_bytes), 0)).where(Video.owner_id == owner_id)
    )
    return int(total or 0)


# Creation and uploads
def presigned_post(aws: AwsClients, settings: BackendSettings, key: str) -> dict[str, Any]:
    """A browser upload straight to S3, limited in size and to video content types."""
    post: dict[str, Any] = aws.s3_presign.generate_presigned_post(
        Bucket=settings.uploads_bucket,
        Key=key,
        Conditions=[
            ["content-length-range", 1, settings.max_upload_bytes],
            ["starts-with", "$Content-Type", "video/"],
        ],
        ExpiresIn=PRESIGN_EXPIRES_SECONDS,
    )
    return post


def create_video(
    session: Session, aws: AwsClients, settings: BackendSettings, owner: User, data: VideoCreate
) -> tuple[Video, dict[str, Any]]:
    check_videos_per_day(session, settings, owner.id)
    video_id = uuid.uuid4()
    video = Video(
        id=video_id,
        owner_id=owner.id,
        title=data.title,
        description=data.description,
        visibility=data.visibility,
        status=VideoState.UPLOADING,
        filters=[f.model_dump(mode="json") for f in data.filters],
        mp4_download=data.mp4_download,
        source_key=source_key(video_id),
        renditions=[],
    )
    post = presigned_post(aws, settings, video.source_key)
    session.add(video)
    session.flush()  # the row first: the tags refer to it
    video_tags.replace_tags(session, video_id, data.tags)
    session.commit()
    return video, post


def _require_uploading(video: Video) -> None:
    if video.status != VideoState.UPLOADING:
        raise ApiError(409, "already_uploaded", f"the video is {video.status.value}; its upload is closed")


def start_multipart(
    session: Session, aws: AwsClients, settings: BackendSettings, video: Video, content_type: str
) -> str:
    _require_uploading(video)
    if video.multipart_upload_id:
        raise ApiError(409, "multipart_in_progress", "complete or abort the current multipart upload first")
    upload_id = str(
        aws.s3.create_multipart_upload(
            Bucket=settings.uploads_bucket, Key=video.source_key, ContentType=content_type
        )["UploadId"]
    )
    video.multipart_upload_id = upload_id
    session.commit()
    return upload_id


def _require_multipart(video: Video) -> str:
    _require_uploading(video)
    if not video.multipart_upload_id:
        raise ApiError(409, "no_multipart_upload", "start a multipart upload first")
    return video.multipart_upload_id


def part_urls(aws: AwsClients, settings: BackendSettings, video: Video, part_numbers: list[int]) -> list[str]:
    upload_id = _require_multipart(video)
    return [
        aws.s3_presign.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": settings.uploads_bucket,
                "Key": video.source_key,
                "UploadId": upload_id,
                "PartNumber": number,
            },
            ExpiresIn=PRESIGN_EXPIRES_SECONDS,
        )
        for number in part_numbers
    ]


@dataclass(frozen=True)
class StoredPart:
    part_number: int
    etag: str
    size: int


def stored_parts(aws: AwsClients, settings: BackendSettings, video: Video) -> list[StoredPart]:
    """The parts S3 holds of the video's multipart upload, by part number: what a client that
    lost its state (a reload, a dropped connection) need not send again. ListParts answers at
    most 1,000 parts a page; the paginator follows NextPartNumberMarker."""
    upload_id = _require_multipart(video)
    pages = aws.s3.get_paginator("list_parts").paginate(
        Bucket=settings.uploads_bucket, Key=video.source_key, UploadId=upload_id
    )
    try:
        return [
            StoredPart(int(p["PartNumber"]), str(p["ETag"]), int(p["Size"]))
            for page in pages
            for p in page.get("Parts", [])
        ]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
            raise
        raise ApiError(
            409,
            "multipart_gone",
            "the multipart upload is no longer in storage (the uploads bucket's lifecycle aborts"
            " incomplete uploads); abort it and start again",
        ) from None


def complete_multipart(
    session: Session, aws: AwsClients, settings: BackendSettings, video: Video, data: MultipartComplete
) -> None:
    upload_id = _require_multipart(video)
    parts = sorted(data.parts, key=lambda p: p.part_number)
    if len({p.part_number for p in parts}) != len(parts):
        raise ApiError(422, "validation_error", "parts: each part number may appear once")
    try:
        aws.s3.complete_multipart_upload(
            Bucket=settings.uploads_bucket,
            Key=video.source_key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": p.part_number, "ETag": p.etag} for p in parts]},
        )
    except ClientError as exc:
        # The parts list was well formed: what S3 refuses (a part it does not hold, another ETag,
        # a part under its minimum size) conflicts with what it holds.
        code = exc.response.get("Error", {}).get("Code", "")
        raise ApiError(409, "multipart_invalid", f"S3 refused to complete the upload: {code}") from None
    video.multipart_upload_id = None
    session.commit()


def abort_multipart(session: Session, aws: AwsClients, settings: BackendSettings, video: Video) -> None:
    upload_id = _require_multipart(video)
    try:
        aws.s3.abort_multipart_upload(
            Bucket=settings.uploads_bucket, Key=video.source_key, UploadId=upload_id
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
            raise
    video.multipart_upload_id = None
    session.commit()


def looks_like_video(head: bytes) -> bool:
    """Whether the first bytes are those of a common video container."""
    return (
        head[4:8] == b"ftyp"  # MP4, MOV, 3GP, M4V
        or head[4:8] in (b"moov", b"mdat", b"wide", b"free")  # QuickTime without ftyp
        or head.startswith(b"\x1a\x45\xdf\xa3")  # Matroska, WebM
        or (head.startswith(b"RIFF") and head[8:12] == b"AVI ")
        or head.startswith(b"\x00\x00\x01\xba")  # MPEG program stream
        or head.startswith(b"FLV")
        or head.startswith(b"OggS")
        or head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11")  # ASF, WMV
    )


_MISSING = ("404", "NoSuchKey", "NotFound")


def _refuse_upload(
    aws: AwsClients,
    settings: BackendSettings,
    keys: list[str],
    video: Video,
    status: int,
    code: str,
    why: str,
) -> ApiError:
    """Delete ``keys`` (the upload and its copy, if made) and answer why."""
    for key in keys:
        aws.s3.delete_object(Bucket=settings.uploads_bucket, Key=key)
    log.info("refused upload: %s", why, extra={"video_id": video.id})
    return ApiError(status, code, f"{why}; upload the file again")


def _refuse_if_too_large(
    aws: AwsClients, settings: BackendSettings, video: Video, size: int, keys: list[str]
) -> None:
    if size > settings.max_upload_bytes:
        raise _refuse_upload(
            aws,
            settings,
            keys,
            video,
            413,
            "upload_too_large",
            f"the file is larger than {settings.max_upload_bytes} bytes",
        )


def _check_source(aws: AwsClients, settings: BackendSettings, video: Video, key: str, keys: list[str]) -> int:
    """Size, type and the container's first bytes of the object at ``key``, whose size it
    returns; refused: ``keys`` are deleted."""
    head = aws.s3.head_object(Bucket=settings.uploads_bucket, Key=key)
    size = int(head["ContentLength"])
    content_type = str(head.get("ContentType", ""))
    _refuse_if_too_large(aws, settings, video, size, keys)
    if size == 0:
        raise _refuse_upload(aws, settings, keys, video, 422, "upload_empty", "the file is empty")
    if not content_type.startswith("video/"):
        raise _refuse_upload(
            aws,
            settings,
            keys,
            video,
            415,
            "upload_wrong_type",
            f"the file's Content-Type {content_type!r} is not video/*",
        )
    first = aws.s3.get_object(Bucket=settings.uploads_bucket, Key=key, Range=f"bytes=0-{_SNIFF_BYTES - 1}")
    if not looks_like_video(first["Body"].read()):
        raise _refuse_upload(
            aws, settings, keys, video, 422, "upload_not_video", "the file is not a video container"
        )
    return size


def _copy_upload(aws: AwsClients, settings: BackendSettings, video: Video, upload: str, target: str) -> None:
    """Copy the upload to ``target``: only if it is still the object whose size was checked (S3
    answers 412 to a copy whose x-amz-copy-source-if-match ETag no longer matches)."""
    try:
        head = aws.s3.head_object(Bucket=settings.uploads_bucket, Key=upload)
        _refuse_if_too_large(aws, settings, video, int(head["ContentLength"]), [upload])  # not worth a copy
        aws.s3.copy(
            {"Bucket": settings.uploads_bucket, "Key": upload},
            settings.uploads_bucket,
            target,
            ExtraArgs={"CopySourceIfMatch": head["ETag"]},
            Config=ACCEPT_COPY,
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in _MISSING:
            raise ApiError(409, "upload_missing", "nothing has been uploaded for this video yet") from None
        if code in ("412", "PreconditionFailed"):
            raise ApiError(
                409, "upload_changed", "the file changed while it was being accepted; mark it uploaded again"
            ) from None
        raise


def _task_for(video: Video, task_id: uuid.UUID, settings: BackendSettings, source_key: str) -> TaskMessageV1:
    return TaskMessageV1.model_validate(
        {
            "task_id": task_id,
            "video_id": video.id,
            "owner_id": video.owner_id,
            "source_bucket": settings.uploads_bucket,
            "source_key": source_key,
            "filters": video.filters,
            "mp4_download": video.mp4_download,
        }
    )


def _queue_task(
    session: Session,
    aws: AwsClients,
    settings: BackendSettings,
    video: Video,
    task: TaskMessageV1,
    from_state: VideoState,
    **changes: Any,
) -> bool:
    """Move the video from ``from_state`` to ``queued`` under ``task`` and send the task, once.

    A conditional UPDATE held open while the task is sent: a concurrent or repeated call finds
    no row to update and sends nothing (returns False, the video refreshed); a failed send
    rolls the change back and answers 503.
    """
    moved: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Video)
        .where(Video.id == video.id, Video.status == from_state)
        .values(
            status=VideoState.QUEUED,
            task_id=task.task_id,
            progress=0.0,
            last_sequence=-1,
            updated_at=utcnow(),
            **changes,
        )
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        session.rollback()
        session.refresh(video)
        return False
    try:
        aws.sqs.send_message(QueueUrl=settings.task_queue_url, MessageBody=task.model_dump_json())
    except (BotoCoreError, ClientError):
        session.rollback()
        log.exception("could not queue the task", extra={"video_id": video.id, "task_id": task.task_id})
        raise ApiError(503, "queue_unavailable", "the task could not be queued; try again") from None
    session.commit()
    session.refresh(video)
    log.info("task queued", extra={"video_id": video.id, "task_id": task.task_id})
    return True


def mark_uploaded(session: Session, aws: AwsClients, settings: BackendSettings, video: Video) -> Video:
    """Accept the uploaded source, then queue exactly one task for it.

    Accepting copies the upload to a key of the task's own that no presigned upload can write
    (``accepted_source_key``) and checks that copy: the POST handed out stays valid until it
    expires, and whatever it writes later to the upload's key changes neither what the worker
    transcodes nor what is kept. moto (and a browser that ignores the policy) may let anything
    through a presigned POST, so size, type and the container's first bytes are checked here;
    so are the owner's storage quota (the sizes of the sources they keep); a refused object is
    deleted and the video stays ``uploading``.

    The status moves uploading→queued (and the video's ``source_key`` to the copy) as
    ``_queue_task`` does; a call that sends nothing deletes its own copy.
    """
    if video.status != VideoState.UPLOADING:
        return video  # already queued: a repeated call is answered, never re-sent
    if video.multipart_upload_id:
        raise ApiError(409, "multipart_in_progress", "complete the multipart upload first")
    upload = video.source_key
    task_id = uuid.uuid4()
    task = _task_for(video, task_id, settings, accepted_source_key(video.id, task_id))
    try:
        _copy_upload(aws, settings, video, upload, task.source_key)
    except ApiError as exc:
        session.refresh(video)
        if exc.code == "upload_missing" and video.status != VideoState.UPLOADING:
            return video  # a concurrent call accepted it (and removed the upload) first
        raise
    keys = [upload, task.source_key]
    size = _check_source(aws, settings, video, task.source_key, keys)
    kept = stored_bytes(session, video.owner_id)
    if kept + size > settings.stored_bytes_per_user:
        raise _refuse_upload(
            aws,
            settings,
            keys,
            video,
            413,
            "quota_storage",
            f"your videos' sources take {kept} of your {settings.stored_bytes_per_user} bytes and this file"
            f" of {size} bytes does not fit; delete videos you no longer need",
        )
    try:
        queued = _queue_task(
            session,
            aws,
            settings,
            video,
            task,
            VideoState.UPLOADING,
            source_key=task.source_key,
            source_bytes=size,
        )
    except ApiError:
        aws.s3.delete_object(Bucket=settings.uploads_bucket, Key=task.source_key)
        raise
    if not queued:
        aws.s3.delete_object(Bucket=settings.uploads_bucket, Key=task.source_key)
        return video
    # The copy is the source now; what the POST may still write to the upload's key is nobody's.
    try:
        delete_versions(aws.s3, settings.uploads_bucket, upload)
    except (BotoCoreError, ClientError):  # left to the video's deletion or the bucket's expiry
        log.warning("could not delete the accepted upload", exc_info=True, extra={"video_id": video.id})
    return video


def retry_video(session: Session, aws: AwsClients, settings: BackendSettings, video: Video) -> Video:
    """Queue a failed video's kept source again under a new task: exactly one task, however often
    or concurrently this is called (the status moves failed→queued as ``_queue_task`` does).

    409 ``not_failed`` unless the video is ``failed``; ``source_gone`` and ``source_archived`` as
    ``_require_readable_source`` says.
    """
    if video.status != VideoState.FAILED:
        raise ApiError(
            409, "not_failed", f"the video is {video.status.value}; only a failed video can be retried"
        )
    _require_readable_source(aws, settings, video)
    task = _task_for(video, uuid.uuid4(), settings, video.source_key)
    _queue_task(session, aws, settings, video, task, VideoState.FAILED, error_reason=None)
    return video


# Storage classes whose objects GetObject refuses until a RestoreObject has made a copy
# (S3 Glacier Instant Retrieval, where kept sources go, is read directly).
_ARCHIVED_CLASSES = ("GLACIER", "DEEP_ARCHIVE")


def _require_readable_source(aws: AwsClients, settings: BackendSettings, video: Video) -> None:
    """409 ``source_gone`` when the video's source is no longer stored (deleted, or expired with
    the uploads bucket's lifecycle): only a new upload helps; 409 ``source_archived`` when it is
    in an archive the transcoder cannot read before a restore (a bucket brought with its own
    lifecycle): restore it first (RestoreObject), then ask again."""
    try:
        head = aws.s3.head_object(Bucket=settings.uploads_bucket, Key=video.source_key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING:
            raise ApiError(
                409, "source_gone", "the video's source is no longer stored; upload the video again"
            ) from None
        raise
    restored = 'ongoing-request="false"' in head.get("Restore", "")
    if head.get("StorageClass") in _ARCHIVED_CLASSES and not restored:
        raise ApiError(
            409,
            "source_archived",
            f"the video's source s3://{settings.uploads_bucket}/{video.source_key} is in"
            f" {head['StorageClass']}; restore it (RestoreObject) and try again once it is restored",
        )


def retranscode_video(session: Session, aws: AwsClients, settings: BackendSettings, video: Video) -> Video:
    """Transcode a finished (ready or failed) video's kept source again under a new task, e.g.
    after the ladder changed: exactly one task, as ``retry_video`` queues it (the status moves to
    queued; the video is back once the new task is ready, and the status consumer then deletes
    the previous task's outputs).

    409 ``not_finished`` while the video is uploading or being transcoded; ``source_gone`` and
    ``source_archived`` as ``_require_readable_source`` says.
    """
    if video.status not in (VideoState.READY, VideoState.FAILED):
        raise ApiError(
            409,
            "not_finished",
            f"the video is {video.status.value}; only a ready or failed video is transcoded again",
        )
    _require_readable_source(aws, settings, video)
    task = _task_for(video, uuid.uuid4(), settings, video.source_key)
    if not _queue_task(session, aws, settings, video, task, video.status, error_reason=None):
        raise ApiError(409, "not_finished", f"the video changed meanwhile; it is {video.status.value}")
    return video


# Listing
def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _matching(query: Any, q: str) -> Any:
    """``query`` narrowed to titles containing ``q`` literally, if given."""
    return query.where(Video.title.ilike(f"%{_escape_like(q)}%", escape="\\")) if q else query


def newest_first(session: Session, query: Any, params: PageQuery) -> tuple[list[Video], str | None]:
    """One page of the videos ``query`` selects, newest first, after ``params.cursor``."""
    return page(
        session,
        query,
        Video.created_at,
        Video.id,
        cursor=params.cursor,
        limit=params.limit,
        newest_first=True,
    )


def _page(session: Session, query: Any, params: FeedQuery) -> tuple[list[Video], str | None]:
    return newest_first(session, _matching(query, params.q), params)


def listed() -> Any:
    """The SQL condition of the videos lists show to everyone: public, ready, shown to everyone."""
    return and_(Video.visibility == Visibility.PUBLIC, Video.status == VideoState.READY, shown_to_everyone())


def feed(session: Session, params: FeedQuery) -> tuple[list[Video], str | None]:
    """Public, ready videos shown to everyone, newest first; ``q`` matches titles literally (no wildcards)."""
    return _page(session, select(Video).where(listed()), params)


def tagged(session: Session, tag: str, params: PageQuery) -> tuple[list[Video], str | None]:
    """The feed's videos with ``tag`` (normalised; 422 if it cannot be a tag), newest first."""
    try:
        tag = video_tags.normalise_tag(tag)
    except ValueError as exc:
        raise ApiError(422, "validation_error", f"tag: {exc}") from None
    query = select(Video).join(VideoTag, VideoTag.video_id == Video.id).where(VideoTag.tag == tag, listed())
    return newest_first(session, query, params)


# Trending: a like weighs as much as this many views, over the last TRENDING_WINDOW.
TRENDING_WINDOW = timedelta(days=7)
TRENDING_LIKE_WEIGHT = 3


def trending(session: Session, params: FeedQuery) -> list[Video]:
    """The feed's videos by ``TRENDING_LIKE_WEIGHT`` * likes + views of the last
    ``TRENDING_WINDOW`` (views by UTC day, so the window's first day counts whole), highest
    first, newer first among equals; videos with neither are left out. One page of ``limit``:
    a ranking that moves with every like has no stable place for a cursor to continue from."""
    if params.cursor:
        raise ApiError(400, "invalid_cursor", "trending is one page; it takes no cursor")
    since = utcnow() - TRENDING_WINDOW
    activity = union_all(
        select(Like.video_id, literal(TRENDING_LIKE_WEIGHT).label("weight")).where(Like.created_at >= since),
        select(VideoView.video_id, literal(1).label("weight")).where(VideoView.day >= since.date()),
    ).subquery()
    scores = (
        select(activity.c.video_id, func.sum(activity.c.weight).label("score"))
        .group_by(activity.c.video_id)
        .subquery()
    )
    query = _matching(select(Video).join(scores, scores.c.video_id == Video.id).where(listed()), params.q)
    order = (scores.c.score.desc(), Video.created_at.desc(), Video.id.desc())
    return list(session.scalars(query.order_by(*order).limit(params.limit)))


def owned_videos(session: Session, owner_id: str, params: FeedQuery) -> tuple[list[Video], str | None]:
    return _page(session, select(Video).where(Video.owner_id == owner_id), params)


# Changes
def _revoke(revocations: RevocationStore, video_id: uuid.UUID, revoked_before_ms: int, done: str) -> None:
    try:
        revocations.revoke(video_id, revoked_before_ms)
    except (RevocationFailed, BotoCoreError, ClientError):
        log.exception("could not cut the video's media grants", extra={"video_id": video_id})
        raise ApiError(
            503, "revocation_unavailable", f"{done}, but links already handed out still play; send it again"
        ) from None
    log.info("media grants cut", extra={"video_id": video_id})


def patch_video(session: Session, revocations: RevocationStore, video: Video, data: VideoPatch) -> Video:
    """Apply the changes; a video made private cuts every media grant issued before (all but the
    owner's new ones: the owner asks again). Only private hides a video from grant holders:
    unlisted still plays for whoever has the link.

    The epoch is taken after the commit, so a grant issued while the video was still shared
    predates it. A failed write answers 503 with the change kept; sending ``private`` again
    (already private) writes the epoch again.
    """
    for field, value in data.changes().items():
        if field == "tags":
            video_tags.replace_tags(session, video.id, value)
        else:
            setattr(video, field, value)
    session.commit()
    if data.visibility == Visibility.PRIVATE:
        cut_grants(revocations, video, "the video is private")
    return video


def cut_grants(revocations: RevocationStore, video: Video, done: str) -> None:
    """Cut every media grant of ``video`` issued until now (a video made private or hidden, its
    owner suspended); ``done`` says what holds when the cut fails (503). The owner asks again."""
    if not video.master_playlist_key:  # no grant was ever issued
        return
    epoch = now_ms()
    _revoke(revocations, video.id, epoch, done)
    while now_ms() <= epoch:  # the owner's next grant (in this answer) is newer than the epoch
        time.sleep(0.001)


# DeleteObjects takes at most this many keys per request.
_DELETE_BATCH = 1000


def delete_objects(s3: Any, bucket: str, objects: list[dict[str, str]]) -> None:
    """Delete ``objects``; S3 answers 200 even when it refused some, so refusals are raised."""
    for start in range(0, len(objects), _DELETE_BATCH):
        batch = objects[start : start + _DELETE_BATCH]
        errors = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True}).get("Errors", [])
        if errors:
            first = errors[0]
            raise RuntimeError(
                f"S3 refused to delete {len(errors)} of {len(batch)} objects in {bucket}, "
                f"e.g. {first.get('Key')}: {first.get('Code')} {first.get('Message')}"
            )


def delete_prefix(s3: Any, bucket: str, prefix: str) -> None:
    """Delete the objects under ``prefix`` of an unversioned bucket."""
    for listing in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        delete_objects(s3, bucket, [{"Key": obj["Key"]} for obj in listing.get("Contents", [])])


def delete_versions(s3: Any, bucket: str, prefix: str) -> None:
    """Delete every version and delete marker under ``prefix``: in a versioned bucket a plain
    delete only adds a delete marker and keeps the object as a noncurrent version.

    One DeleteObject per version (a source has a handful): the emulator authorizes it as AWS
    does, s3:DeleteObjectVersion on the object, where it checks a DeleteObjects batch against
    the bucket instead.
    """
    for listing in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for version in [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]:
            s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])


def delete_video(
    session: Session, aws: AwsClients, settings: BackendSettings, revocations: RevocationStore, video: Video
) -> None:
    """Cut every media grant of the video, then remove its objects (every version of its source,
    every task's outputs), then its row and what hangs off it. The uploads bucket is versioned
    in prod; the media bucket is not.

    The epoch is written first (a failure leaves everything in place, to be tried again) and
    lies the longest grant lifetime ahead: a grant issued while the deletion runs is cut too,
    and none can be issued once the row is gone. The edge's cached copies die with the grants.
    """
    if video.master_playlist_key:  # else no grant was ever issued
        _revoke(revocations, video.id, now_ms() + MEDIA_GRANT_MAX_SECONDS * 1000, "nothing was deleted")
    if video.multipart_upload_id:
        abort_multipart(session, aws, settings, video)
    for prefix in (incoming_key_prefix(video.id), upload_key_prefix(video.id)):
        delete_versions(aws.s3, settings.uploads_bucket, prefix)
    delete_prefix(aws.s3, settings.media_bucket, media_prefix(video.id))
    announced, video_id = video_events.deleted(video), video.id
    session.delete(video)
    session.commit()
    log.info("video deleted", extra={"video_id": video_id})
    try:
        video_events.publish(aws.sns, settings.video_events_topic_arn, announced)
    except (BotoCoreError, ClientError):  # the deletion stands; integrators miss this one event
        log.exception("could not announce the deletion", extra={"video_id": video_id})


def snapshot(video: Video) -> dict[str, Any]:
    """The state an events ticket carries, in the progress event's terms."""
    snap: dict[str, Any] = {
        "state": video.status.value,
        "percent": video.progress,
        "sequence": video.last_sequence,
    }
    if video.task_id is not None:
        snap["task_id"] = str(video.task_id)
    if video.master_playlist_key:
        snap["outputs"] = {
            "master_playlist_key": video.master_playlist_key,
            "thumbnail_key": video.thumbnail_key,
            "duration_seconds": video.duration_seconds,
            "renditions": video.renditions,
        }
    if video.error_reason:
        snap["error_reason"] = video.error_reason
    return snap
