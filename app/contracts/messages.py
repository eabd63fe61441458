"""Versioned messages between services.

The task message goes from the backend to the transcoder fleet (task SQS queue);
the progress event goes from a transcoder to the progress topic, and from there to
every progress instance and to the backend's status queue; the video event goes from
the backend to the stack's video events topic, for integrators (outside the platform). A producer builds one of
these classes, a consumer parses one with ``parse_task`` / ``parse_progress``;
neither touches raw dicts. The JSON Schemas in ``schemas/`` are generated from
these classes (``python -m app.contracts.schemas``) and a test keeps them in step.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from app.contracts.names import TASK_MAX_RECEIVES

ALLOWED_HEIGHTS = (2160, 1440, 1080, 720, 480, 360, 240, 144)
Height = Literal[2160, 1440, 1080, 720, 480, 360, 240, 144]
DEFAULT_LADDER: list[Height] = [1080, 720, 480, 360, 240]
MAX_FILTERS = 8


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _type_required(schema: dict[str, Any]) -> None:
    # The default lets code write TrimFilter(start=1), but the union picks a model by `type`, so
    # a filter without it is refused: the schema says so (pydantic leaves defaulted fields out).
    schema["required"] = ["type", *schema.get("required", [])]


class _Filter(_Message):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_type_required)


# Filters are data: an allow-list of typed operations the worker maps to filter nodes.
class TrimFilter(_Filter):
    type: Literal["trim"] = "trim"
    start: float = Field(ge=0, le=86400, description="seconds from the start of the source")
    end: float | None = Field(None, gt=0, le=86400, description="seconds from the start; omitted: to the end")

    @model_validator(mode="after")
    def _end_after_start(self) -> TrimFilter:
        if self.end is not None and self.end <= self.start:
            raise ValueError("trim end must be after start")
        return self


class RotateFilter(_Filter):
    type: Literal["rotate"] = "rotate"
    degrees: Literal[90, 180, 270] = Field(description="clockwise rotation")


class GrayscaleFilter(_Filter):
    type: Literal["grayscale"] = "grayscale"


class FlipFilter(_Filter):
    type: Literal["flip"] = "flip"
    axis: Literal["horizontal", "vertical"]


FilterSpec = Annotated[TrimFilter | RotateFilter | GrayscaleFilter | FlipFilter, Field(discriminator="type")]


class TaskMessageV1(_Message):
    """Transcode one uploaded source into an HLS ladder."""

    schema_version: Literal[1] = 1
    task_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    video_id: uuid.UUID
    owner_id: str = Field(min_length=1, max_length=128, description="Cognito sub of the uploader")
    source_bucket: str = Field(min_length=3, max_length=63)
    source_key: str = Field(min_length=1, max_length=1024)
    filters: list[FilterSpec] = Field(default_factory=list, max_length=MAX_FILTERS)
    ladder: list[Height] = Field(
        default_factory=lambda: list(DEFAULT_LADDER),
        min_length=1,
        max_length=len(ALLOWED_HEIGHTS),
        description="requested rendition heights; the worker never exceeds the source height",
    )
    # Defaulted: a message from a backend before downloads still validates, and means no MP4.
    mp4_download: bool = Field(False, description="also produce one MP4 file for download (owner's choice)")
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class VideoState(StrEnum):
    """Life of a video; `uploading` exists only in the backend, before a task."""

    UPLOADING = "uploading"
    QUEUED = "queued"
    TRANSCODING = "transcoding"
    READY = "ready"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (VideoState.READY, VideoState.FAILED)


class Rendition(_Message):
    height: int = Field(gt=0)
    width: int = Field(gt=0)
    bandwidth: int = Field(gt=0, description="peak bits per second, as in the master playlist")
    playlist_key: str = Field(min_length=1)


class Storyboard(_Message):
    """Seek previews: sprite sheets of tiles and the WebVTT track mapping times to tiles."""

    vtt_key: str = Field(min_length=1, description="WebVTT thumbnails track; its cues name the sprites")
    sprite_count: int = Field(ge=1, description="sprite sheets next to the track: sprite-1.jpg, ...")
    interval_seconds: float = Field(gt=0, description="seconds of video each tile previews")
    tile_width: int = Field(gt=0)
    tile_height: int = Field(gt=0)
    columns: int = Field(gt=0, description="tiles per row of a sprite sheet")
    rows: int = Field(gt=0, description="rows of tiles per sprite sheet")


PurchaseOption = Literal["on-demand", "spot"]


class TranscodeUsage(_Message):
    """What one transcode used, priced by the backend (``app/backend/costs.py``) with the stack's prices."""

    cpu_seconds: float = Field(
        ge=0, description="CPU time (user + system) of the attempt's ffprobe and ffmpeg runs"
    )
    instance_type: str | None = Field(None, max_length=64, description="EC2 instance type; null off EC2")
    purchase_option: PurchaseOption | None = Field(
        None, description="how the instance is bought (instance metadata's instance-life-cycle); null off EC2"
    )
    bytes_written: int = Field(ge=0, description="bytes this attempt uploaded to the media bucket")
    bytes_stored: int = Field(ge=0, description="bytes the task's outputs take in the media bucket")


