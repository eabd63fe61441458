"""The backend's tables (SQLAlchemy 2.0 declarative); alembic migrations in ``migrations/`` create them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.backend.caption_files import LANGUAGE_TAG_MAX
from app.backend.text import pseudonym
from app.contracts.messages import VideoState

DISPLAY_NAME_MAX = 40
# Case folding can triple a character (e.g. U+0390), and NFKC widen a ligature.
DISPLAY_NAME_KEY_MAX = 4 * DISPLAY_NAME_MAX
REASON_MAX = 1000


def utcnow() -> datetime:
    return datetime.now(UTC)


class Visibility(StrEnum):
    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"


class Base(DeclarativeBase):
    pass


def _enum(enum: type[StrEnum], name: str) -> Enum:
    # Stored as strings with a CHECK constraint: the same DDL on SQLite and PostgreSQL,
    # and adding a value later is a constraint change rather than an ALTER TYPE.
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(128), primary_key=True, comment="Cognito sub")
    email: Mapped[str] = mapped_column(String(320), default="")
    display_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX), default=None)
    display_name_key: Mapped[str | None] = mapped_column(
        String(DISPLAY_NAME_KEY_MAX), default=None, comment="text.display_name_key: unique among users"
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    suspended_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None, comment="set by an admin: sign-in refused, content hidden"
    )
    suspended_reason: Mapped[str | None] = mapped_column(String(REASON_MAX), default=None)

    __table_args__ = (Index("uq_users_display_name_key", "display_name_key", unique=True),)

    @property
    def public_name(self) -> str:
        """The name others see: the chosen display name, else a pseudonym derived from the sub alone
        (the sub is public as ``author_id`` already, so the pseudonym reveals nothing more)."""
        return self.display_name or pseudonym(self.id)


class Video(Base):
    __tablename__ = "videos"
    __table_args__ = (
        CheckConstraint("progress >= 0 AND progress <= 100", name="ck_videos_progress_range"),
        Index("ix_videos_feed", "visibility", "status", "created_at", "id"),
        Index("ix_videos_owner", "owner_id", "created_at"),
        # Title search (ILIKE '%word%') through pg_trgm's GIN operator class; PostgreSQL only
        # (migration 0005 says why SQLite keeps its scan).
        Index(
            "ix_videos_title_trgm",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility, "video_visibility"))
    status: Mapped[VideoState] = mapped_column(_enum(VideoState, "video_status"))
    filters: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    progress: Mapped[float] = mapped_column(default=0.0)
    last_sequence: Mapped[int] = mapped_column(default=-1, comment="sequence of the last recorded event")
    task_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    source_key: Mapped[str] = mapped_column(String(1024))
    multipart_upload_id: Mapped[str | None] = mapped_column(String(1024), default=None)
    source_bytes: Mapped[int | None] = mapped_column(
        BigInteger,
        default=None,
        comment="size of the accepted source; counts toward the owner's storage quota",
    )
    duration_seconds: Mapped[float | None] = mapped_column(default=None)
    renditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    thumbnail_key: Mapped[str | None] = mapped_column(String(1024), default=None)
    master_playlist_key: Mapped[str | None] = mapped_column(String(1024), default=None)
    storyboard_key: Mapped[str | None] = mapped_column(
        String(1024), default=None, comment="WebVTT thumbnails track of the seek previews"
    )
    # What the transcode of the outputs used (TranscodeUsage); app/backend/costs.py prices it.
    transcode_cpu_seconds: Mapped[float | None] = mapped_column(
        default=None, comment="CPU time of the transcode that made the outputs"
    )
    transcode_instance_type: Mapped[str | None] = mapped_column(
        String(64), default=None, comment="EC2 instance type it ran on; null off EC2"
    )
    transcode_purchase_option: Mapped[str | None] = mapped_column(
        String(16), default=None, comment="on-demand or spot; null off EC2"
    )
    transcode_bytes_written: Mapped[int | None] = mapped_column(
        BigInteger, default=None, comment="bytes the transcode uploaded to the media bucket"
    )
    transcode_bytes_stored: Mapped[int | None] = mapped_column(
        BigInteger, default=None, comment="bytes the outputs take in the media bucket"
    )
    captions_master_key: Mapped[str | None] = mapped_column(
        String(1024),
        default=None,
        comment="master playlist listing the caption tracks; played only while built over master_playlist_key",
    )
    captions_base_key: Mapped[str | None] = mapped_column(
        String(1024), default=None, comment="the master_playlist_key captions_master_key was built over"
    )
    thumbnail_candidates: Mapped[list[str]] = mapped_column(
        JSON,
        default=list,
        server_default=text("'[]'"),
        comment="keys of the candidate posters the transcode picked; thumbnail_key is one of them or an upload",
    )
    mp4_download: Mapped[bool] = mapped_column(
        default=False, server_default=false(), comment="the owner asked for an MP4 to download"
    )
    download_key: Mapped[str | None] = mapped_column(
        String(1024), default=None, comment="the MP4 for download"
    )
    error_reason: Mapped[str | None] = mapped_column(String(1000), default=None)
    hidden_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None, comment="hidden by a moderator: only its owner sees it"
    )
    hidden_reason: Mapped[str | None] = mapped_column(String(REASON_MAX), default=None)
    owner_suspended_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True),
        default=None,
        comment="set while its owner is suspended (kept here so the feed never reads users)",
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


CAPTION_LABEL_MAX = 64


class CaptionTrack(Base):
    """One caption track of a video: one per language, its WebVTT file and HLS media playlist
    in the media bucket (``contracts.names.caption_key_prefix``)."""

    __tablename__ = "caption_tracks"
    __table_args__ = (Index("uq_caption_tracks_label", "video_id", "label", unique=True),)

    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str] = mapped_column(
        String(LANGUAGE_TAG_MAX), primary_key=True, comment="BCP 47 tag in its recommended case"
    )
    label: Mapped[str] = mapped_column(
        String(CAPTION_LABEL_MAX), comment="the name players show; unique per video"
    )
    vtt_key: Mapped[str] = mapped_column(String(1024))
    playlist_key: Mapped[str] = mapped_column(String(1024))
    size_bytes: Mapped[int] = mapped_column(comment="bytes of the stored WebVTT file")
    cue_count: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_video", "video_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    hidden_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None, comment="hidden by a moderator: only its author sees it"
    )
    hidden_reason: Mapped[str | None] = mapped_column(String(REASON_MAX), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    author: Mapped[User] = relationship(lazy="joined")


class Like(Base):
    __tablename__ = "likes"
    # Trending counts the likes of the last days: a range scan on the time, not the whole table.
    __table_args__ = (Index("ix_likes_recent", "created_at", "video_id"),)

    # The composite primary key makes a like unique per user and video.
    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


TAG_MAX = 30
TAGS_PER_VIDEO_MAX = 10


class VideoTag(Base):
    """One of a video's tags (``tags.normalise_tag``: lowercase ASCII letters, digits and hyphens)."""

    __tablename__ = "video_tags"
    __table_args__ = (Index("ix_video_tags_tag", "tag", "video_id"),)

    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(TAG_MAX), primary_key=True)


