"""The progress service as deployed: `reelstack progress` processes, events through SNS → own SQS queue → SSE."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import pytest
import requests

from app.contracts.messages import ProgressEventV1, VideoState
from app.local import moto_server
from app.local.provision import LocalResources, client
from app.progress import instance_queue
from tests.app.progress.conftest import REPO, Comment, Event, ProgressProcess, progress_event
from tests.support.processes import children, running

Start = Callable[..., ProgressProcess]
Issue = Callable[..., str]
Publish = Callable[[ProgressEventV1], None]


def _sequences(events: list[Event]) -> list[int]:
    return [event.data["sequence"] for event in events]


def _wait_until(condition: Callable[[], bool], what: str, limit: float = 20.0) -> None:
    """Polls ``condition``; the limit only keeps a broken run from hanging."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


def test_events_published_to_the_topic_reach_a_client_in_order_and_the_stream_ends_at_ready(
    progress: ProgressProcess, issue: Issue, publish: Publish
) -> None:
    server = progress
    video, task = uuid.uuid4(), uuid.uuid4()
    reader = server.connect(video, issue(video))
    first = reader.event()
    assert (first.id, first.data) == (None, {"state": "queued", "percent": 0.0, "sequence": -1})

    for sequence in range(1, 6):
        publish(progress_event(video, task, sequence))
    publish(progress_event(video, task, 6, VideoState.READY))

    frames = reader.rest()
    assert _sequences(frames) == [1, 2, 3, 4, 5, 6]
    assert [frame.id for frame in frames] == ["1", "2", "3", "4", "5", "6"]
    assert [frame.data["percent"] for frame in frames] == [10, 20, 30, 40, 50, 100]
    assert frames[-1].data["state"] == "ready"
    assert frames[-1].data["outputs"]["master_playlist_key"].endswith("master.m3u8")


def test_stream_ends_after_failed_with_the_reason(
    progress: ProgressProcess, issue: Issue, publish: Publish
) -> None:
    server = progress
    video, task = uuid.uuid4(), uuid.uuid4()
    reader = server.connect(video, issue(video))
    reader.event()
    publish(progress_event(video, task, 1, VideoState.FAILED))
    frames = reader.rest()
    assert [(f.data["state"], f.data["error_reason"]) for f in frames] == [
        ("failed", "the source is not a video")
    ]


def test_late_client_gets_the_newest_state_first_then_live_events(
    progress: ProgressProcess, issue: Issue, publish: Publish
) -> None:
    server = progress
    video, task = uuid.uuid4(), uuid.uuid4()
    early = server.connect(video, issue(video))
    early.event()
    for sequence in (1, 2, 3):
        publish(progress_event(video, task, sequence))
    assert _sequences([early.event() for _ in range(3)]) == [1, 2, 3]

    # The ticket was issued before any progress: the buffer is newer and wins.
    late = server.connect(video, issue(video))
    assert late.event().data == {"state": "transcoding", "percent": 30.0, "sequence": 3}
    publish(progress_event(video, task, 4))
    assert late.event().data["sequence"] == 4

    # A ticket newer than anything this instance has seen wins over the buffer.
    other = uuid.uuid4()
    fresh = server.connect(other, issue(other, state="transcoding", percent=70, sequence=7))
    assert fresh.event().data == {"state": "transcoding", "percent": 70.0, "sequence": 7}


def test_client_that_connects_after_ready_gets_ready_and_the_stream_ends(
    progress: ProgressProcess, issue: Issue, publish: Publish
) -> None:
    server = progress
    video, task = uuid.uuid4(), uuid.uuid4()
    watcher = server.connect(video, issue(video))
    watcher.event()
    publish(progress_event(video, task, 1, VideoState.READY))
    watcher.rest()

    late = server.connect(video, issue(video))
    frames = late.rest()
    assert [(f.data["state"], f.data["sequence"]) for f in frames] == [("ready", 1)]


def test_last_event_id_replays_the_buffered_events_after_it(
    progress: ProgressProcess, issue: Issue, publish: Publish
) -> None:
    server = progress
    video, task = uuid.uuid4(), uuid.uuid4()
    first = server.connect(video, issue(video))
    first.event()
    for sequence in (1, 2, 3, 4):
        publish(progress_event(video, task, sequence))
    assert _sequences([first.event() for _ in range(4)]) == [1, 2, 3, 4]
    first.close()

    again = server.connect(video, issue(video), last_event_id=2)
    assert _sequences([again.event(), again.event()]) == [3, 4]
    publish(progress_event(video, task, 5, VideoState.READY))
    assert _sequences(again.rest()) == [5]


def test_heartbeat_comments_keep_an_idle_stream_open(progress: ProgressProcess, issue: Issue) -> None:
    server = progress
    video = uuid.uuid4()
    reader = server.connect(video, issue(video))
    reader.event()
    assert [reader.frame(), reader.frame()] == [Comment("heartbeat"), Comment("heartbeat")]


