"""The transcoder fleet worker (``reelstack transcoder``).

One loop: receive a task (long polling) → validate it → transcode → publish the
result → delete the message. Failure paths:

- permanent (invalid message, a source that is not a decodable video or is outside the
  stack's limits (``limits.py``), a filter that cannot apply, a transcode over its
  wall-clock budget): published as ``failed`` with the reason and deleted, after one attempt;
- transient (S3/SNS errors, ffmpeg failing on a valid source): the message is left to
  reappear; the queue's redrive moves it to the DLQ after ``TASK_MAX_RECEIVES`` receives,
  and the last attempt publishes ``failed`` so the video does not wait forever;
- killed (OOM, spot loss, a source that crashes the worker) on every attempt: no attempt
  could publish anything, so an idle worker reads the DLQ and publishes ``failed`` for
  each task there, leaving the message (hidden a while) for the operators and the alarm,
  who send it back with ``reelstack redrive`` once the cause is fixed (``app/redrive.py``);
- shutdown (SIGTERM): no new receives; the current task finishes if its pace so far says
  it can within the grace period (and is stopped when the period ends), otherwise its
  message is released at once (visibility 0) for another worker;
- deleted (the video was deleted while its task ran, which ``deletion.py`` notices within
  seconds): ffmpeg is stopped, nothing is uploaded (what was is deleted), nothing is
  reported, and the message is deleted: not a failure, not a retry.

On AWS a worker holding a task keeps its instance protected from scale-in
(``protection.py``), so the fleet shrinks by idle instances only; a task received on an
instance that can no longer be protected (a scale-in already chose it) is released at once.

Outputs are uploaded under the task's own prefix. While ffmpeg runs, each segment goes up as
soon as it is complete, with its growing EVENT playlist, and the master playlist listing the
lowest rung once that rung has a segment (``publish.py``): the video plays before it is ready,
and the upload hides behind the encoding. Once ffmpeg has finished, the rest goes up (posters,
storyboard, every playlist in its final VOD form) with the full ladder's master playlist last;
a killed attempt leaves at most an unfinished EVENT stream of a video still transcoding, and
a retry overwrites the same keys. A long source is transcoded in two runs, each stored as a checkpoint when it
ends (``checkpoints.py``), so a task interrupted by a deploy resumes from its first run
rather than starting over. Its local files, in a scratch directory of the work dir
that several workers share, are removed by the next sweep of any worker there
(``scratch.sweep``: at start and between polls), which tells a dead owner by its lock.
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import logging
import shutil
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
import ffmpeg
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from app import metrics
from app.contracts import bounded_json, logs
from app.contracts.messages import (
    REDRIVES_ATTRIBUTE,
    AudioRendition,
    PlayableOutputs,
    PurchaseOption,
    Rendition,
    Storyboard,
    TaskMessageV1,
    TaskOutputs,
    TranscodeUsage,
    attempt_number,
    parse_task,
    redrives_of,
)
from app.contracts.metrics import TASKS_FAILED, TASKS_SUCCEEDED
from app.contracts.names import DEAD_LETTER_HIDE_SECONDS, TASK_MAX_RECEIVES
from app.contracts.settings import SettingsError, TranscoderSettings, load
from app.contracts.tickets import media_key_prefix
from app.instance_metadata import ec2_instance_id, ec2_instance_type, ec2_purchase_option
from app.transcoder.checkpoints import Checkpoints, run_heights
from app.transcoder.deletion import DeletionWatch, VideoDeleted
from app.transcoder.graph import (
    AUDIO_ONLY_PLAYLIST,
    DOWNLOAD_NAME,
    OutputPaths,
    PlanError,
    TranscodePlan,
    build_download,
    build_graph,
    build_stills,
    plan_transcode,
)
from app.transcoder.hls import (
    AudioVariant,
    OutputError,
    Variant,
    describe_audio_variant,
    describe_variant,
    master_playlist,
    playlist_duration,
)
from app.transcoder.limits import SourceLimits, SourceRefused, check_source, clock
from app.transcoder.posters import CANDIDATE_GLOB, candidate_number
from app.transcoder.probe import NotAVideo, probe
from app.transcoder.progress import ProgressReporter, sns_publisher
from app.transcoder.protection import ProtectionError, ScaleInProtection
from app.transcoder.publish import ProgressivePublisher, finish_playlists
from app.transcoder.runner import Cancelled, Pace, TimedOut, children_cpu_seconds, run_ffmpeg
from app.transcoder.scratch import scratch_dir, sweep
from app.transcoder.storyboard import StoryboardPlan, storyboard_vtt

logger = logging.getLogger("app.transcoder")

# Bounded so that an idle worker notices SIGTERM within seconds.
_POLL_SECONDS = 5
_RECEIVE_RETRY_SECONDS = 5
_DEFAULT_GRACE_SECONDS = 30.0
# ffmpeg's progress is reported up to here; 100 means the outputs are uploaded.
_TRANSCODE_PERCENT = 99.0
_DEAD_LETTER_REASON = (
    "the task failed on every attempt; it is kept in the dead-letter queue for the operators"
)
MISSING_SOURCE_REASON = (
    "the uploaded file no longer exists (it was deleted or has expired); upload the video again"
)
_CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".vtt": "text/vtt",
}


class PermanentFailure(Exception):
    """Retrying cannot help: the task is reported failed with this reason and deleted.

    ``kind`` classifies it for the TasksFailed metric (a bounded dimension, unlike the reason)."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.kind = kind


