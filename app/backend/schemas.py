"""Request and response schemas of the HTTP API (pydantic); spectree validates with them and builds the OpenAPI document."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.backend import tags, text
from app.backend.caption_files import LANGUAGE_TAG_MAX, CaptionFormat
from app.backend.models import (
    CAPTION_LABEL_MAX,
    DISPLAY_NAME_MAX,
    REASON_MAX,
    TAG_MAX,
    TAGS_PER_VIDEO_MAX,
    WEBHOOK_URL_MAX,
    DeliveryStatus,
    ReportStatus,
    ReportTarget,
    Visibility,
)
from app.backend.posters import POSTER_BOX, POSTER_UPLOAD_BASE64_MAX, POSTER_UPLOAD_MAX_BYTES
from app.contracts.messages import MAX_FILTERS, FilterSpec, VideoEventType, VideoState
from app.contracts.roles import Role

PAGE_LIMIT_MAX = 50


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here for every database alike.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(_no_nul)
# Documents NoNul in the OpenAPI document, so a client that follows the schema never sends NUL.
NO_NUL_PATTERN = Field(json_schema_extra={"pattern": "^[^\\u0000]*$"})


def _not_blank(value: str) -> str:
    # Stripped after the length check, so the documented maxLength holds for what is sent.
    stripped = value.strip()
    if not stripped:
        raise ValueError("must not be blank")
    return stripped


def _one_line(value: str) -> str:
    return text.check_text(value, multiline=False)


def _multiline(value: str) -> str:
    return text.check_text(value, multiline=True)


def _display_name(value: str) -> str:
    name = text.normalise_display_name(value)
    if not name:
        raise ValueError("must not be blank")
    if len(name) > DISPLAY_NAME_MAX:
        raise ValueError(f"must be at most {DISPLAY_NAME_MAX} characters once normalised")
    return name


def _documented_pattern(*, multiline: bool, nonblank: bool) -> Any:
    # Only documented: the validators above decide, with Python's view of Unicode.
    return Field(json_schema_extra={"pattern": text.json_pattern(multiline=multiline, nonblank=nonblank)})


ONE_LINE = _documented_pattern(multiline=False, nonblank=True)
DisplayName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=DISPLAY_NAME_MAX),
    AfterValidator(_display_name),
    ONE_LINE,
]
Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    # Checked before the strip: a tab at either end is refused, as the documented pattern says.
    AfterValidator(_one_line),
    AfterValidator(_not_blank),
    ONE_LINE,
]
Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=REASON_MAX),
    AfterValidator(_not_blank),
    AfterValidator(_multiline),
    _documented_pattern(multiline=True, nonblank=True),
]
Description = Annotated[
    str,
    StringConstraints(max_length=5000),
    AfterValidator(_multiline),
    _documented_pattern(multiline=True, nonblank=False),
]
CommentBody = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000),
    AfterValidator(_not_blank),
    AfterValidator(_multiline),
    _documented_pattern(multiline=True, nonblank=True),
]

Tag = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TAG_MAX),
    AfterValidator(tags.normalise_tag),
    Field(json_schema_extra={"pattern": tags.TAG_JSON_PATTERN}),
]
Tags = Annotated[
    list[Tag],
    Field(
        max_length=TAGS_PER_VIDEO_MAX,
        description=f"at most {TAGS_PER_VIDEO_MAX} tags, each 1 to {TAG_MAX} ASCII letters, digits and"
        " inner hyphens; stored lowercase, repeats dropped",
    ),
    AfterValidator(tags.unique_tags),
]


def _as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


Timestamp = Annotated[datetime, AfterValidator(_as_utc)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _patch_schema(schema: dict[str, Any]) -> None:
    """Describe what ``_Patch`` accepts: at least one field, and no field null (the Python
    defaults of None only mark a field as absent)."""
    schema["minProperties"] = 1
    for prop in schema.get("properties", {}).values():
        branches = [b for b in prop.pop("anyOf", []) if b.get("type") != "null"]
        if len(branches) == 1:
            prop.update(branches[0])
        elif branches:
            prop["anyOf"] = branches
        if prop.get("default", ...) is None:
            del prop["default"]


class _Patch(_Request):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_patch_schema)

    @model_validator(mode="after")
    def _not_empty(self) -> _Patch:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        nulls = sorted(field for field in self.model_fields_set if getattr(self, field) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)}: may not be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the request sets, with their new values."""
        return {field: getattr(self, field) for field in self.model_fields_set}


