"""Progress events for one task: ordered, throttled, published to the progress topic.

Sequence numbers are ``attempt * SEQUENCES_PER_ATTEMPT + n`` (``contracts.messages.attempt_number``:
the message's receive count, after any redrives), so the events of a redelivered or redriven task
sort after every event of the attempts before.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from app.contracts.messages import (
    SEQUENCES_PER_ATTEMPT,
    PlayableOutputs,
    ProgressEventV1,
    TaskOutputs,
    VideoState,
)

_MIN_STEP_PERCENT = 1.0
_MIN_INTERVAL_SECONDS = 1.0

Publish = Callable[[ProgressEventV1], None]


def sns_publisher(sns: Any, topic_arn: str) -> Publish:
    """Publish events as their raw JSON; attributes let subscribers filter without parsing."""

    def publish(event: ProgressEventV1) -> None:
        sns.publish(
            TopicArn=topic_arn,
            Message=event.model_dump_json(),
            MessageAttributes={
                "video_id": {"DataType": "String", "StringValue": str(event.video_id)},
                "state": {"DataType": "String", "StringValue": event.state.value},
            },
        )

    return publish


class ProgressReporter:
    def __init__(
        self,
        publish: Publish,
        task_id: uuid.UUID,
        video_id: uuid.UUID,
        attempt: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._publish = publish
        self._task_id, self._video_id = task_id, video_id
        self._sequence = max(1, attempt) * SEQUENCES_PER_ATTEMPT
        self._clock = clock
        self._percent = -1.0  # nothing published yet
        self._published_at = 0.0
        # ffmpeg's progress and the progressive publisher (``publish.py``) report from two threads.
        self._lock = threading.RLock()

    def _emit(self, state: VideoState, percent: float, **fields: Any) -> None:
        with self._lock:
            event = ProgressEventV1(
                task_id=self._task_id,
                video_id=self._video_id,
                state=state,
                percent=percent,
                sequence=self._sequence,
                **fields,
            )
            self._publish(event)
            self._sequence += 1
            self._percent, self._published_at = percent, self._clock()

    def transcoding(self, percent: float) -> None:
        """Report ``percent`` if it is the first, the last, or 1% or 1 s after the previous report."""
        percent = round(min(max(percent, 0.0), 100.0), 1)
        with self._lock:
            if self._percent < 0:
                self._emit(VideoState.TRANSCODING, 0.0)
            if percent <= self._percent:
                return
            if (
                percent >= 100.0
                or percent - self._percent >= _MIN_STEP_PERCENT
                or self._clock() - self._published_at >= _MIN_INTERVAL_SECONDS
            ):
                self._emit(VideoState.TRANSCODING, percent)

    def playable(self, outputs: PlayableOutputs) -> None:
        """The video plays already (its lowest rung, growing): said once, at the percent reached."""
        with self._lock:
            self._emit(VideoState.TRANSCODING, max(self._percent, 0.0), playable=outputs)

    def ready(self, outputs: TaskOutputs) -> None:
        self.transcoding(100.0)
        self._emit(VideoState.READY, 100.0, outputs=outputs)

    def failed(self, reason: str) -> None:
        self._emit(VideoState.FAILED, max(self._percent, 0.0), error_reason=reason[:1000])
