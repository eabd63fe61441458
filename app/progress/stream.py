"""What one SSE stream sends: the opening events, then live ones, heartbeats, and its end.

Pure functions of the hub's data, so the rules (newest state first, replay after
Last-Event-ID, end after ready or failed) are tested without a server.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.contracts.messages import VideoState
from app.progress.hub import HEARTBEAT, Closed, Connection, Hub, StreamEvent, Subscriber, Wake

# How long a resuming client's stream waits for this instance's queue to deliver the events
# between its Last-Event-ID and the ticket's newer state: SNS to SQS delivery and one poll.
CATCH_UP_SECONDS = 3.0


class TicketSnapshot(BaseModel):
    """The video's state that the backend signed into the ticket when it issued it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    state: VideoState
    percent: float = Field(ge=0, le=100)
    sequence: int = Field(ge=-1, description="-1 before the video's first event")
    # The backend's record of the outputs (keys, renditions, duration), passed on as it is.
    outputs: dict[str, Any] | None = None
    error_reason: str | None = None
    task_id: uuid.UUID | None = Field(
        default=None, description="the video's task when issued; a ticket of an older backend names none"
    )

    def as_event(self) -> StreamEvent:
        return StreamEvent(
            state=self.state,
            percent=self.percent,
            sequence=self.sequence,
            outputs=self.outputs,
            error_reason=self.error_reason,
            task_id=self.task_id,
        )


@dataclass(frozen=True)
class Opening:
    """What a stream sends first, and the ticket's state it owes if the live events fall short of it."""

    events: list[StreamEvent]
    catch_up_to: StreamEvent | None = field(default=None)
    task_id: uuid.UUID | None = field(default=None)
    """The ticket's task: events of any other (the task a retry replaced) are not this stream's."""


def opening_events(snapshot: StreamEvent, history: list[StreamEvent], last_event_id: int | None) -> Opening:
    """A new client gets the current state; a reconnecting one the buffered events after its last.

    The current state is the newer of the ticket's snapshot and the buffer: the ticket may be
    older than events this instance has seen, or this instance may have seen none yet.
    A reconnecting client whose ticket is ahead of the buffer would skip the events between
    them if the ticket's state were sent now (they arrive later, older than it): the stream
    first waits for them, and sends the ticket's state only if they do not come.
    A buffer of another task than the ticket's (the one a retry replaced, whose sequences run
    higher than the new task's first) is not the video's story any more.
    """
    task = snapshot.task_id
    if task is not None:
        history = [event for event in history if event.task_id == task]
    if last_event_id is None:
        newest = history[-1] if history else None
        return Opening(
            [newest if newest is not None and newest.order >= snapshot.order else snapshot], task_id=task
        )
    replay = [event for event in history if event.sequence > last_event_id]
    behind = snapshot.sequence > last_event_id and (not replay or snapshot.order > replay[-1].order)
    return Opening(replay, snapshot if behind else None, task)


def events(
    subscriber: Subscriber,
    opening: Opening,
    heartbeat_seconds: float,
    catch_up_seconds: float = CATCH_UP_SECONDS,
    *,
    hub: Hub | None = None,
    connection: Connection | None = None,
) -> Iterator[bytes]:
    """The bytes of one stream (each event's shared ``frame``); it ends after ready or failed, or
    when the hub closes the subscriber.

    Given its ``connection`` (and ``hub``), the stream hands its live events to the hub once it
    has sent its opening and owes no catch-up: the hub writes each to the connection in its
    publish loop, and its heartbeats in ``Hub.beat`` (which must then run every
    ``heartbeat_seconds``), and the stream wakes only for its end, or a connection too full to
    take a chunk at once (it then writes the rest and goes on through its queue)."""
    last: StreamEvent | None = None
    for event in opening.events:
        yield event.frame
        last = event
        if event.state.terminal:
            return
    writes_directly = hub is not None and connection is not None
    # The hub may write only after the response's head, which goes out with the stream's first bytes.
    started = bool(opening.events)
    owed = opening.catch_up_to
    deadline = time.monotonic() + catch_up_seconds
    while True:
        handed = writes_directly and started and owed is None
        if handed:
            assert hub is not None and connection is not None
            hub.write_directly(subscriber, connection, last, opening.task_id)
        wait = (
            None
            if handed
            else heartbeat_seconds
            if owed is None
            else max(0.0, min(heartbeat_seconds, deadline - time.monotonic()))
        )
        item = subscriber.next(wait)
        if handed:
            assert hub is not None and connection is not None
            last = hub.take_back(subscriber, last)
            connection.flush()
        if item is None:
            if owed is None or time.monotonic() < deadline:
                if wait is not None and wait >= heartbeat_seconds:
                    yield HEARTBEAT
                    started = True
                continue
            # The events before the ticket's state never came (this instance booted after
            # them, or dropped them): the ticket's state is the best this stream can say.
            item, owed = owed, None
        if isinstance(item, Closed):
            return
        if isinstance(item, Wake) or not item.follows(last, opening.task_id):
            continue  # the hub handed the stream back; or already sent, or of a task a retry replaced
        yield item.frame
        started = True
        last = item
        if owed is not None and item.order >= owed.order:
            owed = None
        if item.state.terminal:
            return
