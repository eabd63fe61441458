"""The hub's rules: bounded replay per video and in videos, ordering, slow clients, limits, shutdown."""

from __future__ import annotations

import uuid

import pytest

from app.contracts.messages import VideoState
from app.progress.hub import CLOSED, WAKE, Hub, ShuttingDown, StreamEvent, TooManyStreams
from tests.app.progress.conftest import RecordedConnection, progress_event


def _hub(buffer_size: int = 4, max_videos: int = 10, max_streams: int = 10) -> Hub:
    return Hub(buffer_size=buffer_size, max_videos=max_videos, max_streams=max_streams)


def _sequences(events: list[StreamEvent]) -> list[int]:
    return [event.sequence for event in events]


def test_replay_buffer_keeps_the_newest_events_of_a_video() -> None:
    hub, video, task = _hub(buffer_size=3), uuid.uuid4(), uuid.uuid4()
    for sequence in range(1, 6):
        assert hub.publish(progress_event(video, task, sequence))
    _, history = hub.subscribe(video)
    assert _sequences(history) == [3, 4, 5]


def test_duplicate_and_stale_events_of_a_task_are_dropped() -> None:
    hub, video, task = _hub(), uuid.uuid4(), uuid.uuid4()
    assert hub.publish(progress_event(video, task, 2))
    assert not hub.publish(progress_event(video, task, 2))
    assert not hub.publish(progress_event(video, task, 1))
    _, history = hub.subscribe(video)
    assert _sequences(history) == [2]


def test_a_new_task_of_the_video_starts_a_new_history_and_keeps_its_streams() -> None:
    hub, video = _hub(), uuid.uuid4()
    hub.publish(progress_event(video, uuid.uuid4(), 5, VideoState.FAILED))
    subscriber, _ = hub.subscribe(video)
    assert hub.publish(progress_event(video, uuid.uuid4(), 0, VideoState.QUEUED))
    assert subscriber.next(0) == StreamEvent(VideoState.QUEUED, 0, 0)
    _, history = hub.subscribe(video)
    assert [(e.state, e.sequence) for e in history] == [(VideoState.QUEUED, 0)]


def test_least_recently_updated_videos_without_streams_are_forgotten_first() -> None:
    hub = _hub(max_videos=2)
    watched, idle, newest = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    hub.publish(progress_event(watched, uuid.uuid4(), 1))
    subscriber, _ = hub.subscribe(watched)
    hub.publish(progress_event(idle, uuid.uuid4(), 1))
    hub.publish(progress_event(newest, uuid.uuid4(), 1))
    assert hub.video_count == 2
    assert hub.subscribe(idle)[1] == []
    assert _sequences(hub.subscribe(watched)[1]) == [1]
    assert _sequences(hub.subscribe(newest)[1]) == [1]
    assert subscriber.next(0) is None


def test_streams_of_an_evicted_video_still_receive_its_next_events() -> None:
    hub = _hub(max_videos=1)
    first, second = uuid.uuid4(), uuid.uuid4()
    task = uuid.uuid4()
    hub.publish(progress_event(first, task, 1))
    subscriber, _ = hub.subscribe(first)
    hub.publish(progress_event(second, uuid.uuid4(), 1))  # every buffered video is watched: first goes
    assert hub.video_count == 1
    hub.publish(progress_event(first, task, 2))
    assert subscriber.next(0) == StreamEvent(VideoState.TRANSCODING, 20, 2)


