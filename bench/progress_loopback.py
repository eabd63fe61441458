"""Progress fan-out over loopback: one progress process holding N SSE streams of one video, N stepped
up to 10,000, with the publish-to-client latency of every event at every stream.

The server is the service's app under its gevent worker (``bench._progress_server``), its
streams opened with real tickets and connected to it directly (the local gateway in front of it
is one worker of 1,000 connections, which would be what such a benchmark measured). Each event
is handed to the hub as the poller hands it each SQS message; the clock starts when the
publish request is sent and stops when a stream has read the event's frame. Clients and
server share this machine's two cores, so the clients' own reading is part of every figure.

    .venv/bin/python -m bench.progress_loopback [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
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


async def _stream(
    port: int,
    path: str,
    connected: asyncio.Event,
    wanted: set[int],
    arrivals: dict[int, list[float]],
    ready: list[int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if head[9:12] != b"200":
            return
        ready.append(1)
        await connected.wait()
        seen = 0
        while seen < len(wanted):
            frame = await reader.readuntil(b"\n\n")
            for line in frame.split(b"\n"):
                if line.startswith(b"id:"):
                    sequence = int(line[3:])
                    if sequence in wanted:
                        arrivals[sequence].append(time.monotonic())
                        seen += 1
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _publish(port: int, body: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST {PUBLISH_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    await reader.read()
    writer.close()


async def _step(port: int, key: bytes, streams: int, events: int, spacing: float) -> Step:
    video_id, task_id = uuid.uuid4(), uuid.uuid4()
    ticket = issue_events_ticket(
        key,
        user_id="bench",
        video_id=video_id,
        snapshot={"state": "queued", "percent": 0, "sequence": -1},
        ttl_seconds=3600,
    )
    path = f"/events/videos/{video_id}?ticket={ticket}"
    wanted = set(range(events))
    arrivals: dict[int, list[float]] = {s: [] for s in wanted}
    connected, ready = asyncio.Event(), list[int]()
    tasks = []
    for index in range(streams):
        tasks.append(asyncio.create_task(_stream(port, path, connected, wanted, arrivals, ready)))
        if index % 200 == 199:
            await asyncio.sleep(0.05)  # the accept queue is finite: connect in waves
    deadline = time.monotonic() + CONNECT_TIMEOUT_SECONDS
    while len(ready) < streams and time.monotonic() < deadline and not all(t.done() for t in tasks):
        await asyncio.sleep(0.1)
    connected.set()
    sent: dict[int, float] = {}
    for sequence in range(events):
        body = (
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
        sent[sequence] = time.monotonic()
        await _publish(port, body)
        await asyncio.sleep(spacing)
    await asyncio.wait(tasks, timeout=30)
    for task in tasks:
        task.cancel()
    per_event = {s: [(t - sent[s]) * 1000 for t in arrivals[s]] for s in wanted}
    latencies = [v for values in per_event.values() for v in values]
    return Step(
        streams=streams,
        connected=len(ready),
        events=events,
        delivered=len(latencies),
        latencies_ms=latencies,
        per_event_p95_ms=[
            statistics.quantiles(v, n=20)[-1] if len(v) > 1 else v[0] for v in per_event.values() if v
        ],
    )


def run_steps(steps: tuple[int, ...], events: int, spacing: float) -> list[Step]:
    key = secrets.token_bytes(32)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench._progress_server", f"127.0.0.1:{port}", key.hex(), str(max(steps))],
        env=os.environ,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/events/health/live", timeout=60, process=server)
        results = []
        for streams in steps:
            step = asyncio.run(_step(port, key, streams, events, spacing))
            results.append(step)
            if step.connected < streams:
                break  # the next step would only fail the same way, later
        return results
    finally:
        server.terminate()
        server.wait(30)


def measure(*, quick: bool) -> list[Row]:
    steps = run_steps(QUICK_STEPS if quick else FULL_STEPS, events=5 if quick else 10, spacing=0.3)
    single, top = steps[0], steps[-1]
    complete = all(s.connected == s.streams and s.delivered == s.events * s.streams for s in steps)
    shown = "; ".join(
        f"{s.connected}/{s.streams} streams: p50 {s.p50:.0f} ms p95 {s.p95:.0f} ms, {s.delivered}/{s.events * s.streams} frames"
        for s in steps
    )
    details: dict[str, Any] = {
        "steps": [
            {
                "streams": s.streams,
                "connected": s.connected,
                "events": s.events,
                "delivered": s.delivered,
                "p50_ms": round(s.p50, 2),
                "p95_ms": round(s.p95, 2),
            }
            for s in steps
        ]
    }
    return [
        Row(
            BENCHMARK,
            f"p95 publish-to-client latency at {top.streams} streams (per event)",
            GOAL,
            top.per_event_p95_ms,
            unit=" ms",
            note=("every event delivered" if complete else "NOT every event delivered")
            + f"; p95 {top.p95 / single.p95:.1f}x one stream's; {shown}",
            details=details,
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
