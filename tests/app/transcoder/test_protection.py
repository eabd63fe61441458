"""Scale-in protection, read back from the emulator's Auto Scaling API: on while any worker of the
instance holds a task, off when none does, a killed worker's claim included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from app.contracts.messages import VideoState
from app.contracts.settings import TranscoderSettings, load
from app.local.provision import client
from app.transcoder.protection import ProtectionError, ScaleInProtection
from app.transcoder.worker import AwsClients, Worker
from tests.app.transcoder.conftest import EXIT_WAIT_SECONDS, Media, Pipeline, run_one, transcoder_env


@dataclass(frozen=True)
class Group:
    autoscaling: Any
    name: str
    instance_id: str

    def protected(self) -> bool:
        instances = self.autoscaling.describe_auto_scaling_instances(InstanceIds=[self.instance_id])
        return bool(instances["AutoScalingInstances"][0]["ProtectedFromScaleIn"])

    def protection(self, work_dir: Path) -> ScaleInProtection:
        """What one worker process on the instance holds (workers of one instance share ``work_dir``)."""
        return ScaleInProtection(self.autoscaling, self.name, self.instance_id, work_dir)


@pytest.fixture
def group(moto_endpoint: str) -> Group:
    """An Auto Scaling group with one in-service instance, in the emulator."""
    ec2, autoscaling = client("ec2", moto_endpoint), client("autoscaling", moto_endpoint)
    name = f"transcoders-{uuid.uuid4().hex[:8]}"
    ec2.create_launch_template(
        LaunchTemplateName=name, LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "c7g.large"}
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name,
        MinSize=0,
        MaxSize=2,
        DesiredCapacity=1,
        LaunchTemplate={"LaunchTemplateName": name},
        AvailabilityZones=["us-east-1a"],
    )
    (instance,) = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][
        0
    ]["Instances"]
    return Group(autoscaling, name, instance["InstanceId"])


def test_a_worker_holding_a_task_protects_its_instance_until_the_task_is_done(
    group: Group, tmp_path: Path
) -> None:
    protection = group.protection(tmp_path)
    assert not group.protected()
    with protection.holding_task():
        assert group.protected()
    assert not group.protected()


def test_the_instance_stays_protected_while_any_of_its_workers_holds_a_task(
    group: Group, tmp_path: Path
) -> None:
    first, second = group.protection(tmp_path), group.protection(tmp_path)
    with first.holding_task():
        with second.holding_task():
            assert group.protected()
        assert group.protected()  # the first still works
        first.lift_if_idle()  # an idle check while a task is held changes nothing
        assert group.protected()
    assert not group.protected()


@pytest.fixture
def killed_holder(group: Group, tmp_path: Path, moto_endpoint: str) -> Iterator[subprocess.Popen[bytes]]:
    """Another worker process of the instance, holding a task (kill it to make its claim stale)."""
    script = f"""
import sys, time
from pathlib import Path
from app.local.provision import client
from app.transcoder.protection import ScaleInProtection
autoscaling = client("autoscaling", {moto_endpoint!r})
protection = ScaleInProtection(autoscaling, {group.name!r}, {group.instance_id!r}, Path({str(tmp_path)!r}))
with protection.holding_task():
    print("holding", flush=True)
    time.sleep(600)