def test_two_progress_processes_each_deliver_every_event_of_the_video(
    start_progress: Start, issue: Issue, publish: Publish
) -> None:
    servers = [start_progress(), start_progress()]
    video, task = uuid.uuid4(), uuid.uuid4()
    readers = [server.connect(video, issue(video)) for server in servers]
    for reader in readers:
        reader.event()
    for sequence in range(1, 10):
        publish(progress_event(video, task, sequence))
    publish(progress_event(video, task, 10, VideoState.READY))
    for reader in readers:
        assert _sequences(reader.rest()) == list(range(1, 11))


def test_bad_tickets_and_ids_are_refused_with_the_error_shape(
    progress: ProgressProcess, issue: Issue
) -> None:
    server = progress
    video = uuid.uuid4()
    cases = {
        "missing": (str(video), "", 401, "ticket_required"),
        "forged": (str(video), issue(video)[:-4] + "AAAA", 401, "invalid_ticket"),
        "expired": (str(video), issue(video, ttl_seconds=-5), 401, "invalid_ticket"),
        "other video": (str(video), issue(uuid.uuid4()), 403, "ticket_for_another_video"),
        "not a uuid": ("not-a-uuid", issue(video), 404, "not_found"),
    }
    answers = {}
    for case, (path, ticket, _, _) in cases.items():
        response = requests.get(f"{server.url}/events/videos/{path}", params={"ticket": ticket}, timeout=5)
        error = response.json()["error"]
        assert error["message"], case
        answers[case] = (path, ticket, response.status_code, error["code"])
    assert answers == cases


def test_streams_beyond_the_limit_get_503_and_a_closed_stream_frees_its_slot(
    start_progress: Start, issue: Issue
) -> None:
    server = start_progress(max_connections="1", heartbeat_seconds="0.1")
    video = uuid.uuid4()
    reader = server.connect(video, issue(video))
    reader.event()

    refused = requests.get(f"{server.url}/events/videos/{video}", params={"ticket": issue(video)}, timeout=5)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "too_many_streams"
    assert refused.headers["Retry-After"]

    reader.close()
    _wait_until(lambda: server.readiness()["streams"] == 0, "the server noticed the client left")
    again = server.connect(video, issue(video))
    assert again.event().data["state"] == "queued"


def test_a_client_that_leaves_mid_stream_frees_its_slot_long_before_the_next_heartbeat(
    start_progress: Start, issue: Issue
) -> None:
    """A viewer who reloads must not count twice against the limit: the server notices the
    closed connection itself, not when a heartbeat write fails (here a minute away)."""
    server = start_progress(max_connections="2", heartbeat_seconds="60")
    video = uuid.uuid4()
    readers = [server.connect(video, issue(video)) for _ in range(2)]
    for reader in readers:
        reader.event()
    full = requests.get(f"{server.url}/events/videos/{video}", params={"ticket": issue(video)}, timeout=5)
    assert full.json()["error"]["code"] == "too_many_streams"

    readers[0].close()
    _wait_until(lambda: server.readiness()["streams"] == 1, "the server noticed the client left", limit=10)
    again = server.connect(video, issue(video))
    assert again.event().data["state"] == "queued"
    assert server.readiness()["streams"] == 2  # the viewer who stayed still streams


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_shutdown_ends_open_streams_and_removes_the_queue_and_subscription(
    start_progress: Start, issue: Issue, local_resources: LocalResources, sig: signal.Signals
) -> None:
    sqs = client("sqs", local_resources.endpoint_url)
    sns = client("sns", local_resources.endpoint_url)
    server = start_progress()
    queue_url = sqs.get_queue_url(QueueName=server.queue_name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]

    def subscriptions() -> dict[str, dict[str, str]]:
        found = sns.list_subscriptions_by_topic(TopicArn=local_resources.progress_topic_arn)["Subscriptions"]
        return {s["Endpoint"]: s for s in found}

    subscription = subscriptions()[queue_arn]
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])[
        "Attributes"
    ]
    assert attributes["RawMessageDelivery"] == "true"

    video = uuid.uuid4()
    reader = server.connect(video, issue(video))
    reader.event()

    assert server.stop(sig) == 0
    assert reader.rest() == []
    assert queue_arn not in subscriptions()
    assert server.queue_name not in " ".join(
        sqs.list_queues(QueueNamePrefix=local_resources.names.progress_queue_prefix).get("QueueUrls", [])
    )


def test_missing_settings_stop_the_service_naming_the_variable(local_resources: LocalResources) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELSTACK_")}
    env.update(local_resources.env_for("progress"))
    del env["REELSTACK_PROGRESS_TOPIC_ARN"]
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "progress", "--bind", "127.0.0.1:1"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "REELSTACK_PROGRESS_TOPIC_ARN is not set" in done.stderr


def test_a_service_that_may_not_open_the_files_its_streams_need_refuses_to_start(
    local_resources: LocalResources,
) -> None:
    """Rather than serve until accept() fails with "Too many open files" (systemd's default soft
    limit, 1,024, is below 1,000 streams plus spare connections plus its own files)."""
    env = {**os.environ, **local_resources.env_for("progress", max_connections="1000")}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "progress", "--bind", "127.0.0.1:1"],
        env=env,
        cwd=REPO,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "open files but the process may open 1024; raise LimitNOFILE" in done.stderr


