"""``reelstack status-consumer``: records the transcoder's progress events in the database.

receive (long poll) → parse ProgressEventV1 → record (idempotent) → commit → announce a
ready or failed video on the video events topic → delete. A message whose announcement failed
comes back and is announced again (integrators drop the repeat by its event id).
An unparseable message is logged and left alone: after the status queue's
``maxReceiveCount`` receives it moves to the DLQ. SIGTERM finishes the current batch.

The same process delivers the video events to users' webhooks, in a thread of its own
(``app/backend/webhook_delivery.py``), so a slow receiver never holds up the status queue.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import CursorResult, and_, or_, update
from sqlalchemy.orm import Session, sessionmaker

from app.backend import captions, video_events
from app.backend.aws import AwsClients
from app.backend.db import database_engine, session_factory
from app.backend.models import Video, utcnow
from app.backend.polling import poll_until_stopped
from app.backend.videos import delete_objects, delete_prefix, media_prefix
from app.backend.webhook_delivery import RetryPolicy, WebhookDeliverer
from app.contracts import logs
from app.contracts.messages import (
    ProgressEventV1,
    TranscodeUsage,
    VideoState,
    parse_progress,
    redrive_start,
)
from app.contracts.names import caption_key_prefix, poster_key_prefix
from app.contracts.settings import BackendSettings, load
from app.contracts.tickets import media_key_prefix

log = logging.getLogger(__name__)

_TERMINAL = (VideoState.READY, VideoState.FAILED)


def usage_columns(usage: TranscodeUsage | None) -> dict[str, Any]:
    """The videos columns of a transcode's usage; all null for a worker that reports none, so a
    retried video never keeps the usage of outputs it no longer has."""
    return {
        "transcode_cpu_seconds": usage.cpu_seconds if usage else None,
        "transcode_instance_type": usage.instance_type if usage else None,
        "transcode_purchase_option": usage.purchase_option if usage else None,
        "transcode_bytes_written": usage.bytes_written if usage else None,
        "transcode_bytes_stored": usage.bytes_stored if usage else None,
    }


def record_event(session: Session, event: ProgressEventV1, also: dict[str, Any] | None = None) -> bool:
    """Apply ``event`` if it is news: of the video's current task, newer than the last recorded
    one, and the video not yet finished, or failed in a run before the event's redrive (an
    operator's ``reelstack redrive`` gives a dead-lettered task another run). One conditional
    UPDATE, so duplicates, reordering and concurrent consumers can never move a video backwards;
    it sets ``also`` too (the captions published over a ready event's outputs).
    Returns whether it applied.
    """
    values: dict[str, Any] = {
        "status": VideoState(event.state),
        "progress": 100.0 if event.state == VideoState.READY else event.percent,
        "last_sequence": event.sequence,
        "updated_at": utcnow(),
    }
    if event.outputs is not None:
        values |= {
            "duration_seconds": event.outputs.duration_seconds,
            "renditions": [r.model_dump(mode="json") for r in event.outputs.renditions],
            "thumbnail_key": event.outputs.thumbnail_key,
            "master_playlist_key": event.outputs.master_playlist_key,
            "storyboard_key": event.outputs.storyboard.vtt_key if event.outputs.storyboard else None,
            **usage_columns(event.outputs.usage),
            "thumbnail_candidates": event.outputs.thumbnail_candidates,
            "download_key": event.outputs.download_key,
        }
    if event.playable is not None:
        # Plays while it transcodes (the worker's progressive publishing); the ready event's
        # outputs name the same key, with the whole ladder behind it.
        values["master_playlist_key"] = event.playable.master_playlist_key
    if event.error_reason:
        values["error_reason"] = event.error_reason
    values |= also or {}
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Video)
        .where(
            Video.id == event.video_id,
            Video.task_id == event.task_id,
            Video.last_sequence < event.sequence,
            or_(
                Video.status.not_in(_TERMINAL),
                and_(Video.status == VideoState.FAILED, Video.last_sequence < redrive_start(event.sequence)),
            ),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1


def discard_orphan_outputs(session: Session, s3: Any, media_bucket: str, event: ProgressEventV1) -> bool:
    """Delete the outputs of a task nothing will ever point at: its video was deleted while it
    transcoded, or was retried under another task meanwhile (an operator's redrive of an old task).

    The key prefix is derived from the event's ids, never read from the message, so no
    other video's objects can be named. Returns whether there was a task to clean up after.
    """
    if event.state != VideoState.READY:
        return False
    video = session.get(Video, event.video_id)
    if video is not None and video.task_id == event.task_id:
        return False
    delete_prefix(s3, media_bucket, media_key_prefix(event.video_id, event.task_id))
    log.info(
        "deleted the outputs of a deleted video or a superseded task",
        extra={"video_id": event.video_id, "task_id": event.task_id},
    )
    return True


def discard_superseded_outputs(s3: Any, media_bucket: str, event: ProgressEventV1) -> None:
    """Once a task of a video is recorded ready, delete every other task's outputs of that video:
    an earlier run's, replaced by this one (``reelstack retranscode``), or a failed run's leftovers.
    The video's caption tracks and the poster its owner uploaded belong to no task and stay. The
    prefixes are derived from the event's ids, never read from the message."""
    kept = (
        media_key_prefix(event.video_id, event.task_id),
        caption_key_prefix(event.video_id),
        poster_key_prefix(event.video_id),
    )
    for listing in s3.get_paginator("list_objects_v2").paginate(
        Bucket=media_bucket, Prefix=media_prefix(event.video_id)
    ):
        stale = [{"Key": o["Key"]} for o in listing.get("Contents", []) if not o["Key"].startswith(kept)]
        if stale:
            delete_objects(s3, media_bucket, stale)
            log.info(
                "deleted %d outputs of the video's earlier tasks",
                len(stale),
                extra={"video_id": event.video_id, "task_id": event.task_id},
            )


class StatusConsumer:
    """Long-polls the status queue and records each event; ``run`` until ``stop`` is set."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        sessions: sessionmaker[Session],
        *,
        s3: Any,
        media_bucket: str,
        sns: Any,
        video_events_topic_arn: str,
        wait_seconds: int = 10,
        retry_seconds: float = 5.0,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.sessions = sessions
        self.s3 = s3
        self.media_bucket = media_bucket
        self.sns = sns
        self.video_events_topic_arn = video_events_topic_arn
        self.wait_seconds = wait_seconds
        self.retry_seconds = retry_seconds

    def poll_once(self) -> int:
        """One receive and its batch; returns how many messages were recorded and deleted."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=self.wait_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        done = 0
        for message in messages:
            try:
                event = parse_progress(message["Body"])
            except ValidationError as exc:
                log.error(
                    "unparseable status message left for the DLQ: %s",
                    exc.errors(include_url=False, include_input=False)[:3],
                )
                continue
            with self.sessions() as session:
                captioned = (
                    captions.publish_for_ready(session, self.s3, self.media_bucket, event)
                    if event.state == VideoState.READY
                    else None
                )
                applied = record_event(session, event, captioned.columns if captioned else None)
                if captioned:
                    captions.settle_ready(self.s3, self.media_bucket, captioned, applied)
                if applied and event.state == VideoState.READY:
                    captions.publish_after_ready(
                        session, self.s3, self.media_bucket, event.video_id, captioned
                    )
                orphaned = not applied and discard_orphan_outputs(session, self.s3, self.media_bucket, event)
                if event.state == VideoState.READY and not orphaned:
                    # Again on a repeat: a deletion cut short by a failure is finished then.
                    discard_superseded_outputs(self.s3, self.media_bucket, event)
                redelivered = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1")) > 1
                if applied or redelivered:
                    self._announce(session, event)
            log.info(
                "event %s %s #%d %s",
                event.state,
                f"{event.percent:.0f}%",
                event.sequence,
                "recorded" if applied else "ignored (stale, duplicate or unknown)",
                extra={"video_id": event.video_id, "task_id": event.task_id},
            )
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            done += 1
        return done

    def _announce(self, session: Session, event: ProgressEventV1) -> None:
        """Publish the video event ``event`` is, if it is the video's recorded outcome."""
        video = session.get(Video, event.video_id)
        if video is None or video.task_id != event.task_id or video.last_sequence != event.sequence:
            return
        announced = video_events.outcome(video, event)
        if announced is not None:
            video_events.publish(self.sns, self.video_events_topic_arn, announced)
            log.info("announced %s", announced.type, extra={"video_id": video.id, "task_id": event.task_id})

    def run(self, stop: threading.Event) -> None:
        poll_until_stopped(self.poll_once, stop, self.retry_seconds, "receive or record events", log)


class _Loop(Protocol):
    def run(self, stop: threading.Event) -> None: ...


def run_both(consumer: _Loop, deliverer: _Loop, stop: threading.Event) -> int:
    """The status consumer here and the webhook deliverer in a thread, until ``stop`` is set or
    either fails; returns the exit code (1: the deliverer failed) and raises what the consumer
    raised. One that fails stops the other, so the process exits and systemd starts it again
    (Restart=on-failure): a dead delivery thread would leave webhooks silent while statuses flow."""
    crashed = threading.Event()

    def deliver() -> None:
        try:
            deliverer.run(stop)
        except BaseException:
            log.exception("webhook delivery stopped unexpectedly")
            crashed.set()
            stop.set()

    delivering = threading.Thread(target=deliver, name="webhooks")
    delivering.start()
    try:
        consumer.run(stop)
    finally:
        stop.set()
        delivering.join()
    return 1 if crashed.is_set() else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="reelstack status-consumer", description=__doc__)
    parser.add_argument("--wait-seconds", type=int, default=10, help="long-poll wait per receive (0-20)")
    args = parser.parse_args(argv)
    settings = load(BackendSettings)
    logs.configure("backend-status", settings.log_level)
    aws = AwsClients.from_settings(settings)
    engine = database_engine(settings, aws.secretsmanager)
    consumer = StatusConsumer(
        aws.sqs,
        settings.status_queue_url,
        session_factory(engine),
        s3=aws.s3,
        media_bucket=settings.media_bucket,
        sns=aws.sns,
        video_events_topic_arn=settings.video_events_topic_arn,
        wait_seconds=args.wait_seconds,
    )
    deliverer = WebhookDeliverer(
        aws.sqs,
        settings.webhook_queue_url,
        session_factory(engine),
        policy=RetryPolicy(base_seconds=settings.webhook_retry_base_seconds),
        allow_insecure=settings.webhook_allow_insecure_targets,
        wait_seconds=args.wait_seconds,
    )
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: finishing the current batch", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info(
        "consuming %s; delivering webhooks from %s", settings.status_queue_url, settings.webhook_queue_url
    )
    code = run_both(consumer, deliverer, stop)
    engine.dispose()
    log.info("stopped")
    return code