# Errors
class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """The one error shape of every service."""

    error: ErrorDetail


# Videos
class VideoCreate(_Request):
    title: Title
    description: Description = ""
    visibility: Visibility = Visibility.PUBLIC
    filters: list[FilterSpec] = Field(default_factory=list, max_length=MAX_FILTERS)
    tags: Tags = Field(default_factory=list)
    mp4_download: bool = Field(
        False,
        description="also make one MP4 file of the video that whoever may watch it can download"
        " (download_url once ready); chosen here, at upload, as it costs the transcode a remux",
    )


class VideoPatch(_Patch):
    title: Title | None = None
    description: Description | None = None
    visibility: Visibility | None = None
    tags: Tags | None = Field(None, description="replaces the video's tags (`[]` removes them)")


class PageQuery(_Request):
    # Only documented: a cursor is opaque (pagination.py's unpadded URL-safe base64 of a
    # position), so the alphabet is all a client can know; one the API did not issue is a 400.
    cursor: Annotated[str, StringConstraints(max_length=200)] = Field(
        "",
        description="next_cursor of the previous page, as issued; any other value answers 400 invalid_cursor",
        json_schema_extra={"pattern": "^[A-Za-z0-9_-]*$"},
    )
    limit: int = Field(20, ge=1, le=PAGE_LIMIT_MAX)


class FeedQuery(PageQuery):
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), NoNul, NO_NUL_PATTERN] = (
        Field("", description="words to find in titles, matched literally")
    )


class FeedOrder(StrEnum):
    NEWEST = "newest"
    TRENDING = "trending"


class VideoFeedQuery(FeedQuery):
    order: FeedOrder = Field(
        FeedOrder.NEWEST,
        description="`newest`, or `trending`: by 3 * likes + views of the last 7 days, one page"
        " of `limit` without a cursor",
    )


class RenditionOut(BaseModel):
    height: int
    width: int
    bandwidth: int


class VideoOut(BaseModel):
    id: uuid.UUID
    owner_id: str
    title: str
    description: str
    visibility: Visibility
    status: VideoState
    progress: float
    duration_seconds: float | None
    renditions: list[RenditionOut]
    playback_url: str | None
    thumbnail_url: str | None
    storyboard_url: str | None = Field(
        description="WebVTT thumbnails track for seek previews: cues name sprite-N.jpg#xywh=x,y,w,h"
        " relative to it; null until ready and for videos transcoded before storyboards"
    )
    download_url: str | None = Field(
        description="the MP4 to download (served as an attachment); null unless the owner asked for one"
        " at upload (mp4_download) and the video is ready"
    )
    error_reason: str | None
    likes: int
    liked_by_me: bool
    views: int = Field(description="views of all time, one per viewer per UTC day")
    tags: list[str] = Field(description="lowercase, alphabetical")
    hidden_reason: str | None = Field(
        description="why a moderator hid the video (or its owner is suspended); only its owner sees it then"
    )
    created_at: Timestamp
    updated_at: Timestamp


class TranscodeCostOut(BaseModel):
    cpu_seconds: float = Field(description="CPU time of the transcode that made the outputs")
    instance_type: str | None = Field(description="EC2 instance type it ran on; null off EC2")
    purchase_option: str | None = Field(description="on-demand or spot; null off EC2 (priced on demand)")
    bytes_written: int
    bytes_stored: int
    processing_usd: float = Field(description="the CPU time at the stack's price for its purchase option")
    storage_usd_per_month: float = Field(description="the stored bytes at the stack's price per GB-month")


class VideoCostOut(BaseModel):
    video_id: uuid.UUID
    cost: TranscodeCostOut | None = Field(
        description="null until the video is ready, and for videos transcoded before costs were recorded"
    )


class PricesOut(BaseModel):
    cpu_hour_on_demand: float
    cpu_hour_spot: float
    gb_month_stored: float