def test_a_service_that_cannot_subscribe_exits_with_an_error_and_leaves_no_queue(
    start_progress: Start, local_resources: LocalResources
) -> None:
    with pytest.raises(RuntimeError, match="exited with"):
        start_progress(
            instance_id="i-broken", progress_topic_arn=local_resources.progress_topic_arn + "-gone"
        )
    sqs = client("sqs", local_resources.endpoint_url)
    assert not sqs.list_queues(QueueNamePrefix=local_resources.names.progress_queue_prefix + "i-broken").get(
        "QueueUrls"
    )


def test_a_killed_worker_is_respawned_onto_the_same_queue(
    start_progress: Start, issue: Issue, publish: Publish, local_resources: LocalResources
) -> None:
    server = start_progress()
    (worker,) = children(server.process.pid)
    os.kill(worker, signal.SIGKILL)
    _wait_until(lambda: children(server.process.pid) - {worker} != set(), "a new worker was started")
    moto_server.wait_for_http(f"{server.url}/events/health/live", process=server.process)

    video, task = uuid.uuid4(), uuid.uuid4()
    reader = server.connect(video, issue(video))
    reader.event()
    publish(progress_event(video, task, 1, VideoState.READY))
    assert _sequences(reader.rest()) == [1]
    sqs = client("sqs", local_resources.endpoint_url)
    queues = sqs.list_queues(QueueNamePrefix=local_resources.names.progress_queue_prefix).get("QueueUrls", [])
    assert [url for url in queues if server.instance_id in url] == [
        sqs.get_queue_url(QueueName=server.queue_name)["QueueUrl"]
    ]


def test_an_instance_restarted_after_a_crash_takes_a_new_queue_and_sweeps_the_old_one(
    start_progress: Start, issue: Issue, publish: Publish, local_resources: LocalResources
) -> None:
    """SQS refuses a queue name for 60 s after its queue is deleted ("You must wait 60 seconds
    after deleting a queue before you can create another queue with the same name",
    QueueDeletedRecently, https://docs.aws.amazon.com/botocore/latest/reference/services/sqs/client/exceptions/QueueDeletedRecently.html);
    the emulator does not, so the test checks the restart never reuses the name, and that the
    queue and subscription the killed boot left behind are gone once the next boot serves."""
    sqs = client("sqs", local_resources.endpoint_url)
    sns = client("sns", local_resources.endpoint_url)
    crashed = start_progress(instance_id=f"i-{uuid.uuid4().hex[:10]}")
    old_url = sqs.get_queue_url(QueueName=crashed.queue_name)["QueueUrl"]
    old_arn = sqs.get_queue_attributes(QueueUrl=old_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    workers = children(crashed.process.pid)
    crashed.process.kill()  # SIGKILL: no shutdown hook runs, the queue stays behind
    crashed.process.wait(10)
    _wait_until(lambda: not running(workers), "the orphaned worker noticed its master died and left")

    restarted = start_progress(instance_id=crashed.instance_id)

    assert restarted.queue_name != crashed.queue_name
    queues = sqs.list_queues(QueueNamePrefix=local_resources.names.progress_queue_prefix).get("QueueUrls", [])
    assert [url.rsplit("/", 1)[-1] for url in queues if crashed.instance_id in url] == [restarted.queue_name]
    endpoints = [
        s["Endpoint"]
        for s in sns.list_subscriptions_by_topic(TopicArn=local_resources.progress_topic_arn)["Subscriptions"]
    ]
    assert old_arn not in endpoints
    video, task = uuid.uuid4(), uuid.uuid4()
    reader = restarted.connect(video, issue(video))
    reader.event()
    publish(progress_event(video, task, 1, VideoState.READY))
    assert _sequences(reader.rest()) == [1]


def test_a_killed_instances_queue_is_swept_by_another_instance_booting_once_its_heartbeat_is_stale(
    start_progress: Start, local_resources: LocalResources
) -> None:
    sqs = client("sqs", local_resources.endpoint_url)
    killed = start_progress()
    url = sqs.get_queue_url(QueueName=killed.queue_name)["QueueUrl"]
    workers = children(killed.process.pid)
    killed.process.kill()
    killed.process.wait(10)
    _wait_until(lambda: not running(workers), "the orphaned worker noticed its master died and left")
    # As if its machine had been gone for longer than the sweep waits: no heartbeat since.
    silent_since = str(int(time.time()) - instance_queue.STALE_AFTER_SECONDS - 1)
    sqs.tag_queue(QueueUrl=url, Tags={instance_queue.HEARTBEAT_TAG: silent_since})

    replacement = start_progress()

    queues = sqs.list_queues(QueueNamePrefix=local_resources.names.progress_queue_prefix).get("QueueUrls", [])
    assert url not in queues
    assert replacement.queue_name in " ".join(queues)
