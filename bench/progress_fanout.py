"""Progress fan-out: one video watched by M streams vs M videos watched by one stream each.

Both variants deliver the same number of SSE frames (N events x M streams) through the
product's own code, in-process: ``parse_progress`` of the raw SNS body and ``Hub.publish``
(what the poller does per SQS message), then every stream drained through
``stream.events`` (what each SSE response does). One video pays the per-message cost N
times and the per-stream cost N x M times; M videos pay both N x M times. Their ratio is
the share of a message's cost that fan-out amortises; the drain/receive ratio inside the
one-video variant is where a popular video spends its time. The last hub ratio drains the
one-video streams through ``stream.events`` or through their queues alone: what a stream
adds to taking events off its queue (the event's frame is formatted once, by whichever
stream sends it first, and shared by the others).

No SQS or SNS is in the measured path. To show that a benchmark through the local platform
would measure the emulator instead, the last ratio sets the emulator's cost per message
(SNS publish, SQS receive and delete on moto, as the poller receives) against the hub's,
measured side by side; ``--no-emulator`` skips it.

    .venv/bin/python -m bench.progress_fanout [--rounds 20] [--streams 200] [--no-emulator]
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Iterator
from typing import Any

from app.contracts.messages import ProgressEventV1, Rendition, TaskOutputs, VideoState, parse_progress
from app.local.moto_server import free_port, start_moto, stop
from app.local.provision import client
from app.progress.hub import Closed, Hub, StreamEvent, Subscriber
from app.progress.stream import Opening, events
from bench._compare import Costs, interleave, ratios, summary

# The service's defaults (ProgressSettings): replay buffer, buffered videos, streams per process.
BUFFER_SIZE = 256
MAX_VIDEOS = 10_000
MAX_STREAMS = 1_000


def task_bodies(video_id: uuid.UUID) -> list[str]:
    """The raw SNS bodies of one task as the transcoder emits them: queued, 1% steps, ready."""
    task_id = uuid.uuid4()
    outputs = TaskOutputs(
        prefix=f"videos/{video_id}/{task_id}/",
        master_playlist_key=f"videos/{video_id}/{task_id}/master.m3u8",
        thumbnail_key=f"videos/{video_id}/{task_id}/poster.jpg",
        duration_seconds=10.0,
        renditions=[
            Rendition(height=h, width=h * 16 // 9, bandwidth=h * 4000, playlist_key=f"{h}p/index.m3u8")
            for h in (720, 480, 360, 240)
        ],
    )
    steps: list[tuple[VideoState, float, TaskOutputs | None]] = [(VideoState.QUEUED, 0.0, None)]
    steps += [(VideoState.TRANSCODING, float(p), None) for p in range(100)]
    steps.append((VideoState.READY, 100.0, outputs))
    return [
        ProgressEventV1(
            task_id=task_id, video_id=video_id, state=state, percent=percent, sequence=seq, outputs=out
        ).model_dump_json()
        for seq, (state, percent, out) in enumerate(steps)
    ]


def round_robin(tasks: list[list[str]]) -> Iterator[str]:
    """The bodies of concurrent tasks interleaved, as they arrive when M videos transcode at once."""
    for step in zip(*tasks, strict=True):
        yield from step


def bare_events(subscriber: Subscriber) -> Iterator[StreamEvent]:
    """A stream's queued events without their SSE frames: the floor of a stream's cost."""
    while not isinstance(item := subscriber.next(0), Closed | None):
        yield item
        if item.state.terminal:
            return


def fan_out(videos: list[uuid.UUID], streams: int, *, framed: bool = True) -> Costs:
    """One task per video, interleaved; see ``fan_out_of``."""
    return fan_out_of(list(round_robin([task_bodies(v) for v in videos])), videos, streams, framed=framed)


def fan_out_of(bodies: list[str], videos: list[uuid.UUID], streams: int, *, framed: bool = True) -> Costs:
    """``streams`` subscribers spread evenly over ``videos``; ``bodies`` published, every stream drained.

    Drained through ``stream.events`` (each stream formats its own SSE frames), or with
    ``framed=False`` through the subscriber queues alone.
    """
    hub = Hub(buffer_size=BUFFER_SIZE, max_videos=MAX_VIDEOS, max_streams=MAX_STREAMS)
    subscribers: list[Subscriber] = [hub.subscribe(videos[i % len(videos)])[0] for i in range(streams)]

    started = time.perf_counter()
    for body in bodies:
        hub.publish(parse_progress(body))
    received = time.perf_counter()
    drain = (lambda s: events(s, Opening([]), heartbeat_seconds=15.0)) if framed else bare_events
    frames = sum(1 for s in subscribers for _ in drain(s))
    drained = time.perf_counter()

    expected = len(bodies) * streams // len(videos)
    if frames != expected:
        raise SystemExit(f"{frames} frames delivered, {expected} expected: a stream was cut short")
    return {"receive": received - started, "drain": drained - received, "total": drained - started}


def through_emulator(sns: Any, sqs: Any, topic_arn: str, queue_url: str, bodies: list[str]) -> Costs:
    """Seconds per message from SNS publish to SQS delete on moto: the leg before ``Hub.publish``."""
    started = time.perf_counter()
    for body in bodies:
        sns.publish(TopicArn=topic_arn, Message=body)
    received = 0
    while received < len(bodies):
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        batch = messages.get("Messages", [])
        if batch:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        received += len(batch)
    return {"per_message": (time.perf_counter() - started) / len(bodies)}


def in_hub(bodies: list[str]) -> Costs:
    """Seconds per message for parse, publish to one stream and its frame: the leg after the queue."""
    video_id = ProgressEventV1.model_validate_json(bodies[0]).video_id
    started = time.perf_counter()
    fan_out_of(bodies, [video_id], 1)
    return {"per_message": (time.perf_counter() - started) / len(bodies)}


def emulator_ratio(rounds: int) -> list[float]:
    process, endpoint = start_moto(free_port())
    try:
        sns, sqs = client("sns", endpoint), client("sqs", endpoint)
        topic_arn = sns.create_topic(Name="bench-progress")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="bench-progress")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
        )
        bodies = task_bodies(uuid.uuid4())  # whole: a stream ends at ready
        pairs = interleave(
            lambda: in_hub(bodies),
            lambda: through_emulator(sns, sqs, topic_arn, queue_url, bodies),
            rounds,
        )
        return ratios(pairs, "per_message")
    finally:
        stop(process)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--streams", type=int, default=200, help=f"M, at most {MAX_STREAMS}")
    parser.add_argument("--no-emulator", action="store_true", help="skip the emulator comparison")
    args = parser.parse_args()
    m = args.streams
    events_per_task = len(task_bodies(uuid.uuid4()))
    print(f"{events_per_task} events per task, {m} streams, {events_per_task * m} frames per variant")

    pairs = interleave(
        lambda: fan_out([uuid.uuid4()], m),
        lambda: fan_out([uuid.uuid4() for _ in range(m)], m),
        args.rounds,
    )
    print(f"M videos / one video, total:              {summary(ratios(pairs, 'total'))}")
    print(f"M videos / one video, receive phase:      {summary(ratios(pairs, 'receive'))}")
    print(f"M videos / one video, drain phase:        {summary(ratios(pairs, 'drain'))}")
    print(
        f"one video, drain / receive:               {summary([a['drain'] / a['receive'] for a, _ in pairs])}"
    )
    framing = interleave(
        lambda: fan_out([uuid.uuid4()], m, framed=False), lambda: fan_out([uuid.uuid4()], m), args.rounds
    )
    print(f"one video, drain by streams / by queues:  {summary(ratios(framing, 'drain'))}")
    if not args.no_emulator:
        print(f"moto SNS->SQS / hub, per message:         {summary(emulator_ratio(3))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