class FleetCostOut(BaseModel):
    instance_type: str | None
    purchase_option: str | None
    videos: int
    minutes_transcoded: float
    cpu_seconds: float
    bytes_stored: int
    processing_usd: float
    processing_usd_per_minute: float | None = Field(description="processing_usd per minute transcoded")
    storage_usd_per_month: float


class StackCostsOut(BaseModel):
    prices: PricesOut = Field(description="the stack's prices (config price*), in USD")
    fleets: list[FleetCostOut] = Field(description="per instance type and purchase option")
    minutes_transcoded: float
    processing_usd: float
    processing_usd_per_minute: float | None


class PosterChoice(_Request):
    candidate: int = Field(
        strict=True,  # JSON true is not candidate 1
        ge=0,
        lt=16,
        description="index into `candidates` of GET /api/videos/{video_id}/poster",
    )


class PosterUpload(_Request):
    image: Annotated[
        str,
        StringConstraints(
            min_length=4, max_length=POSTER_UPLOAD_BASE64_MAX, pattern=r"^[A-Za-z0-9+/]*={0,2}$"
        ),
    ] = Field(
        description=f"the image file, base64-encoded: a JPEG, PNG or WebP of at most {POSTER_UPLOAD_MAX_BYTES}"
        " bytes, recognised by its content (never by a declared type), and stored re-encoded as a JPEG"
        f" of at most {POSTER_BOX[0]}x{POSTER_BOX[1]}"
    )


class PosterOut(BaseModel):
    thumbnail_url: str | None = Field(description="the poster the feed and the player show")
    candidates: list[str] = Field(
        description="URLs of the candidate posters the transcode picked (neither black nor blurred),"
        " in the order they occur in the video; empty for a video black or blurred throughout"
    )
    chosen: int | None = Field(
        description="index of the candidate shown; null when the poster is an uploaded image (or the"
        " frame at a fixed time, for a video without candidates)"
    )


class VideoPage(BaseModel):
    items: list[VideoOut]
    next_cursor: str | None


class PresignedPost(BaseModel):
    url: str
    fields: dict[str, str]


class VideoCreated(BaseModel):
    id: uuid.UUID
    upload: PresignedPost
    max_upload_bytes: int
    multipart_threshold_bytes: int
    video: VideoOut


# Captions
def _no_quote(value: str) -> str:
    # The label is an HLS quoted-string, which cannot hold '"' (RFC 8216 section 4.2).
    if '"' in value:
        raise ValueError("must not contain '\"'")
    return value


CaptionLabel = Annotated[
    str,
    StringConstraints(min_length=1, max_length=CAPTION_LABEL_MAX),
    AfterValidator(_one_line),
    AfterValidator(_not_blank),
    AfterValidator(_no_quote),
    # A title's documented pattern (ONE_LINE) with '"' among the refused characters.
    Field(
        json_schema_extra={"pattern": text.json_pattern(multiline=False, nonblank=True).replace("[^", '[^"')}
    ),
]


class CaptionUpload(_Request):
    label: CaptionLabel = Field(description="the name players show, e.g. `English (CC)`; unique per video")
    format: CaptionFormat = Field(description="what `content` is: `vtt` (WebVTT) or `srt` (SubRip)")
    content: str = Field(
        description="the caption file's text; stored as WebVTT; at most `max_bytes` bytes in UTF-8 (413 beyond)"
    )


class CaptionOut(BaseModel):
    language: str = Field(description=f"BCP 47 tag (RFC 5646), at most {LANGUAGE_TAG_MAX} characters")
    label: str
    size_bytes: int = Field(description="bytes of the stored WebVTT file")
    cue_count: int
    url: str | None = Field(
        description="the stored WebVTT file (a media grant URL), null while the video is not ready"
    )
    created_at: Timestamp
    updated_at: Timestamp


class CaptionList(BaseModel):
    items: list[CaptionOut]
    max_bytes: int = Field(description="the largest caption file accepted, in bytes of UTF-8")
    max_tracks: int = Field(description="the most caption tracks a video may have, one per language")


# Multipart uploads
class MultipartStart(_Request):
    content_type: Annotated[str, StringConstraints(pattern=r"^video/[A-Za-z0-9.+-]{1,100}$")]


