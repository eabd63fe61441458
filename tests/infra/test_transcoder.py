from __future__ import annotations

import json

import pytest

from app.contracts.names import TASK_MAX_RECEIVES, TASK_VISIBILITY_TIMEOUT_SECONDS
from infra._common import statement
from infra.transcoder import backlog_expression, transcoder_policy, worker_units
from tests.infra.graph import Graph

QUEUE = "arn:aws:sqs:us-east-1:1:reelstack-prod-tasks"
DLQ = "arn:aws:sqs:us-east-1:1:reelstack-prod-tasks-dlq"
UPLOADS, MEDIA = "arn:aws:s3:::up", "arn:aws:s3:::me"
TOPIC = "arn:aws:sns:us-east-1:1:reelstack-prod-progress"
KEY = "arn:aws:kms:us-east-1:1:key/k"


def test_transcoder_reads_uploads_writes_media_and_cannot_delete_sources() -> None:
    policy = transcoder_policy((QUEUE, DLQ), (UPLOADS, MEDIA), TOPIC, KEY)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadSources"] == {
        "Sid": "ReadSources",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": [f"{UPLOADS}/*"],
    }
    assert by_sid["WriteOutputs"]["Resource"] == [f"{MEDIA}/*"]
    assert by_sid["PublishProgress"]["Resource"] == [TOPIC]
    assert by_sid["ConsumeTasks"]["Resource"] == [QUEUE]
    on_uploads = {a for s in policy["Statement"] for a in s["Action"] if f"{UPLOADS}/*" in s["Resource"]}
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert on_uploads == {"s3:GetObject"} and "sqs:SendMessage" not in actions


def test_a_retried_task_may_delete_what_an_earlier_attempt_left_in_media() -> None:
    # app/transcoder/worker.py lists the task's prefix and deletes stale outputs (DeleteObjects).
    policy = transcoder_policy((QUEUE, DLQ), (UPLOADS, MEDIA), TOPIC, KEY)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert "s3:DeleteObject" in by_sid["WriteOutputs"]["Action"]
    assert by_sid["ListOutputs"]["Action"] == ["s3:ListBucket"] and by_sid["ListOutputs"]["Resource"] == [
        MEDIA
    ]


def test_policy_builder_refuses_wildcards() -> None:
    with pytest.raises(ValueError):
        statement("x", ["s3:*"], ["arn:aws:s3:::b"])
    with pytest.raises(ValueError):
        statement("x", ["s3:GetObject"], ["*"])


def test_task_queue_redrives_to_its_dlq_after_the_shared_receive_count(prod: Graph) -> None:
    queue = prod.one("aws:sqs/queue:Queue", "transcoder-tasks").inputs
    assert queue["name"] == "reelstack-prod-tasks"
    assert queue["visibilityTimeoutSeconds"] == TASK_VISIBILITY_TIMEOUT_SECONDS
    redrive = json.loads(queue["redrivePolicy"])
    assert redrive == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:reelstack-prod-tasks-dlq",
        "maxReceiveCount": TASK_MAX_RECEIVES,
    }
    for name in ("transcoder-tasks", "transcoder-tasks-dlq"):
        assert prod.one("aws:sqs/queue:Queue", name).inputs["sqsManagedSseEnabled"] is True


def test_an_alarm_fires_when_a_task_reaches_the_dlq_even_while_a_worker_keeps_it_hidden(prod: Graph) -> None:
    alarm = prod.one("aws:cloudwatch/metricAlarm:MetricAlarm", "transcoder-dlq-not-empty").inputs
    assert alarm["comparisonOperator"] == "GreaterThanThreshold" and alarm["threshold"] == 0
    queries = {q["id"]: q for q in alarm["metricQueries"]}
    expression = next(q for q in queries.values() if q.get("returnData"))["expression"]
    summed = {
        queries[id_]["metric"]["metricName"]: queries[id_]["metric"]["dimensions"]
        for id_ in expression.split(" + ")
    }
    # Workers that report a dead letter leave it invisible for 12 h (app/transcoder/worker.py).
    assert summed == {
        "ApproximateNumberOfMessagesVisible": {"QueueName": "reelstack-prod-tasks-dlq"},
        "ApproximateNumberOfMessagesNotVisible": {"QueueName": "reelstack-prod-tasks-dlq"},
    }


def test_workers_may_read_and_hide_dead_letters_but_not_delete_them() -> None:
    policy = transcoder_policy((QUEUE, DLQ), (UPLOADS, MEDIA), TOPIC, KEY)
    on_dlq = {a for s in policy["Statement"] if DLQ in s["Resource"] for a in s["Action"]}
    assert on_dlq == {"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility"}


def test_fleet_may_scale_to_zero_and_tracks_backlog_per_instance_with_metric_math(prod: Graph) -> None:
    group = prod.one("aws:autoscaling/group:Group", "transcoder-asg").inputs
    assert group["minSize"] == 0 and group["maxSize"] == 20
    policy = prod.one("aws:autoscaling/policy:Policy", "transcoder-backlog").inputs
    assert policy["policyType"] == "TargetTrackingScaling"
    tracking = policy["targetTrackingConfiguration"]
    assert tracking["targetValue"] == 4
    metrics = {m["id"]: m for m in tracking["customizedMetricSpecification"]["metrics"]}
    assert metrics["m1"]["metricStat"]["metric"]["metricName"] == "ApproximateNumberOfMessagesVisible"
    assert metrics["m1"]["metricStat"]["metric"]["dimensions"] == [
        {"name": "QueueName", "value": "reelstack-prod-tasks"}
    ]
    assert metrics["m2"]["metricStat"]["metric"]["metricName"] == "GroupInServiceInstances"
    assert (
        metrics["backlog"]["expression"] == backlog_expression() and metrics["backlog"]["returnData"] is True
    )
    assert [m for m in metrics.values() if m.get("returnData")] == [metrics["backlog"]]


def test_an_idle_fleet_wakes_when_tasks_wait(prod: Graph) -> None:
    alarm = prod.one("aws:cloudwatch/metricAlarm:MetricAlarm", "transcoder-wake").inputs
    expression = next(q for q in alarm["metricQueries"] if q.get("returnData"))["expression"]
    assert "m1 > 0" in expression and "m2 < 1" in expression
    wake = prod.one("aws:autoscaling/policy:Policy", "transcoder-wake").inputs
    assert (wake["adjustmentType"], wake["scalingAdjustment"]) == ("ExactCapacity", 1)
    assert alarm["alarmActions"] == ["arn:aws:autoscaling:us-east-1:123456789012:transcoder-wake"]


def test_prod_mixes_spot_capacity_dev_runs_on_demand(prod: Graph, dev: Graph) -> None:
    mixed = prod.one("aws:autoscaling/group:Group", "transcoder-asg").inputs["mixedInstancesPolicy"]
    types = [o["instanceType"] for o in mixed["launchTemplate"]["overrides"]]
    assert types == ["c7g.2xlarge", "c7g.4xlarge", "c6g.2xlarge"]
    assert mixed["instancesDistribution"]["onDemandPercentageAboveBaseCapacity"] == 25
    dev_group = dev.one("aws:autoscaling/group:Group", "transcoder-asg").inputs
    assert "mixedInstancesPolicy" not in dev_group and dev_group["launchTemplate"]["version"] == "$Latest"


def test_workers_have_no_ingress(prod: Graph) -> None:
    assert (
        prod.one("aws:ec2/securityGroup:SecurityGroup", "transcoder-instances").inputs.get("ingress", [])
        == []
    )


def test_worker_units_are_numbered_from_one() -> None:
    assert worker_units(3) == [
        "reelstack-transcoder@1.service",
        "reelstack-transcoder@2.service",
        "reelstack-transcoder@3.service",
    ]


def test_fleet_outputs_its_queues(prod: Graph) -> None:
    outputs = prod.outputs_of(prod.one("reelstack:index:TranscoderFleet", "transcoder"))
    assert outputs["queue_url"].endswith("/reelstack-prod-tasks")
    assert outputs["dlq_url"] == prod.exports["task_dlq_url"]