def _count(metric: str, **dimensions: str) -> None:
    """One task event as a metric of the transcoder (``app.metrics``)."""
    metrics.emit("transcoder", {metric: (1, MetricUnit.Count)}, **dimensions)


class _Outcome(enum.Enum):
    DELETE = "delete"
    RELEASE = "release"
    RETRY = "retry"


@dataclass(frozen=True)
class AwsClients:
    sqs: Any
    s3: Any
    sns: Any
    autoscaling: Any

    @classmethod
    def from_environment(cls) -> AwsClients:
        """Clients for AWS, or the local emulation when ``AWS_ENDPOINT_URL`` is set."""
        return cls(
            sqs=boto3.client("sqs"),
            s3=boto3.client("s3"),
            sns=boto3.client("sns"),
            autoscaling=boto3.client("autoscaling"),
        )


@dataclass(frozen=True)
class Host:
    """The machine a worker runs on, as each transcode's usage reports it (None off EC2)."""

    instance_type: str | None = None
    purchase_option: PurchaseOption | None = None

    @classmethod
    def from_instance_metadata(cls) -> Host:
        instance_type = ec2_instance_type()
        if instance_type is None:
            return cls()  # off EC2: the second question would only wait out its timeout too
        return cls(instance_type=instance_type, purchase_option=ec2_purchase_option())


@dataclass(frozen=True)
class RunProgress:
    """ffmpeg's seconds done in run ``run`` of ``runs`` as the task's share done and reported."""

    pace: Pace
    events: ProgressReporter
    duration: float
    run: int
    runs: int

    def __call__(self, seconds: float) -> None:
        self.pace.fraction = min(1.0, (self.run + min(1.0, seconds / self.duration)) / self.runs)
        self.events.transcoding(_TRANSCODE_PERCENT * self.pace.fraction)