class MultipartStarted(BaseModel):
    upload_id: str
    key: str


class PartUrlsRequest(_Request):
    part_numbers: list[Annotated[int, Field(ge=1, le=10000)]] = Field(min_length=1, max_length=100)


class PartUrl(BaseModel):
    part_number: int
    url: str


class PartUrls(BaseModel):
    parts: list[PartUrl]


class StoredPartOut(BaseModel):
    part_number: int
    etag: str
    size: int = Field(description="bytes S3 holds of this part")


class MultipartProgress(BaseModel):
    upload_id: str
    key: str
    parts: list[StoredPartOut] = Field(
        description="the parts S3 holds, by part number; a resumed upload sends only the others"
    )


class CompletedPart(_Request):
    part_number: int = Field(ge=1, le=10000)
    etag: Annotated[
        str,
        StringConstraints(min_length=1, max_length=200),
        NoNul,
        NO_NUL_PATTERN,
    ]


class MultipartComplete(_Request):
    parts: list[CompletedPart] = Field(
        min_length=1, max_length=10000, description="every uploaded part, each part_number once"
    )


# Events ticket
class EventsTicketOut(BaseModel):
    ticket: str
    url: str


# Comments
class CommentCreate(_Request):
    body: CommentBody


class CommentOut(BaseModel):
    id: uuid.UUID
    video_id: uuid.UUID
    author_id: str
    author_name: str = Field(
        description="the author's display name, or a pseudonym (`user-` and 6 hex digits) until they choose one"
    )
    body: str
    hidden_reason: str | None = Field(
        description="why a moderator hid the comment; only its author sees it then"
    )
    created_at: Timestamp
    updated_at: Timestamp


class CommentPage(BaseModel):
    items: list[CommentOut]
    next_cursor: str | None


# Likes
class LikeOut(BaseModel):
    likes: int
    liked_by_me: bool


# Views
class ViewRecorded(BaseModel):
    counted: bool = Field(
        description="false when the caller's view of the video was counted already today (UTC)"
    )


VIEW_HISTORY_DAYS_MAX = 90


class ViewHistoryQuery(_Request):
    days: int = Field(30, ge=1, le=VIEW_HISTORY_DAYS_MAX, description="how many UTC days, today the last")


class ViewDay(BaseModel):
    day: date = Field(description="a UTC day")
    views: int


class ViewHistory(BaseModel):
    total: int = Field(description="views of all time")
    days: list[ViewDay] = Field(description="oldest first, days without views included")


# Playlists
class PlaylistCreate(_Request):
    title: Title
    description: Description = ""
    visibility: Visibility = Visibility.PRIVATE


class PlaylistPatch(_Patch):
    title: Title | None = None
    description: Description | None = None
    visibility: Visibility | None = None


class PlaylistItemAdd(_Request):
    video_id: uuid.UUID
    position: int | None = Field(None, ge=0, le=10000, description="0-based; omitted: at the end")


class PlaylistReorder(_Request):
    video_ids: list[uuid.UUID] = Field(max_length=1000, description="every item's video id, in the new order")


class PlaylistOut(BaseModel):
    id: uuid.UUID
    owner_id: str
    title: str
    description: str
    visibility: Visibility
    items: list[VideoOut]
    created_at: Timestamp
    updated_at: Timestamp


class PlaylistList(BaseModel):
    items: list[PlaylistOut]


# Webhooks
class WebhookCreate(_Request):
    url: str = Field(
        min_length=1,
        max_length=WEBHOOK_URL_MAX,
        description="an https URL of a public host (no credentials, no fragment); 422 webhook_url_refused otherwise",
    )
    event_types: list[VideoEventType] = Field(
        default_factory=list, max_length=len(VideoEventType), description="the events to deliver; empty: all"
    )