class AudioRendition(_Message):
    """The audio-only variant of the ladder, for listeners whose network cannot carry any video rung."""

    bandwidth: int = Field(gt=0, description="peak bits per second, as in the master playlist")
    playlist_key: str = Field(min_length=1)


class TaskOutputs(_Message):
    prefix: str = Field(min_length=1, description="task-scoped key prefix in the media bucket")
    master_playlist_key: str = Field(min_length=1)
    thumbnail_key: str = Field(min_length=1)
    duration_seconds: float = Field(ge=0)
    renditions: list[Rendition] = Field(min_length=1)
    # Optional: a worker from before storyboards may still report during a rolling deploy.
    storyboard: Storyboard | None = None
    # Optional for the same reason: a worker from before cost accounting reports no usage.
    usage: TranscodeUsage | None = None
    # Optional, as the storyboard: older workers report none of these.
    thumbnail_candidates: list[str] = Field(
        default_factory=list,
        max_length=16,
        description="keys of candidate posters picked from the source (neither black nor blurred), best first;"
        " thumbnail_key is the first of them when there is one",
    )
    audio: AudioRendition | None = Field(
        None, description="audio-only variant; none when the source is silent"
    )
    download_key: str | None = Field(None, description="the MP4 for download, when the task asked for one")


class PlayableOutputs(_Message):
    """What a viewer can already play while the task transcodes (the worker's progressive
    publishing, ``app/transcoder/publish.py``): a master playlist listing the rungs whose segments
    are being published, each an EVENT playlist that grows until the ready event. Its key is the
    one the ready event's outputs will name, so a player keeps its URL."""

    master_playlist_key: str = Field(min_length=1)
    heights: list[int] = Field(min_length=1, description="the rungs the master playlist lists so far")


class ProgressEventV1(_Message):
    """One step of a task; `sequence` orders the events of one task."""

    schema_version: Literal[1] = 1
    task_id: uuid.UUID
    video_id: uuid.UUID
    state: Literal[VideoState.QUEUED, VideoState.TRANSCODING, VideoState.READY, VideoState.FAILED]
    percent: float = Field(ge=0, le=100)
    sequence: int = Field(ge=0)
    error_reason: str | None = Field(None, max_length=1000)
    outputs: TaskOutputs | None = None
    # Optional: workers from before progressive publishing never send it, and a video is then
    # playable only once ready, as before.
    playable: PlayableOutputs | None = Field(
        None, description="transcoding: the video plays already (its lowest rung, growing); not ready yet"
    )
    emitted_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @model_validator(mode="after")
    def _terminal_fields(self) -> ProgressEventV1:
        if self.state == VideoState.READY and self.outputs is None:
            raise ValueError("a ready event carries its outputs")
        if self.playable is not None and self.state != VideoState.TRANSCODING:
            raise ValueError("only a transcoding event says the video plays early")
        if self.state == VideoState.FAILED and not self.error_reason:
            raise ValueError("a failed event carries an error_reason")
        return self


