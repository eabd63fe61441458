"""What a stream says: its opening events, ids, ordering against the opening, heartbeats and its end."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from app.contracts.messages import PlayableOutputs, VideoState
from app.progress import stream
from app.progress.hub import Hub, StreamEvent
from app.progress.stream import Opening
from tests.app.progress.conftest import RecordedConnection, progress_event

QUEUED = StreamEvent(VideoState.QUEUED, 0, 0)


def _transcoding(sequence: int) -> StreamEvent:
    return StreamEvent(VideoState.TRANSCODING, sequence * 10, sequence)


def test_a_new_client_opens_with_the_newer_of_the_ticket_and_the_buffer() -> None:
    history = [_transcoding(2), _transcoding(3)]
    assert stream.opening_events(QUEUED, history, None) == Opening([_transcoding(3)])
    assert stream.opening_events(_transcoding(5), history, None) == Opening([_transcoding(5)])
    assert stream.opening_events(_transcoding(3), history, None) == Opening([_transcoding(3)])
    assert stream.opening_events(QUEUED, [], None) == Opening([QUEUED])


def test_a_reconnecting_client_gets_the_buffered_events_after_its_last_id() -> None:
    history = [_transcoding(n) for n in range(1, 6)]
    assert stream.opening_events(QUEUED, history, 3) == Opening([_transcoding(4), _transcoding(5)])
    assert stream.opening_events(QUEUED, history, 5) == Opening([])


def test_a_reconnecting_client_whose_ticket_is_ahead_of_the_buffer_is_owed_the_tickets_state() -> None:
    """Sent at once, the ticket's state would hide the events between (the failover chaos test's miss)."""
    history = [_transcoding(n) for n in range(1, 6)]
    assert stream.opening_events(_transcoding(7), [], 5) == Opening([], catch_up_to=_transcoding(7))
    assert stream.opening_events(_transcoding(7), history, 3) == Opening(
        [_transcoding(4), _transcoding(5)], catch_up_to=_transcoding(7)
    )


def test_events_arriving_after_the_opening_are_all_sent_when_the_ticket_was_ahead() -> None:
    hub, video, task = Hub(buffer_size=10, max_videos=10, max_streams=10), uuid.uuid4(), uuid.uuid4()
    for sequence in range(1, 6):
        hub.publish(progress_event(video, task, sequence))
    subscriber, history = hub.subscribe(video)
    opening = stream.opening_events(_transcoding(7), history, 5)
    for sequence in (6, 7):  # this instance's queue delivers them after the client reconnected
        hub.publish(progress_event(video, task, sequence))
    hub.publish(progress_event(video, task, 8, VideoState.READY))
    texts = list(stream.events(subscriber, opening, heartbeat_seconds=60, catch_up_seconds=60))
    assert [t.split(b"\n")[0] for t in texts] == [b"id: 6", b"id: 7", b"id: 8"]


def test_the_tickets_state_is_sent_when_the_events_before_it_do_not_come() -> None:
    hub, video = Hub(buffer_size=10, max_videos=10, max_streams=10), uuid.uuid4()
    subscriber, history = hub.subscribe(video)
    opening = stream.opening_events(_transcoding(7), history, 5)
    texts = stream.events(subscriber, opening, heartbeat_seconds=60, catch_up_seconds=0.05)
    assert next(texts) == _transcoding(7).frame
    hub.close()
    assert list(texts) == []


def test_a_ticket_for_a_retried_video_is_not_answered_with_the_replaced_tasks_failure() -> None:
    """A retry starts a new task at sequence -1; this instance still buffers the failed task's
    events, whose sequences are higher. The stream opens with the ticket's queued state and
    sends the new task's events, never the old task's failure (which ended the stream)."""
    hub, video = Hub(buffer_size=10, max_videos=10, max_streams=10), uuid.uuid4()
    failed_task, retry = uuid.uuid4(), uuid.uuid4()
    hub.publish(progress_event(video, failed_task, 1))
    hub.publish(progress_event(video, failed_task, 2, VideoState.FAILED))
    subscriber, history = hub.subscribe(video)
    ticket = stream.TicketSnapshot(state=VideoState.QUEUED, percent=0, sequence=-1, task_id=retry)
    opening = stream.opening_events(ticket.as_event(), history, None)
    assert [e.state for e in opening.events] == [VideoState.QUEUED]
    hub.publish(progress_event(video, failed_task, 2, VideoState.FAILED))  # SNS delivered it twice
    hub.publish(progress_event(video, retry, 1_000_001))
    hub.publish(progress_event(video, retry, 1_000_002, VideoState.READY))
    texts = list(stream.events(subscriber, opening, heartbeat_seconds=60))
    sent = [json.loads(t.split(b"data: ", 1)[1])["state"] for t in texts]
    assert sent == ["queued", "transcoding", "ready"]


def test_the_backends_state_before_any_event_has_no_id_and_does_not_hide_the_first_event() -> None:
    for before in (StreamEvent(VideoState.UPLOADING, 0, -1), StreamEvent(VideoState.QUEUED, 0, -1)):
        assert not before.frame.startswith(b"id:")
        assert stream.opening_events(before, [QUEUED], None) == Opening([QUEUED])
    # Even an uploading snapshot at sequence 0 yields to the task's first event.
    assert stream.opening_events(StreamEvent(VideoState.UPLOADING, 0, 0), [QUEUED], None) == Opening([QUEUED])


def test_an_event_frame_has_its_sequence_as_id_and_json_data() -> None:
    video, task = uuid.uuid4(), uuid.uuid4()
    ready = StreamEvent.from_progress(progress_event(video, task, 9, VideoState.READY))
    text = ready.frame.decode()
    id_line, data_line, *_ = text.split("\n")
    assert id_line == "id: 9" and text.endswith("\n\n")
    data = json.loads(data_line.removeprefix("data: "))
    assert data["state"] == "ready" and data["percent"] == 100
    assert data["outputs"]["prefix"] == f"videos/{video}/{task}/"


def test_the_event_saying_the_video_plays_early_says_so_in_its_frame_and_others_do_not() -> None:
    video, task = uuid.uuid4(), uuid.uuid4()
    event = progress_event(video, task, 4, VideoState.TRANSCODING)
    playable = PlayableOutputs(master_playlist_key=f"videos/{video}/{task}/master.m3u8", heights=[240])
    early = StreamEvent.from_progress(event.model_copy(update={"playable": playable}))
    data = json.loads(early.frame.decode().split("\n")[1].removeprefix("data: "))
    assert data["state"] == "transcoding" and data["playable"] == {
        "master_playlist_key": f"videos/{video}/{task}/master.m3u8",
        "heights": [240],
    }
    assert "playable" not in StreamEvent.from_progress(event).data()


def _stream(hub: Hub, video: uuid.UUID, opening: list[StreamEvent]) -> list[bytes]:
    subscriber, _ = hub.subscribe(video)
    return list(stream.events(subscriber, Opening(opening), heartbeat_seconds=0.01))


def test_a_stream_skips_events_already_sent_and_ends_after_ready() -> None:
    hub, video, task = Hub(buffer_size=10, max_videos=10, max_streams=10), uuid.uuid4(), uuid.uuid4()
    subscriber, _ = hub.subscribe(video)
    for sequence in (1, 2, 3):
        hub.publish(progress_event(video, task, sequence))
    hub.publish(progress_event(video, task, 4, VideoState.READY))
    hub.publish(progress_event(video, task, 5, VideoState.FAILED))
    texts = list(stream.events(subscriber, Opening([_transcoding(2)]), heartbeat_seconds=0.01))
    assert [t.split(b"\n")[0] for t in texts] == [b"id: 2", b"id: 3", b"id: 4"]


def test_an_opening_at_a_terminal_state_is_the_whole_stream() -> None:
    hub = Hub(buffer_size=10, max_videos=10, max_streams=10)
    failed = StreamEvent(VideoState.FAILED, 100, 3, error_reason="corrupt")
    assert _stream(hub, uuid.uuid4(), [failed]) == [failed.frame]


def test_an_idle_stream_sends_heartbeats_until_the_hub_closes() -> None:
    hub, video = Hub(buffer_size=10, max_videos=10, max_streams=10), uuid.uuid4()
    subscriber, _ = hub.subscribe(video)
    texts = stream.events(subscriber, Opening([QUEUED]), heartbeat_seconds=0.01)
    assert next(texts) == QUEUED.frame
    assert next(texts) == stream.HEARTBEAT
    hub.close()
    assert list(texts) == []


def test_an_event_is_formatted_once_and_every_stream_sends_the_same_bytes(monkeypatch: Any) -> None:
    """Fan-out: each stream re-serialising the event cost most of a popular video's CPU (bench/progress_fanout.py)."""
    hub, video, task = Hub(buffer_size=10, max_videos=10, max_streams=10), uuid.uuid4(), uuid.uuid4()
    subscribers = [hub.subscribe(video)[0] for _ in range(3)]
    serialised = []
    dumps = json.dumps
    monkeypatch.setattr(json, "dumps", lambda *a, **k: serialised.append(a) or dumps(*a, **k))
    hub.publish(progress_event(video, task, 1, VideoState.READY))
    sent = [list(stream.events(s, Opening([]), heartbeat_seconds=0.01)) for s in subscribers]
    assert len(serialised) == 1
    assert all(frames[0] is sent[0][0] for frames in sent) and sent[0][0].startswith(b"id: 1\n")