class WebhookOut(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[VideoEventType] = Field(description="the events delivered; empty: all")
    created_at: Timestamp
    secret_rotated_at: Timestamp


class WebhookWithSecret(WebhookOut):
    secret: str = Field(
        description="the signing secret (HMAC-SHA256, the Reelstack-Signature header): shown this once"
    )


class WebhookList(BaseModel):
    items: list[WebhookOut]
    max_webhooks: int = Field(description="how many webhooks one user may have")


class WebhookDeliveryOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID = Field(description="the Reelstack-Event-Id header of every attempt")
    event_type: VideoEventType
    status: DeliveryStatus = Field(description="pending (another attempt is due), delivered or failed")
    attempts: int
    last_status_code: int | None = Field(description="the last answer's HTTP status; null: none came")
    last_error: str = Field(description="why the last attempt did not deliver; empty once delivered")
    next_attempt_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class WebhookDeliveryList(BaseModel):
    items: list[WebhookDeliveryOut] = Field(description="the webhook's most recent deliveries, newest first")


# Me, health
class MeOut(BaseModel):
    id: str
    email: str = Field(description="shown to the caller only; never to other users")
    display_name: str | None
    public_name: str = Field(description="what others see as the author of one's comments")
    roles: list[Role] = Field(
        description="the roles the access token carries (`cognito:groups`); a new role shows after the next login"
    )
    created_at: Timestamp


class MePatch(_Patch):
    display_name: DisplayName | None = Field(
        None,
        description=(
            f"the name others see; 1 to {DISPLAY_NAME_MAX} characters, stored NFKC-normalised; no control"
            " or invisible characters, one alphabet of Latin, Greek and Cyrillic, unique ignoring case"
            " and width, and not of the pseudonym form (`user-` and 6 hex digits)"
        ),
    )


# Reports, moderation, administration
class ReportCreate(_Request):
    target_type: ReportTarget
    target_id: uuid.UUID = Field(description="the reported video's or comment's id")
    reason: Reason


class ReportOut(BaseModel):
    id: uuid.UUID
    reporter_id: str
    target_type: ReportTarget
    target_id: uuid.UUID
    reason: str
    status: ReportStatus
    created_at: Timestamp
    resolved_at: Timestamp | None
    resolved_by: str | None
    resolution: str | None


class ReportedTarget(BaseModel):
    """What a moderator needs to judge a report: the target as it stands."""

    owner_id: str = Field(description="the video's owner or the comment's author")
    video_id: uuid.UUID = Field(description="the video, or the video the comment is on")
    title: str = Field(description="the video's title")
    body: str | None = Field(description="the comment's text; null for a video")
    hidden_reason: str | None


class QueuedReport(ReportOut):
    target: ReportedTarget | None = Field(description="null once the target has been deleted")


class ReportQuery(PageQuery):
    status: ReportStatus = ReportStatus.OPEN


class ReportPage(BaseModel):
    items: list[QueuedReport]
    next_cursor: str | None


class ModerationAction(_Request):
    reason: Reason


class ModerationOut(BaseModel):
    target_type: ReportTarget
    target_id: uuid.UUID
    hidden_reason: str | None = Field(description="null once restored")
    resolved_reports: int = Field(description="open reports of the target this action resolved")


class RoleGrant(_Request):
    role: Role
    reason: Reason


class UserQuery(_Request):
    # Stripped after the length check, so the documented minLength holds for what is sent (a
    # stripped-short address is looked up, and not found, rather than refused as malformed).
    email: Annotated[
        str, StringConstraints(min_length=3, max_length=320), NoNul, AfterValidator(str.strip), NO_NUL_PATTERN
    ]


class AdminUserOut(BaseModel):
    id: str
    email: str
    public_name: str
    suspended_at: Timestamp | None
    suspended_reason: str | None


class AuditEntryOut(BaseModel):
    id: uuid.UUID
    actor_id: str
    action: str
    target_type: str
    target_id: str
    reason: str
    created_at: Timestamp


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None


class LivenessOut(BaseModel):
    status: str = Field(description="`ok` whenever the process answers")


class ReadinessOut(BaseModel):
    status: str = Field(description="`ok`, or `unavailable` when a dependency does not answer")
    database: str = Field(description="`ok` or `unreachable`")


# Channels and subscriptions
class ChannelOut(BaseModel):
    id: str = Field(description="the channel's user (the owner_id of its videos)")
    public_name: str
    subscribers: int
    subscribed_by_me: bool = Field(description="false for an anonymous caller")


class ChannelPage(BaseModel):
    items: list[ChannelOut]
    next_cursor: str | None
