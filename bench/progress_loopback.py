"""Progress fan-out over loopback: one progress process holding N SSE streams of one video, N stepped
up to 10,000, with the publish-to-client latency of every event at every stream.

The server is the service's app under its gevent worker (``bench._progress_server``), its
streams opened with real tickets and connected to it directly (the local gateway in front of it
is one worker of 1,000 connections, which would be what such a benchmark measured). Each event
is handed to the hub as the poller hands it each SQS message; the clock starts when the
publish request is sent and stops when a stream has read the event's frame.

The streams are read by ``CLIENT_PROCESSES`` processes, each holding its share of the sockets
under one epoll with raw non-blocking reads, each read timestamped as it returns: the leanest
client Python makes, because clients and server share this machine's two cores and the
clients' reading is part of every figure. The top step is measured a second time against
``bench._floor_server``, which does nothing but write each frame to every socket in one loop:
what the clients and the machine cost by themselves.

    .venv/bin/python -m bench.progress_loopback [--quick]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import re
import secrets
import selectors
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from app.contracts.messages import ProgressEventV1, VideoState
from app.contracts.tickets import issue_events_ticket
from app.local.moto_server import free_port, wait_for_http
from bench._report import Goal, Row, table

BENCHMARK = "4 progress fan-out"
GOAL = Goal("<=", 250)
FULL_STEPS = (1, 100, 1000, 3000, 10_000)
QUICK_STEPS = (1, 50, 200)
CONNECT_TIMEOUT_SECONDS = 120.0
CONNECT_WAVE = 250
DRAIN_SECONDS = 30.0
CLIENT_PROCESSES = 2
PUBLISH_PATH = "/bench/publish"


@dataclass(frozen=True)
class Step:
    streams: int
    connected: int
    events: int
    delivered: int
    """Frames read, of ``events`` x ``connected``."""
    latencies_ms: list[float]
    per_event_p95_ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.latencies_ms, n=20)[-1]


ID_LINE = re.compile(rb"\nid: ([0-9]+)\n")
"""A frame's id line: the chunk-size line before it ends in CRLF, the frame's data line follows."""


def _open_streams(port: int, path: str, count: int) -> tuple[dict[int, socket.socket], dict[int, bytes]]:
    """``count`` streams whose response head said 200, by descriptor, with what followed each head.

    Connected in waves, each wave's heads read before the next one connects, so the server's
    accept queue never overflows (an overflow costs a SYN retry of a second or more)."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    opened: dict[int, socket.socket] = {}
    after_head: dict[int, bytes] = {}
    with selectors.DefaultSelector() as selector:
        for first in range(0, count, CONNECT_WAVE):
            heads: dict[int, bytes] = {}
            for _ in range(first, min(count, first + CONNECT_WAVE)):
                sock = socket.create_connection(("127.0.0.1", port))
                sock.sendall(request)
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ, sock)
                heads[sock.fileno()] = b""
            deadline = time.monotonic() + CONNECT_TIMEOUT_SECONDS
            while heads and time.monotonic() < deadline:
                for key, _ in selector.select(0.5):
                    sock = key.data
                    data = sock.recv(65536)
                    received = heads.pop(sock.fileno()) + data
                    end = received.find(b"\r\n\r\n")
                    if end < 0 and data:
                        heads[sock.fileno()] = received
                        continue
                    selector.unregister(sock)
                    if received[9:12] == b"200":
                        opened[sock.fileno()] = sock
                        after_head[sock.fileno()] = received[end + 4 :]
                    else:
                        sock.close()
            if heads:
                break  # this wave did not open in time: the next would fare no better
    return opened, after_head


def _read_streams(port: int, path: str, count: int, events: int, control: Connection) -> None:
    """One client process: opens ``count`` streams, says how many opened, then reads every frame.

    Raw non-blocking sockets under one epoll: each recv is timestamped as it returns and every
    complete frame in it (ending in a blank line) with a wanted id counts as arrived at that
    instant. Sends back, per event, the arrival time at each stream that got it."""
    opened, pending = _open_streams(port, path, count)
    control.send(len(opened))
    arrivals: dict[int, list[float]] = {sequence: [] for sequence in range(events)}
    seen = {fd: set[int]() for fd in opened}
    deadline = math.inf
    with selectors.DefaultSelector() as selector:
        for sock in opened.values():
            selector.register(sock, selectors.EVENT_READ, sock)
        selector.register(control, selectors.EVENT_READ, None)
        unfinished = len(opened)
        while unfinished and time.monotonic() < deadline:
            for key, _ in selector.select(0.5):
                if key.data is None:
                    control.recv()  # publishing ended: what has not come by the drain deadline never will
                    selector.unregister(control)
                    deadline = time.monotonic() + DRAIN_SECONDS
                    continue
                sock = key.data
                fd = sock.fileno()
                try:
                    data = sock.recv(65536)
                except ConnectionError:
                    data = b""
                now = time.monotonic()
                if not data:
                    selector.unregister(sock)
                    unfinished -= len(seen[fd]) < events
                    continue
                received = pending[fd] + data
                end = received.rfind(b"\n\n")
                if end < 0:
                    pending[fd] = received
                    continue
                pending[fd] = received[end + 2 :]
                stream_seen = seen[fd]
                for match in ID_LINE.finditer(received, 0, end + 1):
                    sequence = int(match[1])
                    if sequence < events and sequence not in stream_seen:
                        stream_seen.add(sequence)
                        arrivals[sequence].append(now)
                        if len(stream_seen) == events:
                            unfinished -= 1
        if deadline == math.inf:
            control.recv()  # every frame came before publishing ended
    for sock in opened.values():
        sock.close()
    control.send(arrivals)