class Heartbeat:
    """Keeps a message invisible to other workers while this one works on it."""

    def __init__(self, sqs: Any, queue_url: str, receipt_handle: str, timeout_seconds: int) -> None:
        self._extend = lambda: sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=timeout_seconds
        )
        self._interval = timeout_seconds / 3
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._extend()
            except (BotoCoreError, ClientError):
                logger.warning("could not extend the task's visibility", exc_info=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()


class Worker:
    def __init__(
        self,
        settings: TranscoderSettings,
        aws: AwsClients,
        *,
        grace_seconds: float = _DEFAULT_GRACE_SECONDS,
        protection: ScaleInProtection | None = None,
        host: Host = Host(),
    ) -> None:
        self.settings = settings
        self.host = host
        self.aws = aws
        self.grace_seconds = grace_seconds
        self.protection = protection
        self.stopping = threading.Event()
        self.cancel = threading.Event()
        self._pace: Pace | None = None
        self._publish = sns_publisher(aws.sns, settings.progress_topic_arn)

    def shutdown(self) -> None:
        """Stop receiving; let the current task finish if its pace says it can within the grace period."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        pace = self._pace
        if pace is not None and pace.remaining_seconds(time.monotonic()) > self.grace_seconds:
            logger.info(
                "shutting down; the current task cannot finish within %g s: releasing it", self.grace_seconds
            )
            self.cancel.set()
            return
        logger.info("shutting down; the current task, if any, has %g s to finish", self.grace_seconds)
        timer = threading.Timer(self.grace_seconds, self.cancel.set)
        timer.daemon = True
        timer.start()

    def run(self) -> None:
        while not self.stopping.is_set():
            # Cheap (one listing of the work dir) and bounded by the poll: leftovers of a killed
            # sibling go soon after it dies, not only when this worker restarts.
            sweep(Path(self.settings.work_dir))
            if self.protection is not None:
                self.protection.lift_if_idle()
            try:
                self.poll_once()
            except (BotoCoreError, ClientError):
                logger.exception("could not receive tasks; trying again in %d s", _RECEIVE_RETRY_SECONDS)
                self.stopping.wait(_RECEIVE_RETRY_SECONDS)
        logger.info("stopped")

    def poll_once(self) -> int:
        """Receive at most one task and see it through; returns how many messages arrived."""
        messages = self.aws.sqs.receive_message(
            QueueUrl=self.settings.task_queue_url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=_POLL_SECONDS,
            VisibilityTimeout=self.settings.visibility_timeout_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
            MessageAttributeNames=[REDRIVES_ATTRIBUTE],
        ).get("Messages", [])
        for message in messages:
            if self.stopping.is_set():
                self._settle(message, _Outcome.RELEASE)
                continue
            try:
                with self._protected():
                    self._settle(message, self.handle(message))
            except ProtectionError:
                logger.warning("releasing a task this instance cannot hold", exc_info=True)
                self._settle(message, _Outcome.RELEASE)
            except (BotoCoreError, ClientError):
                logger.exception("could not report or settle a task; it will be redelivered")
        if not messages and not self.stopping.is_set():
            self.report_dead_letters()
        return len(messages)

    def _protected(self) -> contextlib.AbstractContextManager[None]:
        return self.protection.holding_task() if self.protection else contextlib.nullcontext()

    def report_dead_letters(self) -> None:
        """Publish ``failed`` for the tasks in the DLQ, which stay there for the operators."""
        messages = self.aws.sqs.receive_message(
            QueueUrl=self.settings.task_dlq_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            VisibilityTimeout=DEAD_LETTER_HIDE_SECONDS,
            MessageAttributeNames=[REDRIVES_ATTRIBUTE],
        ).get("Messages", [])
        for message in messages:
            try:
                task = parse_task(message["Body"])
            except ValidationError:
                logger.warning(
                    "dead letter %s is not a task; leaving it for the operators", message["MessageId"]
                )
                continue
            # Above every attempt's sequences, and the same each time: a repeat changes nothing.
            attempt = attempt_number(TASK_MAX_RECEIVES + 1, redrives_of(message))
            events = ProgressReporter(self._publish, task.task_id, task.video_id, attempt)
            try:
                events.failed(_DEAD_LETTER_REASON)
                _count(TASKS_FAILED, reason="dead_letter")
            except (BotoCoreError, ClientError):
                logger.exception("could not report dead-lettered task %s; trying again soon", task.task_id)
                self.aws.sqs.change_message_visibility(
                    QueueUrl=self.settings.task_dlq_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=0,
                )
            else:
                logger.warning(
                    "task failed on every attempt; reported failed, left in the DLQ",
                    extra={"video_id": task.video_id, "task_id": task.task_id},
                )

    def handle(self, message: dict[str, Any]) -> _Outcome:
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        try:
            task = parse_task(message["Body"])
        except ValidationError as exc:
            self._report_invalid(message["Body"], exc, attempt)
            return _Outcome.DELETE
        log = logging.LoggerAdapter(logger, {"video_id": task.video_id, "task_id": task.task_id})
        events = ProgressReporter(
            self._publish, task.task_id, task.video_id, attempt_number(attempt, redrives_of(message))
        )
        with (
            Heartbeat(
                self.aws.sqs,
                self.settings.task_queue_url,
                message["ReceiptHandle"],
                self.settings.visibility_timeout_seconds,
            ),
            DeletionWatch(self.aws.s3, task.source_bucket, task.source_key) as watch,
        ):
            try:
                log.info("transcoding (attempt %d)", attempt)
                _count("TasksStarted")
                events.transcoding(0.0)
                events.ready(self.transcode(task, events, watch))
                log.info("ready")
                _count(TASKS_SUCCEEDED)
                return _Outcome.DELETE
            except VideoDeleted:
                log.info("the video was deleted; stopped, and kept none of its outputs")
                return _Outcome.DELETE
            except PermanentFailure as exc:
                log.warning("failed permanently: %s", exc)
                events.failed(str(exc))
                _count(TASKS_FAILED, reason=exc.kind)
                return _Outcome.DELETE
            except Cancelled:
                log.info("shutdown grace period over; releasing the task for another worker")
                return _Outcome.RELEASE
            except Exception as exc:  # transient by elimination: redelivery, then the DLQ, decides
                if self.stopping.is_set():
                    # e.g. a service manager signalled ffmpeg too: let another worker start now.
                    log.warning("failed while shutting down; releasing the task: %s", exc)
                    return _Outcome.RELEASE
                log.exception(
                    "attempt %d of %d failed; leaving the task for redelivery", attempt, TASK_MAX_RECEIVES
                )
                if attempt >= TASK_MAX_RECEIVES:
                    # The cause (bucket names, ffmpeg's stderr) stays in the logs; the uploader sees the outcome.
                    events.failed(
                        f"gave up after {attempt} attempts; the transcoder's logs of task {task.task_id} say why"
                    )
                    _count(TASKS_FAILED, reason="gave_up")
                else:
                    _count("TasksRetried")
                return _Outcome.RETRY

    def transcode(self, task: TaskMessageV1, events: ProgressReporter, watch: DeletionWatch) -> TaskOutputs:
        if task.source_bucket != self.settings.uploads_bucket:
            raise PermanentFailure(
                f"the source is not in the uploads bucket {self.settings.uploads_bucket}", "wrong_bucket"
            )
        with scratch_dir(Path(self.settings.work_dir), f"{task.task_id}-") as work:
            self._pace = pace = Pace()
            try:
                return self._transcode_in(work, task, events, pace, watch)
            except VideoDeleted:
                # The backend may already have emptied the video's prefix: what this task wrote
                # (checkpoints, outputs) goes too. (Deleted after the master playlist, the ready
                # event has the status consumer do it.)
                prefix = media_key_prefix(task.video_id, task.task_id)
                self._delete_outputs(self.settings.media_bucket, prefix, keep=())
                raise
            finally:
                self._pace = None

    def _transcode_in(
        self, work: Path, task: TaskMessageV1, events: ProgressReporter, pace: Pace, watch: DeletionWatch
    ) -> TaskOutputs:
        # A fixed local name: nothing from the task's keys reaches ffmpeg's command line.
        paths = OutputPaths(source=work / "source", root=work / "out")
        cpu_before = children_cpu_seconds()
        self._download(task, paths.source)
        ladder = self.settings.ladder_heights
        try:
            source = probe(paths.source)
            check_source(source, SourceLimits.from_settings(self.settings))
            plan = plan_transcode(source, task, ladder)
        except NotAVideo as exc:
            raise PermanentFailure(str(exc), "not_a_video") from None
        except SourceRefused as exc:
            raise PermanentFailure(str(exc), "source_refused") from None
        except PlanError as exc:
            raise PermanentFailure(str(exc), "unplannable") from None
        paths.make_directories(plan)
        runs = run_heights(plan, self.settings.resumable_from_seconds)
        checkpoints = Checkpoints(
            self.aws.s3, self.settings.media_bucket, media_key_prefix(task.video_id, task.task_id)
        )
        started = time.monotonic()
        deadline = started + self.settings.transcode_timeout_seconds
        published: dict[str, int] = {}
        for run, heights in enumerate(runs):
            progress = RunProgress(pace, events, plan.duration, run, len(runs))
            if len(runs) == 1:
                with self._publisher(
                    task, paths, plan, source.fps, source.has_audio, events, watch
                ) as publisher:
                    self._encode(build_graph(source, task, ladder, paths), progress, watch, deadline)
                published = publisher.published
                finish_playlists(paths.root)
                self._make_stills(paths, plan, watch, deadline, first_run=True)
            elif checkpoints.restore(heights, paths.root):
                logger.info("run %d of %d was finished by an earlier attempt: restored", run + 1, len(runs))
                progress(plan.duration)
            else:
                # Each run into a directory of its own: the second's poster (of a lower rendition) is not kept.
                run_paths = OutputPaths(source=paths.source, root=work / f"run-{run}")
                run_paths.make_directories(plan_transcode(source, task, heights))
                graph = build_graph(
                    source, task, heights, run_paths, storyboard=run == 0, once_per_task=run == 0
                )
                self._encode(graph, progress, watch, deadline)
                finish_playlists(run_paths.root)
                self._make_stills(run_paths, plan, watch, deadline, first_run=run == 0)
                kept = [
                    p
                    for p in run_paths.root.rglob("*")
                    if p.is_file() and (run == 0 or p != run_paths.thumbnail)
                ]
                watch.check()
                checkpoints.save(
                    heights, paths.root, _move_under(kept, run_paths.root, paths.root), self._put_media
                )
        if task.mp4_download:
            # A remux of the top rendition (no second encode), within the same budget.
            self._encode(build_download(paths, plan.renditions[0]), lambda _seconds: None, watch, deadline)
        # What a source second costs the fleet, for sizing it (and spotting a slow instance type).
        metrics.emit(
            "transcoder",
            {
                "TranscodeSecondsPerSourceSecond": (
                    (time.monotonic() - started) / plan.duration,
                    MetricUnit.NoUnit,
                )
            },
        )
        cpu_seconds = children_cpu_seconds() - cpu_before
        watch.check()
        if self.cancel.is_set():
            raise Cancelled("shutdown before the upload")
        if not paths.thumbnail.is_file():
            raise OutputError("ffmpeg wrote no poster thumbnail")
        variants = [describe_variant(paths.root, r.playlist, source.fps) for r in plan.renditions]
        audio = describe_audio_variant(paths.root, AUDIO_ONLY_PLAYLIST) if source.has_audio else None
        duration = round(playlist_duration(paths.root / variants[0].playlist), 3)
        storyboard = self._write_storyboard(paths, plan.storyboard, duration)
        paths.master_playlist.write_text(master_playlist(variants, audio))
        return self._upload(
            task, paths, variants, audio, duration, storyboard, watch, cpu_seconds, checkpoints, published
        )

    def _publisher(
        self,
        task: TaskMessageV1,
        paths: OutputPaths,
        plan: TranscodePlan,
        frame_rate: float,
        has_audio: bool,
        events: ProgressReporter,
        watch: DeletionWatch,
    ) -> ProgressivePublisher:
        """Publishes the segments of a one-run transcode as ffmpeg writes them (``publish.py``)."""
        prefix = media_key_prefix(task.video_id, task.task_id)

        def put(name: str, path: Path) -> None:
            watch.check()  # a deleted video gets no more objects
            self._put_media(prefix + name, path)

        def playable(heights: list[int]) -> None:
            events.playable(PlayableOutputs(master_playlist_key=prefix + "master.m3u8", heights=heights))

        lowest = plan.renditions[-1]
        playlists = [r.playlist for r in reversed(plan.renditions)]
        return ProgressivePublisher(
            paths.root,
            playlists + ([AUDIO_ONLY_PLAYLIST] if has_audio else []),
            (lowest.height, lowest.playlist),
            frame_rate,
            put,
            playable,
        )

    def _make_stills(
        self,
        paths: OutputPaths,
        plan: TranscodePlan,
        watch: DeletionWatch,
        deadline: float,
        *,
        first_run: bool,
    ) -> None:
        """The sprite sheets and candidate posters, from the stills a task's first run wrote."""
        if first_run:
            stills = build_stills(paths, plan, storyboard=True, candidates=True)
            self._encode(stills, lambda _seconds: None, watch, deadline)
        shutil.rmtree(paths.stills)

    @staticmethod
    def _write_storyboard(paths: OutputPaths, plan: StoryboardPlan, duration: float) -> Storyboard:
        """The WebVTT track over the sprite sheets ffmpeg wrote; keys are completed by the upload."""
        sprites = len(list(paths.storyboard.glob("sprite-*.jpg")))
        if sprites == 0:
            raise OutputError("ffmpeg wrote no storyboard sprite sheet")
        paths.storyboard_vtt.write_text(storyboard_vtt(plan, duration))
        return Storyboard(
            vtt_key=paths.storyboard_vtt.relative_to(paths.root).as_posix(),
            sprite_count=sprites,
            interval_seconds=plan.interval,
            tile_width=plan.tile_width,
            tile_height=plan.tile_height,
            columns=plan.columns,
            rows=plan.rows,
        )

    def _download(self, task: TaskMessageV1, target: Path) -> None:
        try:
            self.aws.s3.download_file(task.source_bucket, task.source_key, str(target))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            # S3 answers a missing key 403 to a caller its ListBucket grant does not cover for
            # that key: the listing, which the grant allows under the sources' prefix, settles it.
            if code in ("404", "NoSuchKey") or (
                code in ("403", "AccessDenied") and not self._source_listed(task)
            ):
                raise PermanentFailure(MISSING_SOURCE_REASON, "source_missing") from None
            raise

    def _source_listed(self, task: TaskMessageV1) -> bool:
        listing = self.aws.s3.list_objects_v2(Bucket=task.source_bucket, Prefix=task.source_key, MaxKeys=1)
        return any(o["Key"] == task.source_key for o in listing.get("Contents", []))

    def _upload(
        self,
        task: TaskMessageV1,
        paths: OutputPaths,
        variants: list[Variant],
        audio: AudioVariant | None,
        duration: float,
        storyboard: Storyboard,
        watch: DeletionWatch,
        cpu_seconds: float,
        checkpoints: Checkpoints,
        published: dict[str, int],
    ) -> TaskOutputs:
        bucket = self.settings.media_bucket
        prefix = media_key_prefix(task.video_id, task.task_id)
        master_key = prefix + paths.master_playlist.relative_to(paths.root).as_posix()
        files = {
            prefix + path.relative_to(paths.root).as_posix(): path
            for path in paths.root.rglob("*")
            if path.is_file()
        }
        # Segments published while ffmpeg ran are final once listed; playlists are not (EVENT, then VOD).
        done = checkpoints.saved | {
            prefix + name for name, size in published.items() if (paths.root / name).stat().st_size == size
        }
        written = checkpoints.bytes_written + sum(published.values())
        for key, path in sorted(files.items()):
            if key != master_key and key not in done:
                watch.check()
                self._put(bucket, key, path)
                written += path.stat().st_size
        # A retry writes the same names; drop anything an earlier attempt wrote that this one did
        # not (its checkpoint manifests too).
        self._delete_outputs(bucket, prefix, keep=files.keys())
        watch.check()
        self._put(bucket, master_key, paths.master_playlist)  # last: it makes the set visible
        written += paths.master_playlist.stat().st_size
        stored = sum(path.stat().st_size for path in files.values())
        candidates = [
            prefix + path.relative_to(paths.root).as_posix()
            for path in sorted(paths.candidates.glob(CANDIDATE_GLOB), key=lambda p: candidate_number(p.name))
        ]
        # The first candidate is the poster until the owner chooses; the fixed-time frame only
        # when the whole video is black or blurred.
        fixed_poster = prefix + paths.thumbnail.relative_to(paths.root).as_posix()
        return TaskOutputs(
            prefix=prefix,
            master_playlist_key=master_key,
            thumbnail_key=candidates[0] if candidates else fixed_poster,
            thumbnail_candidates=candidates,
            audio=AudioRendition(bandwidth=audio.peak_bandwidth, playlist_key=prefix + audio.playlist)
            if audio is not None
            else None,
            download_key=prefix + paths.download.relative_to(paths.root).as_posix()
            if paths.download.is_file()
            else None,
            duration_seconds=duration,
            renditions=[
                Rendition(
                    height=v.height,
                    width=v.width,
                    bandwidth=v.peak_bandwidth,
                    playlist_key=prefix + v.playlist,
                )
                for v in variants
            ],
            storyboard=storyboard.model_copy(update={"vtt_key": prefix + storyboard.vtt_key}),
            usage=TranscodeUsage(
                cpu_seconds=round(cpu_seconds, 3),
                instance_type=self.host.instance_type,
                purchase_option=self.host.purchase_option,
                bytes_written=written,  # less than stored when checkpoints were restored
                bytes_stored=stored,
            ),
        )

    def _delete_outputs(self, bucket: str, prefix: str, keep: Collection[str]) -> None:
        # A listing page holds at most 1,000 keys, as many as one DeleteObjects request takes.
        for page in self.aws.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            doomed = [{"Key": o["Key"]} for o in page.get("Contents", []) if o["Key"] not in keep]
            if doomed:
                self.aws.s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})

    def _encode(
        self, graph: Any, progress: Callable[[float], None], watch: DeletionWatch, deadline: float
    ) -> None:
        """One ffmpeg run, within what is left of the task's wall-clock budget."""
        try:
            run_ffmpeg(
                ffmpeg.compile(graph),
                progress,
                lambda: self.cancel.is_set() or watch.deleted.is_set(),
                max(0.0, deadline - time.monotonic()),
            )
        except Cancelled:
            watch.check()
            raise
        except TimedOut:
            # Within the limits, a source that takes this long hides its real size: retrying costs as much.
            raise PermanentFailure(
                f"transcoding took longer than {clock(self.settings.transcode_timeout_seconds)},"
                " the most one video may take",
                "too_slow",
            ) from None

    def _put_media(self, key: str, path: Path) -> None:
        self._put(self.settings.media_bucket, key, path)

    def _put(self, bucket: str, key: str, path: Path) -> None:
        extra = {"ContentType": _CONTENT_TYPES.get(path.suffix, "application/octet-stream")}
        if path.name == DOWNLOAD_NAME:
            # Stored with the object, so the media edge serves it as a file to save, not to play.
            extra["ContentDisposition"] = 'attachment; filename="video.mp4"'
        self.aws.s3.upload_file(str(path), bucket, key, ExtraArgs=extra)

    def _report_invalid(self, body: str, error: ValidationError, attempt: int) -> None:
        reason = f"invalid task message: {error.errors()[0]['msg'] if error.errors() else error}"
        ids = _ids_of(body)
        logger.warning("%s", reason, extra={"video_id": ids[1], "task_id": ids[0]} if ids else {})
        if ids:
            ProgressReporter(self._publish, ids[0], ids[1], attempt).failed(reason)
        _count(TASKS_FAILED, reason="invalid_message")

    def _settle(self, message: dict[str, Any], outcome: _Outcome) -> None:
        receipt = message["ReceiptHandle"]
        if outcome is _Outcome.DELETE:
            self.aws.sqs.delete_message(QueueUrl=self.settings.task_queue_url, ReceiptHandle=receipt)
        elif outcome is _Outcome.RELEASE:
            self.aws.sqs.change_message_visibility(
                QueueUrl=self.settings.task_queue_url, ReceiptHandle=receipt, VisibilityTimeout=0
            )


