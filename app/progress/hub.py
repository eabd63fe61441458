"""Fan-out of progress events to the open streams of one process, with a bounded replay buffer.

Plain Python: the gevent server patches ``threading`` and ``queue``, so the same lock and
queues are cooperative there and ordinary in unit tests.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from app.contracts.messages import ProgressEventV1, VideoState

HEARTBEAT = b": heartbeat\n\n"
"""An SSE comment: it keeps an idle stream's connection open through proxies and load balancers."""


def chunked(frame: bytes) -> bytes:
    """``frame`` as one chunk of an HTTP/1.1 chunked body, the way the server writes each piece of
    a streamed response: what the hub writes to a stream's connection itself."""
    return b"%x\r\n%s\r\n" % (len(frame), frame)


HEARTBEAT_CHUNK = chunked(HEARTBEAT)

_STATE_RANK = {
    VideoState.UPLOADING: 0,
    VideoState.QUEUED: 1,
    VideoState.TRANSCODING: 2,
    VideoState.READY: 3,
    VideoState.FAILED: 3,
}


class TooManyStreams(Exception):
    """The process already serves its configured number of streams."""


class ShuttingDown(Exception):
    """The process is ending its streams; clients reconnect to another instance."""


@dataclass(frozen=True)
class StreamEvent:
    """What one SSE event says: the state of a video at one point of its task."""

    state: VideoState
    percent: float
    sequence: int
    outputs: dict[str, Any] | None = None
    error_reason: str | None = None
    playable: dict[str, Any] | None = None
    """Transcoding, and the video plays already (``ProgressEventV1.playable``): the page asks the
    backend for its playback URL."""
    task_id: uuid.UUID | None = field(default=None, compare=False)
    """The task whose event this is (not what the event says, so not compared); None for a
    backend state no task has reported yet."""

    @classmethod
    def from_progress(cls, event: ProgressEventV1) -> StreamEvent:
        return cls(
            state=VideoState(event.state),
            percent=event.percent,
            sequence=event.sequence,
            outputs=event.outputs.model_dump(mode="json") if event.outputs else None,
            error_reason=event.error_reason,
            playable=event.playable.model_dump(mode="json") if event.playable else None,
            task_id=event.task_id,
        )

    @cached_property
    def order(self) -> tuple[int, int]:
        # Sequence first; for an equal sequence the later state wins, so a snapshot taken
        # before the task's first event (uploading, 0) does not hide that event.
        return self.sequence, _STATE_RANK[self.state]

    @property
    def of_task(self) -> bool:
        """Whether a task emitted this, rather than the backend before any event (sequence -1, or uploading)."""
        return self.sequence >= 0 and self.state != VideoState.UPLOADING

    def data(self) -> dict[str, Any]:
        body: dict[str, Any] = {"state": self.state.value, "percent": self.percent, "sequence": self.sequence}
        if self.outputs is not None:
            body["outputs"] = self.outputs
        if self.error_reason is not None:
            body["error_reason"] = self.error_reason
        if self.playable is not None:
            body["playable"] = self.playable
        return body

    @cached_property
    def frame(self) -> bytes:
        """The SSE event as sent, formatted once: the hub hands this one object to every stream.

        Only a task's events carry an ``id``, so a reconnect never skips the first one.
        """
        id_line = f"id: {self.sequence}\n" if self.of_task else ""
        return f"{id_line}data: {json.dumps(self.data(), separators=(',', ':'))}\n\n".encode()

    @cached_property
    def chunk(self) -> bytes:
        """``frame`` chunked, once for all the connections the hub writes it to."""
        return chunked(self.frame)

    @cached_property
    def terminal(self) -> bool:
        """Whether the stream ends after this event (ready or failed)."""
        return self.state.terminal

    def follows(self, sent: StreamEvent | None, task_id: uuid.UUID | None) -> bool:
        """Whether a stream that last sent ``sent`` and follows ``task_id`` (None: any) sends this event
        next: newer than what it sent, and not a (redelivered) event of a task a retry replaced."""
        if task_id is not None and self.task_id not in (None, task_id):
            return False
        return sent is None or self.order > sent.order


