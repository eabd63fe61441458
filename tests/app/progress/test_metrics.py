"""The progress service's metrics: open streams and delivery latency, one EMF line per poll."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.contracts.messages import ProgressEventV1, VideoState
from app.progress.hub import Hub
from app.progress.poller import Poller
from tests.support.emf import metric_lines


class OneBatch:
    """An SQS stand-in whose next receive returns ``bodies`` once."""

    def __init__(self, bodies: list[str]) -> None:
        self.bodies = bodies

    def receive_message(self, **_: Any) -> dict[str, Any]:
        batch, self.bodies = self.bodies, []
        return {"Messages": [{"Body": b, "ReceiptHandle": str(n)} for n, b in enumerate(batch)]}

    def delete_message_batch(self, **_: Any) -> None:
        pass


def test_each_poll_reports_open_streams_and_the_latency_of_each_event_handed_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub = Hub(buffer_size=8, max_videos=8, max_streams=8)
    video = uuid.uuid4()
    hub.subscribe(video)
    hub.subscribe(uuid.uuid4())
    emitted = datetime.now(UTC) - timedelta(seconds=2)
    event = ProgressEventV1(
        task_id=uuid.uuid4(),
        video_id=video,
        state=VideoState.TRANSCODING,
        percent=5,
        sequence=1,
        emitted_at=emitted,
    )
    poller = Poller(OneBatch([event.model_dump_json(), event.model_dump_json()]), "queue", hub)

    poller.poll_once()  # the duplicate is not handed on, so not timed
    poller.poll_once()

    busy, idle = metric_lines(capsys.readouterr().out, "progress")
    assert busy.values["OpenStreams"] == [2] and busy.units["OpenStreams"] == "Count"
    [latency] = busy.values["DeliveryLatency"]
    assert 2000 <= latency < 60_000 and busy.units["DeliveryLatency"] == "Milliseconds"
    assert idle.values == {"OpenStreams": [2]}
