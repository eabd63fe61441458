"""Fixtures for the transcoder: generated media, a worker against moto, and an observer of its events."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.contracts.messages import FilterSpec, ProgressEventV1, TaskMessageV1, parse_progress
from app.contracts.settings import TranscoderSettings, load
from app.local.provision import LocalResources, client
from app.transcoder.worker import AwsClients, Worker

# Waiting for an event that never comes fails the test after this long (not a timing assertion).
EVENT_WAIT_SECONDS = 120.0


def clip(
    path: Path,
    size: str,
    seconds: float,
    *,
    audio: bool = True,
    pix_fmt: str = "yuv420p",
    fps: int = 30,
    crf: int = 23,
) -> Path:
    width, height = size.split("x")
    # testsrc2 rounds to even sizes, so scale to the exact (possibly odd) size afterwards.
    video = f"testsrc2=size={width}x{int(height) + int(height) % 2}:rate={fps}:duration={seconds},scale={width}:{height},setsar=1,format={pix_fmt}"
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", video]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac", "-shortest"]
    subprocess.run(
        [*args, "-c:v", "libx264", "-preset", "ultrafast", "-crf", str(crf), str(path)], check=True
    )
    return path


@dataclass(frozen=True)
class Media:
    landscape: Path
    """1280x720, 4 s, with audio."""
    long: Path
    """1280x720, 8 s, with audio: long enough to interrupt, short enough to finish."""
    endless: Path
    """320x240, 10 min, no audio: runs on far longer than any test waits, so that a test which
    interrupts it cannot find it already done however late it gets there."""
    portrait: Path
    odd: Path
    silent: Path
    rotated: Path
    """640x360 frames with display-matrix rotation: shown as 360x640."""
    truncated: Path
    random_bytes: Path
    tiny: Path
    """16x16, 1 s: below the smallest accepted picture."""
    fast: Path
    """160x120 at 240 fps, 0.5 s: above the default frame-rate limit."""


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    base = tmp_path_factory.mktemp("media")
    landscape = clip(base / "landscape.mp4", "1280x720", 4)
    truncated = base / "truncated.mp4"
    truncated.write_bytes(landscape.read_bytes()[: landscape.stat().st_size * 2 // 3])
    random_bytes = base / "random.mp4"
    random_bytes.write_bytes(random.Random(4).randbytes(256 * 1024))
    silent = clip(base / "silent.mp4", "640x360", 2, audio=False)
    rotated = base / "rotated.mp4"
    # The mp4 muxer turns the legacy rotate tag into a display matrix.
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(silent),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
            str(rotated),
        ],
        check=True,
    )
    return Media(
        landscape=landscape,
        long=clip(base / "long.mp4", "1280x720", 8),
        # Low quality keeps the file small: what it costs ffmpeg is its frame count.
        endless=clip(base / "endless.mp4", "320x240", 600, audio=False, crf=45),
        portrait=clip(base / "portrait.mp4", "720x1280", 2),
        # 4:4:4 so that the source itself can have an odd height.
        odd=clip(base / "odd.mp4", "854x481", 2, pix_fmt="yuv444p"),
        silent=silent,
        rotated=rotated,
        truncated=truncated,
        random_bytes=random_bytes,
        tiny=clip(base / "tiny.mp4", "16x16", 1, audio=False),
        fast=clip(base / "fast.mp4", "160x120", 0.5, audio=False, fps=240),
    )


class Pipeline:
    """One provisioned resource set: submit tasks, watch the progress topic, inspect the buckets."""

    def __init__(self, resources: LocalResources) -> None:
        self.resources = resources
        self.sqs = client("sqs", resources.endpoint_url)
        self.s3 = client("s3", resources.endpoint_url)
        sns = client("sns", resources.endpoint_url)
        self.observer_url = self.sqs.create_queue(QueueName=f"{resources.names.prefix}-observer")["QueueUrl"]
        observer_arn = self.sqs.get_queue_attributes(QueueUrl=self.observer_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(
            TopicArn=resources.progress_topic_arn,
            Protocol="sqs",
            Endpoint=observer_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        self.events: list[ProgressEventV1] = []
        self.dispositions: dict[str, str | None] = {}
        """Each downloaded key's Content-Disposition (``download`` fills it)."""

    def submit(
        self, source: Path, filters: list[FilterSpec] | None = None, *, mp4_download: bool = False
    ) -> TaskMessageV1:
        video_id = uuid.uuid4()
        key = f"uploads/{video_id}/source"
        self.s3.upload_file(str(source), self.resources.uploads_bucket, key)
        task = TaskMessageV1(
            video_id=video_id,
            owner_id="user-1",
            source_bucket=self.resources.uploads_bucket,
            source_key=key,
            filters=filters or [],
            mp4_download=mp4_download,
        )
        self.send(task.model_dump_json())
        return task

    def send(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.resources.task_queue_url, MessageBody=body)

    def wait_for(self, predicate: Callable[[ProgressEventV1], bool]) -> ProgressEventV1:
        """The first observed event matching ``predicate``, receiving until it arrives."""
        deadline = time.monotonic() + EVENT_WAIT_SECONDS
        while time.monotonic() < deadline:
            match = next((e for e in self.events if predicate(e)), None)
            if match is not None:
                return match
            for message in self.sqs.receive_message(
                QueueUrl=self.observer_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", []):
                self.events.append(parse_progress(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.observer_url, ReceiptHandle=message["ReceiptHandle"])
        raise AssertionError(f"no matching progress event; saw {[(e.state, e.percent) for e in self.events]}")

    def drain(self) -> None:
        """Receive every event still on the observer queue (once the publishers have all finished)."""
        while messages := self.sqs.receive_message(
            QueueUrl=self.observer_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            for message in messages:
                self.events.append(parse_progress(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.observer_url, ReceiptHandle=message["ReceiptHandle"])

    def terminal(self, task_id: uuid.UUID) -> ProgressEventV1:
        return self.wait_for(lambda e: e.task_id == task_id and e.state.terminal)

    def events_of(self, task_id: uuid.UUID) -> list[ProgressEventV1]:
        return sorted((e for e in self.events if e.task_id == task_id), key=lambda e: e.sequence)

    def messages_left(self) -> dict[str, int]:
        counts = {}
        for name, url in (("tasks", self.resources.task_queue_url), ("dlq", self.resources.task_dlq_url)):
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            counts[name] = sum(int(v) for v in attributes.values())
        return counts

    def media_keys(self, prefix: str) -> set[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.resources.media_bucket, Prefix=prefix
        )
        return {o["Key"] for page in pages for o in page.get("Contents", [])}

    def download(self, prefix: str, target: Path) -> dict[str, Any]:
        """Every object under ``prefix`` into ``target``; returns each key's Content-Type."""
        content_types = {}
        for key in self.media_keys(prefix):
            path = target / key.removeprefix(prefix)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.s3.download_file(self.resources.media_bucket, key, str(path))
            head = self.s3.head_object(Bucket=self.resources.media_bucket, Key=key)
            content_types[key] = head["ContentType"]
            self.dispositions[key] = head.get("ContentDisposition")
        return content_types


@pytest.fixture
def pipeline(local_resources: LocalResources) -> Pipeline:
    return Pipeline(local_resources)


def transcoder_env(resources: LocalResources, work_dir: Path, **overrides: str) -> dict[str, str]:
    return resources.env_for("transcoder", work_dir=str(work_dir), **overrides)


@pytest.fixture
def make_worker(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Worker]]:
    """Build an in-process worker for ``pipeline``'s resources, with optional settings overrides."""

    def make(**overrides: str) -> Worker:
        for name, value in transcoder_env(pipeline.resources, tmp_path / "work", **overrides).items():
            monkeypatch.setenv(name, value)
        return Worker(load(TranscoderSettings), AwsClients.from_environment())

    yield make


# Bounds the wait for a process to exit; exceeding it fails the test.
EXIT_WAIT_SECONDS = 60

StartWorker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start_worker(pipeline: Pipeline, tmp_path: Path) -> Iterator[StartWorker]:
    """Start `reelstack transcoder` processes (each in its own work dir unless given one), killed at teardown."""
    started: list[subprocess.Popen[bytes]] = []

    def start(grace: float = 30.0, work_dir: Path | None = None, **overrides: str) -> subprocess.Popen[bytes]:
        work_dir = work_dir or tmp_path / f"work{len(started)}"
        env = {
            **os.environ,
            **transcoder_env(pipeline.resources, work_dir, ladder="720,480,360", **overrides),
        }
        log = tmp_path / f"worker{len(started)}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "transcoder", "--shutdown-grace", str(grace)],
                env=env,
                stderr=stderr,
                # Its own process group, so a SIGKILL can take ffmpeg down with it, as when a machine dies.
                start_new_session=True,
            )
        started.append(process)
        # Its signal handlers are in place once it says it is polling.
        deadline = time.monotonic() + EXIT_WAIT_SECONDS
        while "polling" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_one(worker: Worker) -> None:
    """Let ``worker`` receive and handle exactly one message."""
    for _ in range(10):
        if worker.poll_once():
            return
    raise AssertionError("the worker received no task")


def ffprobe(path: Path) -> dict[str, Any]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        check=True,
    )
    data: dict[str, Any] = json.loads(result.stdout)
    return data
