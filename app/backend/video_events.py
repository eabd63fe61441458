"""Publishing the video events integrators subscribe to (``contracts.messages.VideoEventV1``).

The backend publishes when a video's outcome is recorded (the status consumer: ready, failed) and
when a video is deleted, on the stack's video events topic. Each event is a raw JSON message with
its ``type`` as a message attribute, so a subscription can filter by type without parsing.
"""

from __future__ import annotations

from typing import Any

from app.backend.models import Video
from app.contracts.messages import ProgressEventV1, VideoEventType, VideoEventV1, VideoState


def publish(sns: Any, topic_arn: str, event: VideoEventV1) -> None:
    sns.publish(
        TopicArn=topic_arn,
        Message=event.model_dump_json(),
        MessageAttributes={"type": {"DataType": "String", "StringValue": event.type.value}},
    )


def outcome(video: Video, event: ProgressEventV1) -> VideoEventV1 | None:
    """The video event a recorded progress event is, if it ends a task (ready or failed)."""
    occurrence = f"{event.task_id}/{event.sequence}"
    if event.state == VideoState.READY:
        duration = event.outputs.duration_seconds if event.outputs else None
        return VideoEventV1.of(
            VideoEventType.READY,
            video.id,
            video.owner_id,
            occurrence,
            task_id=event.task_id,
            duration_seconds=duration,
        )
    if event.state == VideoState.FAILED:
        return VideoEventV1.of(
            VideoEventType.FAILED,
            video.id,
            video.owner_id,
            occurrence,
            task_id=event.task_id,
            error_reason=event.error_reason,
        )
    return None


def deleted(video: Video) -> VideoEventV1:
    return VideoEventV1.of(VideoEventType.DELETED, video.id, video.owner_id, "")