class Closed:
    """Put on a subscriber's queue to end its stream."""


CLOSED = Closed()


class Wake:
    """Put on a subscriber's queue to hand its stream back from the hub's writing to its own."""


WAKE = Wake()


class Connection(Protocol):
    """A stream's client connection, which the hub may write chunks to without waiting."""

    def write_now(self, chunk: bytes) -> bool:
        """Writes ``chunk`` if the connection takes it without waiting; False if it took only
        part or none, the rest kept for ``flush``."""

    def flush(self) -> None:
        """Waits until what ``write_now`` could not write is written."""


@dataclass(eq=False)
class Subscriber:
    video_id: uuid.UUID
    events: queue.Queue[StreamEvent | Closed | Wake]
    closed: bool = False
    connection: Connection | None = None
    """Set while the hub writes the stream's live events to its connection itself, in its
    publish loop (and its heartbeats in ``beat``): no queue, no wake-up, no write and no timer of
    the stream's own."""
    sent: StreamEvent | None = None
    """While the hub writes: the last event the stream sent."""
    task_id: uuid.UUID | None = None
    """While the hub writes: the task whose events the stream sends (None: any)."""

    def end(self) -> None:
        """Ends the stream once it has sent what its queue holds."""
        self.closed = True
        # A full queue needs no marker: the stream ends once it has drained it.
        with contextlib.suppress(queue.Full):
            self.events.put_nowait(CLOSED)

    def next(self, timeout: float | None) -> StreamEvent | Closed | Wake | None:
        """The next live event, CLOSED when the stream must end, None after ``timeout`` idle
        seconds (None: no timeout)."""
        if self.closed and self.events.empty():
            return CLOSED
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return CLOSED if self.closed else None


@dataclass
class _VideoBuffer:
    task_id: uuid.UUID
    events: deque[StreamEvent]
    subscribers: set[Subscriber] = field(default_factory=set)


