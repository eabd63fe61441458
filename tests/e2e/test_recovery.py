"""Issue 15 on the local platform: an owner retries a failed video to ``ready`` (item 5) while an
integrator's queue on the video events topic receives its outcomes (item 4) and the services'
metric lines land in the log (item 1); an operator redrives the task DLQ with ``reelstack redrive``.

Both read or change the AWS emulation directly (a failed first attempt is made by a source that
sniffs as a video but is none, later replaced; a dead letter by receives that never finish), so
they are ``local_only``.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from app.contracts.messages import REDRIVES_ATTRIBUTE, VideoEventType, VideoEventV1, parse_task
from app.contracts.names import TASK_MAX_RECEIVES
from tests.e2e.client import create_video, new_address, signup_confirm_login, upload_via_presigned_post
from tests.e2e.conftest import RunningPlatform
from tests.support.emf import metric_lines

pytestmark = [pytest.mark.e2e, pytest.mark.local_only]
PASSWORD = "Corr3ct-Horse-Battery!"
TIMEOUT = 30
SETTLE_SECONDS = 240


def _settled(session: requests.Session, url: str, states: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        video: dict[str, Any] = session.get(url, timeout=TIMEOUT).json()
        if video["status"] in states:
            return video
        time.sleep(0.5)
    raise AssertionError(f"{url} never reached {states}: {video}")


@dataclass(frozen=True)
class Retried:
    """One video's life on the platform: failed, retried to ready, deleted, as its owner saw it
    and as an integrator's queue on the video events topic and the platform's log recorded it."""

    video_id: str
    failed: dict[str, Any]
    retried: requests.Response
    ready: dict[str, Any]
    retried_again: requests.Response
    events: list[VideoEventV1]
    log: str


def _subscribe_integrator(platform: RunningPlatform) -> str:
    sqs, sns = platform.client("sqs"), platform.client("sns")
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    [topic] = [arn for arn in topics if arn.endswith(f":{platform.names.video_events_topic}")]
    url: str = sqs.create_queue(QueueName=f"integrator-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return url


def _events_until(platform: RunningPlatform, url: str, last: VideoEventType) -> list[VideoEventV1]:
    sqs = platform.client("sqs")
    events: list[VideoEventV1] = []
    deadline = time.monotonic() + SETTLE_SECONDS
    while not events or events[-1].type != last:
        assert time.monotonic() < deadline, events
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            events.append(VideoEventV1.model_validate_json(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return events


@pytest.fixture(scope="module")
def retried(
    platform: RunningPlatform, one_second_clip: Path, tmp_path_factory: pytest.TempPathFactory
) -> Retried:
    base = platform.base_url
    integrator = _subscribe_integrator(platform)
    owner = signup_confirm_login(platform, new_address(platform, "retry"), PASSWORD)
    created = create_video(platform, owner)
    video_url = f"{base}/api/videos/{created['id']}"
    # An MP4 box header, then nothing a decoder can use: accepted, then failed by the transcoder.
    fake = tmp_path_factory.mktemp("fake") / "fake.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4096)
    upload_via_presigned_post(created["upload"], fake, "video/mp4")
    assert owner.post(f"{video_url}/uploaded", timeout=TIMEOUT).status_code == 202
    failed = _settled(owner, video_url, {"ready", "failed"})
    # The cause goes away: the kept source becomes the real clip (as if the first read had been bad).
    s3 = platform.client("s3")
    bucket = platform.aws["uploads_bucket"]
    [kept] = s3.list_objects_v2(Bucket=bucket, Prefix=f"uploads/{created['id']}/")["Contents"]
    s3.upload_file(str(one_second_clip), bucket, kept["Key"], ExtraArgs={"ContentType": "video/mp4"})

    retried = owner.post(f"{video_url}/retry", timeout=TIMEOUT)
    ready = _settled(owner, video_url, {"ready", "failed"})
    again = owner.post(f"{video_url}/retry", timeout=TIMEOUT)
    assert owner.delete(video_url, timeout=TIMEOUT).status_code == 204
    events = _events_until(platform, integrator, VideoEventType.DELETED)
    return Retried(created["id"], failed, retried, ready, again, events, platform.log())


def test_a_failed_video_is_retried_by_its_owner_to_ready(retried: Retried) -> None:
    assert retried.failed["status"] == "failed", retried.failed
    assert retried.retried.status_code == 202, retried.retried.text
    assert retried.retried.json()["status"] == "queued"
    assert retried.ready["status"] == "ready", retried.ready
    assert retried.ready["playback_url"]
    assert (retried.retried_again.status_code, retried.retried_again.json()["error"]["code"]) == (
        409,
        "not_failed",
    )


def test_an_integrators_queue_on_the_video_events_topic_receives_failed_ready_and_deleted(
    retried: Retried,
) -> None:
    mine = [e for e in retried.events if str(e.video_id) == retried.video_id]
    assert [e.type for e in mine] == [VideoEventType.FAILED, VideoEventType.READY, VideoEventType.DELETED]
    failed, ready, _ = mine
    assert failed.error_reason and failed.task_id != ready.task_id  # the retry ran a task of its own
    assert ready.duration_seconds and ready.duration_seconds > 0


def test_the_services_metric_lines_in_the_platforms_log_tell_the_story(retried: Retried) -> None:
    backend = metric_lines(retried.log, "backend")
    assert any(
        line.dimensions["route"] == "POST /api/videos/<uuid:video_id>/retry"
        and line.values["Errors4xx"] == [1]
        for line in backend
    )
    transcoder = metric_lines(retried.log, "transcoder")
    assert any(line.dimensions.get("reason") == "not_a_video" for line in transcoder)
    assert any("TasksSucceeded" in line.values for line in transcoder)
    assert any("OpenStreams" in line.values for line in metric_lines(retried.log, "progress"))


def _receive_own(sqs: Any, url: str, video_id: str, **extra: Any) -> dict[str, Any] | None:
    """This test's task message, if a receive returns it; other tests' messages stay hidden a while."""
    for message in sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=600, **extra
    ).get("Messages", []):
        if str(parse_task(message["Body"]).video_id) == video_id:
            return message
    return None


def test_a_dead_lettered_task_is_redriven_once_by_the_operator(
    core_platform: RunningPlatform, one_second_clip: Path
) -> None:
    base = core_platform.base_url
    owner = signup_confirm_login(core_platform, new_address(core_platform, "redrive"), PASSWORD)
    created = create_video(core_platform, owner)
    upload_via_presigned_post(created["upload"], one_second_clip, "video/mp4")
    assert owner.post(f"{base}/api/videos/{created['id']}/uploaded", timeout=TIMEOUT).status_code == 202
    sqs = core_platform.client("sqs")
    tasks = sqs.get_queue_url(QueueName=core_platform.names.task_queue)["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName=core_platform.names.task_dlq)["QueueUrl"]
    # Attempts that die: received, never deleted, visible again at once; the next receive moves it.
    receives = 0
    deadline = time.monotonic() + SETTLE_SECONDS
    while receives < TASK_MAX_RECEIVES:
        message = _receive_own(sqs, tasks, created["id"])
        if message is not None:
            receives += 1
            sqs.change_message_visibility(
                QueueUrl=tasks, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        assert time.monotonic() < deadline, f"received {receives} times"
    assert _receive_own(sqs, tasks, created["id"]) is None
    dead = _receive_own(sqs, dlq, created["id"])
    assert dead is not None, "the task did not reach the DLQ"
    sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=dead["ReceiptHandle"], VisibilityTimeout=0)

    def redrive(*args: str) -> str:
        argv = [
            sys.executable,
            "-m",
            "app.cli",
            "redrive",
            "--stack",
            "dev",
            "--local-state-dir",
            str(core_platform.state_dir),
            *args,
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    task_id = str(parse_task(dead["Body"]).task_id)
    assert task_id in redrive("--list")
    first = redrive()
    assert any(line.startswith("sent back") and task_id in line for line in first.splitlines()), first
    assert task_id not in redrive()  # gone from the DLQ: a second redrive sends nothing of it

    assert _receive_own(sqs, dlq, created["id"]) is None
    back = _receive_own(sqs, tasks, created["id"], MessageAttributeNames=[REDRIVES_ATTRIBUTE])
    assert back is not None and str(parse_task(back["Body"]).task_id) == task_id
    assert back["MessageAttributes"][REDRIVES_ATTRIBUTE]["StringValue"] == "1"
    assert _receive_own(sqs, tasks, created["id"]) is None  # exactly one