def _move_under(files: list[Path], source: Path, target: Path) -> list[Path]:
    """Move ``files`` from under ``source`` to the same relative paths under ``target``."""
    moved = []
    for path in files:
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        moved.append(path.replace(destination))
    return moved


def _ids_of(body: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(task_id, video_id) of a message that failed validation, when both are still readable."""
    try:
        data = bounded_json.loads(body)
        return uuid.UUID(str(data["task_id"])), uuid.UUID(str(data["video_id"]))
    except (ValueError, TypeError, KeyError):
        return None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="reelstack transcoder", description="Run a transcoder fleet worker."
    )
    parser.add_argument(
        "--shutdown-grace",
        type=float,
        default=_DEFAULT_GRACE_SECONDS,
        metavar="SECONDS",
        help="on SIGTERM, how long the current task may take to finish before it is released",
    )
    args = parser.parse_args(argv)
    try:
        settings = load(TranscoderSettings)
    except SettingsError as exc:
        print(f"reelstack transcoder: {exc}", file=sys.stderr)
        return 2
    logs.configure("transcoder", settings.log_level)
    aws = AwsClients.from_environment()
    protection = None
    if settings.autoscaling_group:
        instance_id = ec2_instance_id()
        if instance_id is None:
            print(
                "reelstack transcoder: REELSTACK_AUTOSCALING_GROUP is set but the instance metadata service"
                " gave no instance id; unset it off EC2",
                file=sys.stderr,
            )
            return 2
        protection = ScaleInProtection(
            aws.autoscaling, settings.autoscaling_group, instance_id, Path(settings.work_dir)
        )
    worker = Worker(
        settings,
        aws,
        grace_seconds=args.shutdown_grace,
        protection=protection,
        host=Host.from_instance_metadata(),
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.shutdown())
    logger.info("polling %s", settings.task_queue_url)
    worker.run()
    return 0