# Attempts and sequences. A task message is received up to TASK_MAX_RECEIVES times, then an idle
# worker reports the dead letter as one attempt more; an operator's redrive (``reelstack redrive``)
# sends it again with the REDRIVES_ATTRIBUTE message attribute one higher, which starts a new run
# of attempts. An attempt's events are numbered from ``attempt * SEQUENCES_PER_ATTEMPT``, so every
# event of a later attempt, or of a later redrive, sorts after those before it.
SEQUENCES_PER_ATTEMPT = 1_000_000
REDRIVES_ATTRIBUTE = "redrives"
ATTEMPTS_PER_REDRIVE = TASK_MAX_RECEIVES + 1


def attempt_number(receives: int, redrives: int = 0) -> int:
    """The attempt a task's ``receives``-th receive (or its dead-letter report, at one receive more)
    is after ``redrives`` redrives."""
    return redrives * ATTEMPTS_PER_REDRIVE + max(1, receives)


def redrives_of(message: dict[str, Any]) -> int:
    """How often an operator has redriven a received task message; 0 if never."""
    value = message.get("MessageAttributes", {}).get(REDRIVES_ATTRIBUTE, {}).get("StringValue", "0")
    return int(value) if value.isdigit() else 0


def redrive_start(sequence: int) -> int:
    """The first sequence of the redrive that event ``sequence`` belongs to (0 for the first run):
    a video recorded ``failed`` before it was failed by an earlier run, which a redrive may revive."""
    attempt = max(1, sequence // SEQUENCES_PER_ATTEMPT)
    redrives = (attempt - 1) // ATTEMPTS_PER_REDRIVE
    return attempt_number(1, redrives) * SEQUENCES_PER_ATTEMPT if redrives else 0


class VideoEventType(StrEnum):
    READY = "video.ready"
    FAILED = "video.failed"
    DELETED = "video.deleted"


class VideoEventV1(_Message):
    """A video's outcome, for integrators: published on the stack's video events topic
    (output ``video_events_topic_arn``) when a video becomes ready, fails, or is deleted.

    Delivery is at least once: the same ``event_id`` may arrive twice, and consumers drop repeats.
    The SNS message carries ``type`` as a message attribute too, for subscription filter policies.
    """

    schema_version: Literal[1] = 1
    event_id: uuid.UUID = Field(description="the same for every delivery of one event")
    type: VideoEventType
    video_id: uuid.UUID
    owner_id: str = Field(min_length=1, max_length=128, description="Cognito sub of the uploader")
    task_id: uuid.UUID | None = Field(None, description="the transcoding task that ended (ready, failed)")
    duration_seconds: float | None = Field(None, ge=0, description="video.ready: the video's length")
    error_reason: str | None = Field(None, max_length=1000, description="video.failed: why, for the uploader")
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def of(
        cls, type_: VideoEventType, video_id: uuid.UUID, owner_id: str, occurrence: str, **fields: Any
    ) -> VideoEventV1:
        """The event, its ``event_id`` derived from its type, video and ``occurrence`` (what tells
        this outcome from another of the same video, e.g. the progress event's task and sequence),
        so a repeated publication of one outcome keeps its id."""
        event_id = uuid.uuid5(_VIDEO_EVENTS, f"{type_.value}/{video_id}/{occurrence}")
        return cls(event_id=event_id, type=type_, video_id=video_id, owner_id=owner_id, **fields)


_VIDEO_EVENTS = uuid.UUID("5b0f4a4e-3f52-4a8e-9d0c-7a3f2f0a8e11")  # namespace of video event ids

_task_adapter = TypeAdapter(TaskMessageV1)
_progress_adapter = TypeAdapter(ProgressEventV1)


def parse_task(body: str | bytes) -> TaskMessageV1:
    """Parse and validate a task message; raises pydantic.ValidationError."""
    return _task_adapter.validate_json(body)


def parse_progress(body: str | bytes) -> ProgressEventV1:
    """Parse and validate a progress event; raises pydantic.ValidationError."""
    return _progress_adapter.validate_json(body)


MESSAGE_SCHEMAS: dict[str, type[BaseModel]] = {
    "task-message-v1": TaskMessageV1,
    "progress-event-v1": ProgressEventV1,
    "video-event-v1": VideoEventV1,
}