def _publish(port: int, body: bytes) -> None:
    head = f"POST {PUBLISH_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head.encode() + body)
        while sock.recv(4096):
            pass


def _event_body(video_id: uuid.UUID, task_id: uuid.UUID, sequence: int, events: int) -> bytes:
    return (
        ProgressEventV1(
            task_id=task_id,
            video_id=video_id,
            state=VideoState.TRANSCODING,  # a ready event would end the streams (and needs outputs)
            percent=min(100.0, 100.0 * sequence / max(1, events - 1)),
            sequence=sequence,
        )
        .model_dump_json()
        .encode()
    )


def _step(port: int, key: bytes, streams: int, events: int, spacing: float, clients: int) -> Step:
    video_id, task_id = uuid.uuid4(), uuid.uuid4()
    ticket = issue_events_ticket(
        key,
        user_id="bench",
        video_id=video_id,
        snapshot={"state": "queued", "percent": 0, "sequence": -1},
        ttl_seconds=3600,
    )
    path = f"/events/videos/{video_id}?ticket={ticket}"
    shares = [
        share for share in (streams // clients + (i < streams % clients) for i in range(clients)) if share
    ]
    context = multiprocessing.get_context("fork")
    controls, readers = [], []
    try:
        for share in shares:
            control, theirs = context.Pipe()
            reader = context.Process(
                target=_read_streams, args=(port, path, share, events, theirs), daemon=True
            )
            reader.start()
            controls.append(control)
            readers.append(reader)
        connected = sum(control.recv() for control in controls)
        sent: dict[int, float] = {}
        for sequence in range(events):
            body = _event_body(video_id, task_id, sequence, events)
            sent[sequence] = time.monotonic()
            _publish(port, body)
            time.sleep(spacing)
        for control in controls:
            control.send(None)
        arrivals = [control.recv() for control in controls]
    finally:
        for reader in readers:
            reader.join(DRAIN_SECONDS + 10)
            if reader.is_alive():
                reader.kill()
    per_event = {s: [(t - sent[s]) * 1000 for part in arrivals for t in part[s]] for s in sent}
    latencies = [v for values in per_event.values() for v in values]
    return Step(
        streams=streams,
        connected=connected,
        events=events,
        delivered=len(latencies),
        latencies_ms=latencies,
        per_event_p95_ms=[
            statistics.quantiles(v, n=20)[-1] if len(v) > 1 else v[0] for v in per_event.values() if v
        ],
    )


def run_steps(steps: tuple[int, ...], events: int, spacing: float, *, floor: bool = False) -> list[Step]:
    """Each step against one progress process (``floor``: against the floor server instead)."""
    key = secrets.token_bytes(32)
    port = free_port()
    bind = f"127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "bench._floor_server", bind]
        if floor
        else [sys.executable, "-m", "bench._progress_server", bind, key.hex(), str(max(steps))],
        env=os.environ,
    )
    try:
        wait_for_http(f"http://{bind}/events/health/live", timeout=60, process=server)
        # The first event a process parses pays for its imports and caches: not the first step's figure.
        _publish(port, _event_body(uuid.uuid4(), uuid.uuid4(), 0, 1))
        results = []
        for streams in steps:
            step = _step(port, key, streams, events, spacing, CLIENT_PROCESSES)
            results.append(step)
            if step.connected < streams:
                break  # the next step would only fail the same way, later
        return results
    finally:
        server.terminate()
        server.wait(30)


def _shown(step: Step) -> str:
    return (
        f"{step.connected}/{step.streams} streams: p50 {step.p50:.0f} ms p95 {step.p95:.0f} ms, "
        f"{step.delivered}/{step.events * step.streams} frames"
    )


def _details(step: Step) -> dict[str, Any]:
    return {
        "streams": step.streams,
        "connected": step.connected,
        "events": step.events,
        "delivered": step.delivered,
        "p50_ms": round(step.p50, 2),
        "p95_ms": round(step.p95, 2),
    }


def measure(*, quick: bool) -> list[Row]:
    events = 5 if quick else 10
    steps = run_steps(QUICK_STEPS if quick else FULL_STEPS, events=events, spacing=0.3)
    single, top = steps[0], steps[-1]
    (floor,) = run_steps((top.streams,), events=events, spacing=0.3, floor=True)
    complete = all(s.connected == s.streams and s.delivered == s.events * s.streams for s in steps)
    return [
        Row(
            BENCHMARK,
            f"p95 publish-to-client latency at {top.streams} streams (per event)",
            GOAL,
            top.per_event_p95_ms,
            unit=" ms",
            note=("every event delivered" if complete else "NOT every event delivered")
            + f"; p95 {top.p95 / single.p95:.1f}x one stream's; "
            + "; ".join(_shown(s) for s in steps)
            + f"; the clients alone (floor server, {CLIENT_PROCESSES} client processes): {_shown(floor)}",
            details={
                "client_processes": CLIENT_PROCESSES,
                "steps": [_details(s) for s in steps],
                "floor": _details(floor),
            },
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(table(measure(quick=args.quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