def test_events_reach_every_stream_of_their_video_only() -> None:
    hub, video, other, task = _hub(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    a, _ = hub.subscribe(video)
    b, _ = hub.subscribe(video)
    c, _ = hub.subscribe(other)
    hub.publish(progress_event(video, task, 1))
    assert a.next(0) == b.next(0) == StreamEvent(VideoState.TRANSCODING, 10, 1)
    assert c.next(0) is None


def test_a_client_too_far_behind_is_ended_after_what_it_was_sent() -> None:
    hub, video, task = _hub(buffer_size=2), uuid.uuid4(), uuid.uuid4()
    subscriber, _ = hub.subscribe(video)
    for sequence in (1, 2, 3):
        hub.publish(progress_event(video, task, sequence))
    received = [subscriber.next(0), subscriber.next(0)]
    assert [e.sequence for e in received if isinstance(e, StreamEvent)] == [1, 2]
    assert subscriber.next(0) is CLOSED


def test_streams_are_limited_per_process_and_unsubscribing_frees_a_slot_once() -> None:
    hub, video = _hub(max_streams=2), uuid.uuid4()
    first, _ = hub.subscribe(video)
    hub.subscribe(video)
    with pytest.raises(TooManyStreams):
        hub.subscribe(video)
    hub.unsubscribe(first)
    hub.unsubscribe(first)
    assert hub.stream_count == 1
    hub.subscribe(video)
    with pytest.raises(TooManyStreams):
        hub.subscribe(video)


def test_close_ends_every_stream_and_refuses_new_ones() -> None:
    hub, video, task = _hub(), uuid.uuid4(), uuid.uuid4()
    waiting, _ = hub.subscribe(video)
    hub.publish(progress_event(video, task, 1))
    other, _ = hub.subscribe(uuid.uuid4())
    hub.close()
    assert waiting.next(0) == StreamEvent(VideoState.TRANSCODING, 10, 1)
    assert waiting.next(0) is CLOSED
    assert other.next(0) is CLOSED
    assert hub.closed
    with pytest.raises(ShuttingDown):
        hub.subscribe(video)


def test_a_client_that_leaves_frees_its_slot_at_once_and_its_stream_ends() -> None:
    hub, video = _hub(max_streams=1), uuid.uuid4()
    gone, _ = hub.subscribe(video)
    hub.leave(gone)
    assert hub.stream_count == 0 and gone.next(0) is CLOSED
    hub.subscribe(video)
    hub.unsubscribe(gone)  # the WSGI close that follows frees nothing twice
    assert hub.stream_count == 1


def test_a_stream_handed_to_the_hub_has_its_live_events_written_in_the_publish_loop_not_queued() -> None:
    """Fan-out: waking each stream's greenlet to take an event off its queue and write it cost
    most of the progress process at 10,000 streams (bench row 4); the hub writes it instead."""
    hub, video, task = _hub(), uuid.uuid4(), uuid.uuid4()
    subscriber, _ = hub.subscribe(video)
    connection = RecordedConnection()
    hub.write_directly(subscriber, connection, StreamEvent(VideoState.QUEUED, 0, 0), task)
    for sequence in (1, 2, 2):  # the second 2: SNS delivered it twice
        hub.publish(progress_event(video, task, sequence))
    hub.publish(progress_event(video, uuid.uuid4(), 9))  # a task a retry replaced
    hub.publish(progress_event(video, task, 3))
    assert connection.written == [1, 2, 3] and subscriber.events.empty()
    hub.publish(progress_event(video, task, 4, VideoState.READY))
    assert connection.written == [1, 2, 3, 4] and subscriber.next(0) is CLOSED


def test_a_stream_whose_connection_fills_up_is_handed_back_and_gets_the_next_events_queued() -> None:
    hub, video, task = _hub(), uuid.uuid4(), uuid.uuid4()
    subscriber, _ = hub.subscribe(video)
    connection = RecordedConnection(takes=1)
    hub.write_directly(subscriber, connection, None, None)
    for sequence in (1, 2, 3):
        hub.publish(progress_event(video, task, sequence))
    assert connection.written == [1] and connection.kept == [2]
    assert subscriber.next(0) is WAKE
    last = hub.take_back(subscriber, None)
    assert last is not None and last.sequence == 2
    next_event = subscriber.next(0)
    assert isinstance(next_event, StreamEvent) and next_event.sequence == 3


def test_a_stream_with_events_queued_is_not_handed_to_the_hub_before_it_sent_them() -> None:
    hub, video, task = _hub(), uuid.uuid4(), uuid.uuid4()
    subscriber, _ = hub.subscribe(video)
    hub.publish(progress_event(video, task, 1))
    connection = RecordedConnection()
    hub.write_directly(subscriber, connection, None, None)
    hub.publish(progress_event(video, task, 2))
    assert connection.written == [] and _sequences([subscriber.next(0), subscriber.next(0)]) == [1, 2]  # type: ignore[list-item]


def test_the_hub_beats_for_the_streams_it_writes_to_and_hands_back_one_whose_connection_is_full() -> None:
    hub, video = _hub(), uuid.uuid4()
    handed, full, writing_itself = (hub.subscribe(video)[0] for _ in range(3))
    connection, full_connection = RecordedConnection(), RecordedConnection(takes=0)
    hub.write_directly(handed, connection, None, None)
    hub.write_directly(full, full_connection, None, None)
    hub.beat()
    assert connection.written == ["heartbeat"] and handed.events.empty()
    assert full_connection.kept == ["heartbeat"] and full.next(0) is WAKE and full.connection is None
    assert writing_itself.events.empty()  # its own timer writes its heartbeats
