"""What one SSE stream sends: the opening events, then live ones, heartbeats, and its end.

Pure functions of the hub's data, so the rules (newest state first, replay after
Last-Event-ID, end after ready or failed) are tested without a server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.contracts.messages import VideoState
from app.progress.hub import Closed, StreamEvent, Subscriber

HEARTBEAT = b": heartbeat\n\n"


class TicketSnapshot(BaseModel):
    """The video's state that the backend signed into the ticket when it issued it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    state: VideoState
    percent: float = Field(ge=0, le=100)
    sequence: int = Field(ge=-1, description="-1 before the video's first event")
    # The backend's record of the outputs (keys, renditions, duration), passed on as it is.
    outputs: dict[str, Any] | None = None
    error_reason: str | None = None

    def as_event(self) -> StreamEvent:
        return StreamEvent(
            state=self.state,
            percent=self.percent,
            sequence=self.sequence,
            outputs=self.outputs,
            error_reason=self.error_reason,
        )


def opening_events(
    snapshot: StreamEvent, history: list[StreamEvent], last_event_id: int | None
) -> list[StreamEvent]:
    """A new client gets the current state; a reconnecting one the buffered events after its last.

    The current state is the newer of the ticket's snapshot and the buffer: the ticket may be
    older than events this instance has seen, or this instance may have seen none yet.
    """
    if last_event_id is None:
        newest = history[-1] if history else None
        return [newest if newest is not None and newest.order >= snapshot.order else snapshot]
    replay = [event for event in history if event.sequence > last_event_id]
    newer_snapshot = snapshot.sequence > last_event_id and (not replay or snapshot.order > replay[-1].order)
    return [*replay, snapshot] if newer_snapshot else replay


def events(subscriber: Subscriber, opening: list[StreamEvent], heartbeat_seconds: float) -> Iterator[bytes]:
    """The bytes of one stream (each event's shared ``frame``); it ends after ready or failed, or
    when the hub closes the subscriber."""
    last: StreamEvent | None = None
    for event in opening:
        yield event.frame
        last = event
        if event.state.terminal:
            return
    while True:
        item = subscriber.next(heartbeat_seconds)
        if item is None:
            yield HEARTBEAT
            continue
        if isinstance(item, Closed):
            return
        if last is not None and item.order <= last.order:
            continue  # already sent in the opening
        yield item.frame
        last = item
        if item.state.terminal:
            return