def test_a_stream_given_its_connection_sends_its_opening_then_the_hub_writes_its_live_events() -> None:
    hub, video, task = Hub(buffer_size=10, max_videos=10, max_streams=10), uuid.uuid4(), uuid.uuid4()
    subscriber, _ = hub.subscribe(video)
    connection = RecordedConnection()
    texts = stream.events(subscriber, Opening([QUEUED]), heartbeat_seconds=60, hub=hub, connection=connection)
    assert next(texts) == QUEUED.frame

    def publish_once_handed() -> None:
        while subscriber.connection is None:
            time.sleep(0.001)
        for sequence in (1, 2):
            hub.publish(progress_event(video, task, sequence))
        hub.publish(progress_event(video, task, 3, VideoState.READY))

    publisher = threading.Thread(target=publish_once_handed)
    publisher.start()
    assert list(texts) == []  # the hub wrote them all; the stream ended after ready
    publisher.join()
    assert connection.written == [1, 2, 3]


def test_a_stream_given_its_connection_gets_its_heartbeats_from_the_hub_not_a_timer_of_its_own() -> None:
    """10,000 idle streams each waking for its own heartbeat cost 10,000 greenlet wake-ups and
    writes per interval; the hub writes them all in one loop."""
    hub, video = Hub(buffer_size=10, max_videos=10, max_streams=10), uuid.uuid4()
    subscriber, _ = hub.subscribe(video)
    connection = RecordedConnection()
    texts = stream.events(
        subscriber, Opening([QUEUED]), heartbeat_seconds=0.01, hub=hub, connection=connection
    )
    assert next(texts) == QUEUED.frame

    def beat_once_handed_then_close() -> None:
        while subscriber.connection is None:
            time.sleep(0.001)
        time.sleep(0.05)  # five of the stream's heartbeat intervals: it must not write one itself
        hub.beat()
        hub.close()

    closer = threading.Thread(target=beat_once_handed_then_close)
    closer.start()
    assert list(texts) == []
    closer.join()
    assert connection.written == ["heartbeat"]
