"""Progress-service fixtures: real server processes on free ports, tickets, events on the topic, an SSE reader."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from app.contracts import tickets
from app.contracts.messages import ProgressEventV1, Rendition, TaskOutputs, VideoState
from app.contracts.names import ResourceNames
from app.local import moto_server
from app.local.provision import LocalResources, client, provision
from app.progress.hub import HEARTBEAT_CHUNK

REPO = Path(__file__).resolve().parents[3]
READ_TIMEOUT = 15  # a stream that stays silent this long is broken: heartbeats come every second or less


@dataclass(frozen=True)
class Event:
    id: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class Comment:
    """A comment line, such as a heartbeat."""

    text: str


class SseReader:
    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self._lines = response.iter_lines(decode_unicode=True)

    def frame(self) -> Event | Comment | None:
        """The next event or comment, or None when the server has ended the stream."""
        fields: dict[str, str] = {}
        for line in self._lines:
            if line.startswith(":"):
                return Comment(line[1:].strip())
            if line == "":
                if fields:
                    return Event(id=fields.get("id"), data=json.loads(fields["data"]))
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        return None

    def event(self) -> Event:
        """The next event, skipping comments; fails if the stream ends first."""
        while (frame := self.frame()) is not None:
            if isinstance(frame, Event):
                return frame
        raise AssertionError("the stream ended before the expected event")

    def rest(self) -> list[Event]:
        """Every event until the server ends the stream."""
        events = []
        while (frame := self.frame()) is not None:
            if isinstance(frame, Event):
                events.append(frame)
        return events

    def close(self) -> None:
        self.response.close()


@dataclass
class ProgressProcess:
    process: subprocess.Popen[bytes]
    url: str
    instance_id: str
    queue_name: str

    def connect(self, video_id: uuid.UUID, ticket: str, last_event_id: int | None = None) -> SseReader:
        headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
        response = requests.get(
            f"{self.url}/events/videos/{video_id}",
            params={"ticket": ticket},
            headers=headers,
            stream=True,
            timeout=(5, READ_TIMEOUT),
        )
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/event-stream")
        return SseReader(response)

    def readiness(self) -> dict[str, Any]:
        body: dict[str, Any] = requests.get(f"{self.url}/events/health/ready", timeout=5).json()
        return body

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(30)


@pytest.fixture(scope="module")
def local_resources(moto_endpoint: str) -> LocalResources:
    """One provisioned set per test module (overrides the per-test one): servers here share the topic."""
    return provision(ResourceNames(f"t{uuid.uuid4().hex[:12]}"), moto_endpoint)


def _start(resources: LocalResources, **overrides: str) -> ProgressProcess:
    instance_id = overrides.pop("instance_id", f"i-{uuid.uuid4().hex[:10]}")
    overrides.setdefault("heartbeat_seconds", "1")
    env = {**os.environ, **resources.env_for("progress", instance_id=instance_id, **overrides)}
    port = moto_server.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "progress", "--bind", f"127.0.0.1:{port}"], env=env, cwd=REPO
    )
    server = ProgressProcess(process, f"http://127.0.0.1:{port}", instance_id, queue_name="")
    try:
        moto_server.wait_for_http(f"{server.url}/events/health/live", process=process)
        server.queue_name = server.readiness()["queue"]  # this boot's name: the server chose it
    except BaseException:
        _stop(server)
        raise
    return server


def _stop(server: ProgressProcess) -> None:
    if server.process.poll() is None:
        # SIGINT is gunicorn's quick clean stop (the worker still removes its queue);
        # SIGTERM waits on its one-second loop, and both are tested for themselves.
        server.stop(signal.SIGINT)


@pytest.fixture
def start_progress(local_resources: LocalResources) -> Iterator[Callable[..., ProgressProcess]]:
    """Starts `reelstack progress` processes (settings overrides as keyword arguments); stops them after."""
    started: list[ProgressProcess] = []

    def start(**overrides: str) -> ProgressProcess:
        server = _start(local_resources, **overrides)
        started.append(server)
        return server

    yield start
    for server in started:
        _stop(server)


@pytest.fixture(scope="module")
def progress(local_resources: LocalResources) -> Iterator[ProgressProcess]:
    """One server shared by the tests of a module that need no settings of their own (each its own videos)."""
    server = _start(local_resources, heartbeat_seconds="0.2")
    yield server
    _stop(server)


@pytest.fixture
def ticket_key(local_resources: LocalResources) -> bytes:
    return tickets.load_key(
        client("secretsmanager", local_resources.endpoint_url), local_resources.ticket_secret_arn
    )


@pytest.fixture
def issue(ticket_key: bytes) -> Callable[..., str]:
    """An events ticket for a video; its snapshot is the backend's before any event unless given."""

    def issue(video_id: uuid.UUID, ttl_seconds: int = 60, **snapshot: Any) -> str:
        state = {"state": "queued", "percent": 0, "sequence": -1, **snapshot}
        return tickets.issue_events_ticket(
            ticket_key, user_id="user-1", video_id=video_id, snapshot=state, ttl_seconds=ttl_seconds
        )

    return issue


def outputs(video_id: uuid.UUID, task_id: uuid.UUID) -> TaskOutputs:
    prefix = tickets.media_key_prefix(video_id, task_id)
    return TaskOutputs(
        prefix=prefix,
        master_playlist_key=prefix + "master.m3u8",
        thumbnail_key=prefix + "poster.jpg",
        duration_seconds=10.0,
        renditions=[
            Rendition(height=720, width=1280, bandwidth=3_000_000, playlist_key=prefix + "720p.m3u8")
        ],
    )


def progress_event(
    video_id: uuid.UUID, task_id: uuid.UUID, sequence: int, state: VideoState = VideoState.TRANSCODING
) -> ProgressEventV1:
    """The ``sequence``-th event of a task: transcoding at 10 % per step, or its end."""
    return ProgressEventV1(
        task_id=task_id,
        video_id=video_id,
        state=state,
        percent=100 if state.terminal else min(100, sequence * 10),
        sequence=sequence,
        outputs=outputs(video_id, task_id) if state == VideoState.READY else None,
        error_reason="the source is not a video" if state == VideoState.FAILED else None,
    )


@pytest.fixture
def publish(local_resources: LocalResources) -> Callable[[ProgressEventV1], None]:
    """Publishes an event to the progress topic as the transcoder does (the raw JSON body)."""
    sns = client("sns", local_resources.endpoint_url)

    def publish(event: ProgressEventV1) -> None:
        sns.publish(TopicArn=local_resources.progress_topic_arn, Message=event.model_dump_json())

    return publish


class RecordedConnection:
    """A stream's connection that records what the hub writes to it; it takes the first
    ``takes`` chunks at once and keeps the others for ``flush`` (a socket that filled up)."""

    def __init__(self, takes: int = 1_000_000) -> None:
        self.takes = takes
        self.written: list[int | str] = []
        """What reached the client, in order: each event's sequence, or "heartbeat"."""
        self.kept: list[int | str] = []

    def write_now(self, chunk: bytes) -> bool:
        said = "heartbeat" if chunk == HEARTBEAT_CHUNK else int(chunk.split(b"\nid: ")[1].split(b"\n")[0])
        if self.kept or len(self.written) >= self.takes:
            self.kept.append(said)
            return False
        self.written.append(said)
        return True

    def flush(self) -> None:
        self.written += self.kept
        self.kept = []