VIEWER_KEY_LENGTH = 32


class VideoView(Base):
    """One viewer's view of a video on one UTC day: the primary key makes a repeated view of the
    day a no-op insert, and a video's count the number of its rows (``view_counts``)."""

    __tablename__ = "video_views"
    # Trending counts the views of the last days across videos: by day first.
    __table_args__ = (Index("ix_video_views_day", "day", "video_id"),)

    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, comment="UTC day of the view")
    viewer_key: Mapped[str] = mapped_column(
        String(VIEWER_KEY_LENGTH),
        primary_key=True,
        comment="keyed hash of the viewer and the day (view_counts.viewer_key); no user id or address",
    )


class Playlist(Base):
    __tablename__ = "playlists"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility, "playlist_visibility"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    items: Mapped[list[PlaylistItem]] = relationship(
        order_by="PlaylistItem.position", cascade="all, delete-orphan", lazy="selectin"
    )


class PlaylistItem(Base):
    __tablename__ = "playlist_items"

    playlist_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("playlists.id", ondelete="CASCADE"), primary_key=True
    )
    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column()
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    video: Mapped[Video] = relationship(lazy="joined")


def declared_on(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Alembic's ``include_object`` for ``dialect``: leaves out the indexes the models declare for
    another dialect only (``ddl_if``), which the migrations create on that dialect alone."""

    def include(obj: Any, _name: str | None, type_: str, reflected: bool, _compare_to: Any) -> bool:
        only = getattr(obj, "_ddl_if", None)
        return type_ != "index" or reflected or only is None or only.dialect in (None, dialect)

    return include


class ReportTarget(StrEnum):
    VIDEO = "video"
    COMMENT = "comment"


class ReportStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Report(Base):
    """A signed-in user's report of a video or comment; at most one open per reporter and target."""

    __tablename__ = "reports"
    __table_args__ = (
        Index(
            "uq_reports_open",
            "reporter_id",
            "target_type",
            "target_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_reports_queue", "status", "created_at", "id"),
        Index("ix_reports_reporter", "reporter_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    reporter_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    target_type: Mapped[ReportTarget] = mapped_column(_enum(ReportTarget, "report_target"))
    target_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    reason: Mapped[str] = mapped_column(String(REASON_MAX))
    status: Mapped[ReportStatus] = mapped_column(_enum(ReportStatus, "report_status"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(128), default=None, comment="a moderator's sub")
    resolution: Mapped[str | None] = mapped_column(String(REASON_MAX), default=None)


class AuditEntry(Base):
    """One moderation or administration action: who, what, on what, when and why. Kept when the
    actor or the target is deleted (no foreign keys)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_time", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    actor_id: Mapped[str] = mapped_column(String(128), comment="the acting user's sub")
    action: Mapped[str] = mapped_column(String(32))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(REASON_MAX), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Subscription(Base):
    """A viewer follows a channel (a user's public videos); one row per subscriber and channel."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "channel_id", name="uq_subscriptions_pair"),
        CheckConstraint("subscriber_id <> channel_id", name="ck_subscriptions_not_self"),
        # The subscriber's list pages by (created_at, id); a channel's count reads channel_id.
        Index("ix_subscriptions_subscriber", "subscriber_id", "created_at", "id"),
        Index("ix_subscriptions_channel", "channel_id"),
    )

    # An id of its own, so the subscriber's list pages like every other list (pagination.page).
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subscriber_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    channel: Mapped[User] = relationship(foreign_keys=[channel_id])


WEBHOOK_URL_MAX = 2048
WEBHOOK_SECRET_MAX = 64
DELIVERY_ERROR_MAX = 1000


class Webhook(Base):
    """A user's HTTPS endpoint that receives their videos' events, signed with its secret
    (``contracts.webhook_signatures``); ``event_types`` empty: every type."""

    __tablename__ = "webhooks"
    __table_args__ = (Index("ix_webhooks_owner", "owner_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(WEBHOOK_URL_MAX))
    event_types: Mapped[list[str]] = mapped_column(
        JSON, default=list, comment="the video event types delivered; empty: all"
    )
    # Kept as it is: signing needs it. Never part of an answer but the one that creates or rotates it.
    secret: Mapped[str] = mapped_column(String(WEBHOOK_SECRET_MAX), comment="HMAC-SHA256 signing secret")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    secret_rotated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    previous_secret: Mapped[str | None] = mapped_column(
        String(WEBHOOK_SECRET_MAX), default=None, comment="the secret before the last rotation"
    )
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None, comment="until then deliveries are signed with both secrets"
    )

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets a delivery is signed with now: the current one, and the one it replaced
        while that one's grace lasts (receivers switch over without refusing a delivery)."""
        expires = self.previous_secret_expires_at
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)  # SQLite hands the zone back off; it is UTC
        keep = self.previous_secret is not None and expires is not None and now < expires
        return [self.secret, self.previous_secret] if keep and self.previous_secret else [self.secret]

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(Base):
    """One event's delivery to one webhook: its attempts so far, and the next one's time."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_event"),
        Index("ix_webhook_deliveries_recent", "webhook_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    webhook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_status_code: Mapped[int | None] = mapped_column(
        default=None, comment="HTTP status of the last answer"
    )
    last_error: Mapped[str] = mapped_column(String(DELIVERY_ERROR_MAX), default="")
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None, comment="null once delivered or failed for good"
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