class Hub:
    """Per-video replay buffers (bounded in events and in videos) and the streams listening to them."""

    def __init__(self, *, buffer_size: int, max_videos: int, max_streams: int) -> None:
        self._buffer_size = buffer_size
        self._max_videos = max_videos
        self._max_streams = max_streams
        self._buffers: OrderedDict[uuid.UUID, _VideoBuffer] = OrderedDict()
        # Subscribers of videos with no buffered event yet (or whose buffer was evicted).
        self._waiting: dict[uuid.UUID, set[Subscriber]] = {}
        self._streams = 0
        self._closed = False
        self._lock = threading.Lock()

    @property
    def stream_count(self) -> int:
        return self._streams

    @property
    def video_count(self) -> int:
        return len(self._buffers)

    @property
    def closed(self) -> bool:
        return self._closed

    def publish(self, event: ProgressEventV1) -> bool:
        """Buffer ``event`` and hand it to the video's streams; False for a duplicate or stale one."""
        item = StreamEvent.from_progress(event)
        with self._lock:
            buffer = self._buffers.get(event.video_id)
            if buffer is None or buffer.task_id != event.task_id:
                # A new task of the video starts a new history.
                subscribers = buffer.subscribers if buffer else self._waiting.pop(event.video_id, set())
                buffer = _VideoBuffer(event.task_id, deque(maxlen=self._buffer_size), subscribers)
                self._buffers[event.video_id] = buffer
            elif buffer.events and item.order <= buffer.events[-1].order:
                return False
            buffer.events.append(item)
            self._buffers.move_to_end(event.video_id)
            self._evict()
            for subscriber in buffer.subscribers:
                self._deliver(subscriber, item)
            return True

    def subscribe(self, video_id: uuid.UUID) -> tuple[Subscriber, list[StreamEvent]]:
        """A new stream of ``video_id`` and the buffered events at that instant, oldest first."""
        with self._lock:
            if self._closed:
                raise ShuttingDown("this instance is shutting down")
            if self._streams >= self._max_streams:
                raise TooManyStreams(f"this process serves its limit of {self._max_streams} streams")
            subscriber = Subscriber(video_id, queue.Queue(maxsize=self._buffer_size))
            buffer = self._buffers.get(video_id)
            if buffer is not None:
                buffer.subscribers.add(subscriber)
                history = list(buffer.events)
            else:
                self._waiting.setdefault(video_id, set()).add(subscriber)
                history = []
            self._streams += 1
            return subscriber, history

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            buffer = self._buffers.get(subscriber.video_id)
            waiting = self._waiting.get(subscriber.video_id, set())
            if buffer is not None and subscriber in buffer.subscribers:
                buffer.subscribers.discard(subscriber)
            elif subscriber in waiting:
                waiting.discard(subscriber)
                if not waiting:
                    del self._waiting[subscriber.video_id]
            else:
                return
            self._streams -= 1

    def close(self) -> None:
        """End every stream (shutdown) and refuse new ones."""
        with self._lock:
            self._closed = True
            everyone = [s for b in self._buffers.values() for s in b.subscribers]
            everyone += [s for group in self._waiting.values() for s in group]
            for subscriber in everyone:
                subscriber.end()

    def write_directly(
        self,
        subscriber: Subscriber,
        connection: Connection,
        sent: StreamEvent | None,
        task_id: uuid.UUID | None,
    ) -> None:
        """From now on the hub writes the stream's next events to ``connection`` as it publishes
        them, until ``take_back``; only once the stream has sent all its queue held (its order)."""
        with self._lock:
            if subscriber.events.empty() and not subscriber.closed:
                subscriber.connection, subscriber.sent, subscriber.task_id = connection, sent, task_id

    def take_back(self, subscriber: Subscriber, sent: StreamEvent | None) -> StreamEvent | None:
        """The stream writes its own events again (through its queue); returns the last it sent
        (``sent``, or a newer one the hub wrote)."""
        with self._lock:
            if subscriber.sent is not None and (sent is None or subscriber.sent.order > sent.order):
                sent = subscriber.sent
            subscriber.connection = subscriber.sent = subscriber.task_id = None
            return sent

    def leave(self, subscriber: Subscriber) -> None:
        """The client went away: its slot is free at once, and its stream ends without writing more."""
        self.unsubscribe(subscriber)
        subscriber.end()

    def _deliver(self, subscriber: Subscriber, item: StreamEvent) -> None:
        connection = subscriber.connection
        if connection is not None:
            if not item.follows(subscriber.sent, subscriber.task_id):
                return
            subscriber.sent = item
            if connection.write_now(item.chunk) and not item.terminal:
                return
            # The rest waits for the stream's own writing (its connection is full), or it ends.
            subscriber.connection = None
            if item.terminal:
                subscriber.end()
            else:
                self._enqueue(subscriber, WAKE)
            return
        self._enqueue(subscriber, item)

    def beat(self) -> None:
        """Writes a heartbeat to every stream the hub writes to: one timer for all of them, where
        each stream writing its own would wake 10,000 greenlets per interval at 10,000 streams."""
        with self._lock:
            streams = [s for b in self._buffers.values() for s in b.subscribers]
            streams += [s for group in self._waiting.values() for s in group]
            for subscriber in streams:
                connection = subscriber.connection
                if connection is not None and not connection.write_now(HEARTBEAT_CHUNK):
                    subscriber.connection = None
                    self._enqueue(subscriber, WAKE)

    def beat_every(self, seconds: float, stop: threading.Event) -> None:
        """``beat`` every ``seconds`` until ``stop`` is set: the worker runs this beside its streams."""
        while not stop.wait(seconds):
            self.beat()

    @staticmethod
    def _enqueue(subscriber: Subscriber, item: StreamEvent | Wake) -> None:
        try:
            subscriber.events.put_nowait(item)
        except queue.Full:
            # A client this far behind is ended; it reconnects with Last-Event-ID and replays.
            subscriber.closed = True

    def _evict(self) -> None:
        while len(self._buffers) > self._max_videos:
            for video_id, buffer in self._buffers.items():
                if not buffer.subscribers:
                    del self._buffers[video_id]
                    break
            else:
                # Every buffered video has listeners: drop the oldest history, keep its streams.
                video_id, buffer = self._buffers.popitem(last=False)
                self._waiting.setdefault(video_id, set()).update(buffer.subscribers)
