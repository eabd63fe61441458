"""Chaos: a progress instance SIGKILLed mid-stream; its client resumes on another with Last-Event-ID.

Each instance reads its own queue on the topic (ARCHITECTURE.md fix 1) and keeps a replay
buffer, so a client that loses its instance reconnects anywhere, with a fresh ticket and the
id of the last event it saw, and misses nothing of its video's task.
"""

from __future__ import annotations

import os
import random
import signal
import uuid
from collections.abc import Callable

import pytest
import requests

from app.contracts.messages import ProgressEventV1, VideoState
from tests.app.progress import conftest as progress_fixtures
from tests.app.progress.conftest import Event, ProgressProcess, SseReader, progress_event
from tests.support.processes import children

pytestmark = pytest.mark.chaos

SEED = int(os.environ.get("REELSTACK_CHAOS_SEED", "20261126"))

# The progress tests' fixtures: one provisioned set per module, server processes, tickets, the topic.
local_resources = progress_fixtures.local_resources
start_progress = progress_fixtures.start_progress
ticket_key = progress_fixtures.ticket_key
issue = progress_fixtures.issue
publish = progress_fixtures.publish


def _kill_instance(server: ProgressProcess) -> None:
    """SIGKILL the gunicorn master and its worker at once, as when the machine dies."""
    workers = children(server.process.pid)
    assert workers, "the progress instance has no worker process"
    for pid in [server.process.pid, *workers]:
        os.kill(pid, signal.SIGKILL)
    server.process.wait()


def _until_cut(reader: SseReader) -> list[Event]:
    """Events still readable from a stream whose server died, until the connection ends."""
    events: list[Event] = []
    try:
        while (frame := reader.frame()) is not None:
            if isinstance(frame, Event):
                events.append(frame)
    except requests.RequestException:
        pass  # the connection was cut rather than ended: what a dead server looks like
    return events


def test_a_client_whose_instance_is_killed_mid_stream_resumes_on_another_and_misses_no_event(
    start_progress: Callable[..., ProgressProcess],
    issue: Callable[..., str],
    publish: Callable[[ProgressEventV1], None],
) -> None:
    print(f"chaos seed {SEED} (rerun with REELSTACK_CHAOS_SEED={SEED})")  # shown with any failure
    rng = random.Random(SEED)
    last = rng.randint(8, 16)  # the ready event's sequence; transcoding events before it
    published_before_kill = rng.randint(3, last - 3)
    read_before_kill = rng.randint(1, published_before_kill)
    published_while_down = rng.randint(1, last - published_before_kill - 1)
    plan = f"seed {SEED}: {published_before_kill} published, {read_before_kill} read, then a kill"
    a, b = start_progress(), start_progress()
    video, task = uuid.uuid4(), uuid.uuid4()
    events = [progress_event(video, task, n) for n in range(1, last)]
    events.append(progress_event(video, task, last, VideoState.READY))

    reader = a.connect(video, issue(video))
    assert reader.event().id is None, plan  # the ticket's snapshot opens the stream
    for event in events[:published_before_kill]:
        publish(event)
    seen = [reader.event() for _ in range(read_before_kill)]
    _kill_instance(a)
    seen += _until_cut(reader)
    reader.close()

    for event in events[published_before_kill : published_before_kill + published_while_down]:
        publish(event)
    # A fresh ticket carries what the backend recorded meanwhile: the newest event published.
    newest = events[published_before_kill + published_while_down - 1]
    ticket = issue(video, state=newest.state.value, percent=newest.percent, sequence=newest.sequence)
    assert seen[-1].id is not None, plan
    resumed = b.connect(video, ticket, last_event_id=int(seen[-1].id))
    for event in events[published_before_kill + published_while_down :]:
        publish(event)
    seen += resumed.rest()

    assert [e.id for e in seen] == [str(n) for n in range(1, last + 1)], plan
    assert [e.data["sequence"] for e in seen] == list(range(1, last + 1)), plan
    assert seen[-1].data["state"] == "ready", plan