"""
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stdout.readline() == b"holding\n"
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=EXIT_WAIT_SECONDS)


def test_a_worker_killed_holding_a_task_leaves_no_protection_once_a_sibling_is_idle(
    group: Group, tmp_path: Path, killed_holder: subprocess.Popen[bytes]
) -> None:
    sibling = group.protection(tmp_path)
    sibling.lift_if_idle()
    assert group.protected(), "the other worker is alive and holds its task"
    os.kill(killed_holder.pid, signal.SIGKILL)
    killed_holder.wait(timeout=EXIT_WAIT_SECONDS)
    assert group.protected()  # nobody told AWS
    sibling.lift_if_idle()
    assert not group.protected()
    # A later task on the instance protects it again: the dead claim is gone, not left "on".
    with sibling.holding_task():
        assert group.protected()
    assert not group.protected()


def _worker(
    pipeline: Pipeline,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    autoscaling: Any,
    group: str,
    instance_id: str,
) -> Worker:
    for name, value in transcoder_env(pipeline.resources, tmp_path / "work", ladder="360").items():
        monkeypatch.setenv(name, value)
    settings = load(TranscoderSettings)
    aws = AwsClients(
        sqs=pipeline.sqs,
        s3=pipeline.s3,
        sns=client("sns", pipeline.resources.endpoint_url),
        autoscaling=autoscaling,
    )
    protection = ScaleInProtection(autoscaling, group, instance_id, Path(settings.work_dir))
    return Worker(settings, aws, protection=protection)


def test_a_worker_keeps_its_instance_protected_while_it_transcodes(
    pipeline: Pipeline, group: Group, media: Media, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = _worker(pipeline, tmp_path, monkeypatch, group.autoscaling, group.name, group.instance_id)
    task = pipeline.submit(media.long)
    work = threading.Thread(target=run_one, args=(worker,))
    work.start()
    try:
        pipeline.wait_for(lambda e: e.task_id == task.task_id and e.state == VideoState.TRANSCODING)
        assert group.protected()
    finally:
        work.join(timeout=EXIT_WAIT_SECONDS)
    assert not work.is_alive()
    assert pipeline.terminal(task.task_id).state == VideoState.READY
    assert not group.protected()


def test_a_task_received_on_an_instance_that_cannot_be_protected_is_released_at_once(
    pipeline: Pipeline, media: Media, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Auto Scaling refuses (say, an instance that is leaving the group): the task must not run here.
    autoscaling = client("autoscaling", pipeline.resources.endpoint_url)
    stubber = Stubber(autoscaling)
    stubber.add_client_error(
        "set_instance_protection",
        service_error_code="ValidationError",
        service_message="The instance is not in InService.",
    )
    worker = _worker(pipeline, tmp_path, monkeypatch, autoscaling, "transcoders", "i-0123456789abcdef0")
    task = pipeline.submit(media.silent)
    with stubber:
        run_one(worker)
    stubber.assert_no_pending_responses()
    again = pipeline.sqs.receive_message(QueueUrl=pipeline.resources.task_queue_url, WaitTimeSeconds=1)
    assert [m["Body"] for m in again.get("Messages", [])] == [task.model_dump_json()], "released, not hidden"
    pipeline.drain()
    assert pipeline.events_of(task.task_id) == [], "the task never started here"


def test_a_protection_that_cannot_be_set_is_no_claim(group: Group, tmp_path: Path) -> None:
    stubber = Stubber(group.autoscaling)
    stubber.add_client_error("set_instance_protection", service_error_code="ValidationError")
    refused = group.protection(tmp_path)
    with stubber, pytest.raises(ProtectionError), refused.holding_task():
        raise AssertionError("the block must not run")
    # Nothing of the refused attempt counts: the next task protects the instance, its end lifts it.
    with group.protection(tmp_path).holding_task():
        assert group.protected()
    assert not group.protected()


def test_off_aws_the_worker_refuses_a_group_it_cannot_find_its_instance_in(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        **transcoder_env(pipeline.resources, tmp_path / "work", autoscaling_group="transcoders"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "transcoder"],
        env=env,
        capture_output=True,
        timeout=EXIT_WAIT_SECONDS,
    )
    assert result.returncode == 2 and b"REELSTACK_AUTOSCALING_GROUP" in result.stderr


def test_the_local_platform_runs_workers_without_protection(pipeline: Pipeline, tmp_path: Path) -> None:
    env = transcoder_env(pipeline.resources, tmp_path / "work")
    # The component sets the group's name; the local platform empties it, which turns protection off.
    assert env.get("REELSTACK_AUTOSCALING_GROUP", "") == "", (
        "no Auto Scaling group locally: no protection calls"
    )
