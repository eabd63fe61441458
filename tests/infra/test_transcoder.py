from __future__ import annotations

import ast
import itertools
import json
import math
from typing import Any

import pytest

from app.contracts.names import TASK_MAX_RECEIVES, TASK_VISIBILITY_TIMEOUT_SECONDS
from infra._common import env_from_user_data, statement
from infra.transcoder import (
    MAX_STEP_ADJUSTMENTS,
    capacity_steps,
    group_arn_pattern,
    transcoder_policy,
    worker_units,
)
from pulumi_offline.graph import Graph, as_list, statements_allowing

QUEUE = "arn:aws:sqs:us-east-1:1:reelstack-prod-tasks"
DLQ = "arn:aws:sqs:us-east-1:1:reelstack-prod-tasks-dlq"
UPLOADS, MEDIA = "arn:aws:s3:::up", "arn:aws:s3:::me"
TOPIC = "arn:aws:sns:us-east-1:1:reelstack-prod-progress"
KEY = "arn:aws:kms:us-east-1:1:key/k"
GROUP = "arn:aws:autoscaling:us-east-1:1:autoScalingGroup:*:autoScalingGroupName/reelstack-prod-transcoders"


def _policy() -> dict[str, Any]:
    return transcoder_policy((QUEUE, DLQ), (UPLOADS, MEDIA), TOPIC, KEY, GROUP)


def test_transcoder_reads_uploads_writes_media_and_cannot_delete_sources() -> None:
    policy = _policy()
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadSources"] == {
        "Sid": "ReadSources",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": [f"{UPLOADS}/uploads/*"],
    }
    assert by_sid["WriteOutputs"]["Resource"] == [f"{MEDIA}/*"]
    assert by_sid["PublishProgress"]["Resource"] == [TOPIC]
    assert by_sid["ConsumeTasks"]["Resource"] == [QUEUE]
    on_uploads = {
        a
        for s in policy["Statement"]
        for a in s["Action"]
        if any(r.startswith(UPLOADS) for r in s["Resource"])
    }
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert on_uploads == {"s3:GetObject", "s3:ListBucket"} and "sqs:SendMessage" not in actions


def test_a_retried_task_may_delete_what_an_earlier_attempt_left_in_media() -> None:
    # app/transcoder/worker.py lists the task's prefix and deletes stale outputs (DeleteObjects).
    policy = _policy()
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
    policy = _policy()
    on_dlq = {a for s in policy["Statement"] if DLQ in s["Resource"] for a in s["Action"]}
    assert on_dlq == {"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility"}


class _IfToConditional(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        assert isinstance(node.func, ast.Name)
        if node.func.id == "CEIL":
            return node
        assert node.func.id == "IF" and len(node.args) == 3
        return ast.IfExp(test=node.args[0], body=node.args[1], orelse=node.args[2])


def metric_math(expression: str, values: dict[str, float]) -> float:
    """The value of a CloudWatch metric-math expression over the subset the fleet's rules use
    (IF, AND, CEIL, arithmetic, comparisons), the metrics' ids bound to ``values``."""
    tree = _IfToConditional().visit(ast.parse(expression.replace(" AND ", " and "), mode="eval"))
    code = compile(ast.fix_missing_locations(tree), "<metric math>", "eval")
    return float(eval(code, {"__builtins__": {}}, {"CEIL": math.ceil, **values}))  # noqa: S307 (the synthesized expression)


def test_fleet_may_scale_to_zero(prod: Graph) -> None:
    group = prod.one("aws:autoscaling/group:Group", "transcoder-asg").inputs
    assert group["minSize"] == 0 and group["maxSize"] == 20


def test_workers_may_protect_only_their_own_groups_instances_from_scale_in(prod: Graph) -> None:
    """SetInstanceProtection supports resource-level permissions: its resource type is
    ``autoScalingGroup`` (required) in "Actions, resources, and condition keys for Amazon EC2
    Auto Scaling" (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2autoscaling.html),
    whose ARN is ``arn:aws:autoscaling:<region>:<account>:autoScalingGroup:<uuid>:autoScalingGroupName/<name>``
    (https://docs.aws.amazon.com/autoscaling/ec2/userguide/control-access-using-iam.html); the uuid
    is AWS's, known only after creation, so the grant names the group by its name."""
    group = prod.one("aws:autoscaling/group:Group", "transcoder-asg").inputs
    env = env_from_user_data(
        prod.one("aws:ec2/launchTemplate:LaunchTemplate", "transcoder-lt").inputs["userData"], "transcoder"
    )
    assert group["name"] == env["REELSTACK_AUTOSCALING_GROUP"] == "reelstack-prod-transcoders"
    protecting = [
        s
        for s in statements_allowing(prod.role_policy("transcoder-policy"))
        if "autoscaling:SetInstanceProtection" in as_list(s["Action"])
    ]
    assert [(as_list(s["Action"]), as_list(s["Resource"])) for s in protecting] == [
        (
            ["autoscaling:SetInstanceProtection"],
            [group_arn_pattern("us-east-1", "123456789012", "reelstack-prod-transcoders")],
        )
    ]
    assert (
        group_arn_pattern("us-east-1", "1", "g")
        == "arn:aws:autoscaling:us-east-1:1:autoScalingGroup:*:autoScalingGroupName/g"
    )


def test_a_missing_source_is_answered_not_found_because_workers_may_list_the_sources_prefix() -> None:
    """AWS's rule: if a requested object does not exist, S3's error "depends on whether you also
    have the s3:ListBucket permission": with it 404 Not Found, without it 403 Access Denied
    (GetObject and HeadObject, Permissions: https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html,
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html). With GetObject alone a
    deleted or expired upload looked like a transient denial and was retried into the DLQ. The
    listing is limited to the sources' key prefix with the ``s3:prefix`` condition key
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html); the
    emulator does not evaluate conditions, so the document itself is the test."""
    by_sid = {s["Sid"]: s for s in _policy()["Statement"]}
    assert by_sid["FindSources"] == {
        "Sid": "FindSources",
        "Effect": "Allow",
        "Action": ["s3:ListBucket"],
        "Resource": [UPLOADS],
        "Condition": {"StringLike": {"s3:prefix": ["uploads/*"]}},
    }
    assert by_sid["ReadSources"]["Resource"] == [f"{UPLOADS}/uploads/*"]


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


def _step(policy: dict[str, Any], breach: float) -> int:
    """The adjustment of the step whose interval (offsets from the alarm's threshold) holds ``breach``."""
    (step,) = [
        s
        for s in policy["stepAdjustments"]
        if float(s.get("metricIntervalLowerBound", "-inf")) <= breach
        and breach < float(s.get("metricIntervalUpperBound", "inf"))
    ]
    return int(step["scalingAdjustment"])


def _capacity_after(graph: Graph, direction: str, *, waiting: int, in_flight: int, desired: int) -> int:
    """The desired capacity after the ``direction`` (grow or shrink) alarm's action, computed from
    the synthesized alarm and step policy: unchanged while the alarm is not breaching."""
    alarm = graph.one("aws:cloudwatch/metricAlarm:MetricAlarm", f"transcoder-{direction}").inputs
    by_metric = {
        "ApproximateNumberOfMessagesVisible": waiting,
        "ApproximateNumberOfMessagesNotVisible": in_flight,
        "GroupDesiredCapacity": desired,
    }
    queries = alarm["metricQueries"]
    values = {q["id"]: by_metric[q["metric"]["metricName"]] for q in queries if q.get("metric")}
    (returned,) = [q for q in queries if q.get("returnData")]
    gap = metric_math(returned["expression"], values)
    assert alarm["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    if gap < alarm["threshold"]:
        return desired
    policy = graph.one("aws:autoscaling/policy:Policy", f"transcoder-{direction}").inputs
    assert (policy["policyType"], policy["adjustmentType"]) == ("StepScaling", "ChangeInCapacity")
    assert alarm["alarmActions"] == [f"arn:aws:autoscaling:us-east-1:123456789012:transcoder-{direction}"]
    return desired + _step(policy, gap - alarm["threshold"])


def _shrunk_capacity(graph: Graph, *, waiting: int, in_flight: int, desired: int) -> int:
    return _capacity_after(graph, "shrink", waiting=waiting, in_flight=in_flight, desired=desired)


@pytest.mark.parametrize(
    ("stack", "waiting", "in_flight", "desired", "after"),
    [
        # From zero: one instance per 1.5 tasks per worker (prod: 4 workers, dev: 2), no wake-up alarm.
        ("prod", 3, 0, 0, 1),
        ("prod", 30, 0, 0, 5),
        ("dev", 4, 0, 0, 2),
        # Every worker busy, nothing waiting: full, not idle (the visible backlog alone reads 0 here).
        ("prod", 0, 20, 5, 5),
        ("dev", 0, 4, 2, 2),
        # Tasks waiting beyond the workers' half a task each: one instance per 6 (prod) tasks.
        ("prod", 8, 8, 2, 3),
        ("prod", 6, 12, 2, 3),
        # A burst beyond the group's maximum: the maximum (the group clamps the rest).
        ("prod", 200, 0, 0, 20),
    ],
)
def test_the_fleet_grows_to_the_instances_its_tasks_waiting_and_in_flight_need(
    stack: str, waiting: int, in_flight: int, desired: int, after: int, request: pytest.FixtureRequest
) -> None:
    """AWS's sizing for a queue: "backlog per instance" over the queue's messages and the group's
    capacity with metric math
    (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-target-tracking-metric-math.html);
    a task hidden while a worker runs it is load too, or the group reads 0 while every worker is
    busy. The step policy's adjustments move the desired capacity by the instances short
    (ChangeInCapacity, https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html)."""
    graph: Graph = request.getfixturevalue(stack)
    grown = _capacity_after(graph, "grow", waiting=waiting, in_flight=in_flight, desired=desired)
    maximum = graph.one("aws:autoscaling/group:Group", "transcoder-asg").inputs["maxSize"]
    assert min(grown, maximum) == after


def test_the_fleet_grows_on_the_first_minute_that_shows_a_gap_and_no_tracking_or_wake_policy_is_left(
    prod: Graph,
) -> None:
    """Target tracking's alarms, which may not be edited, scale out after 3 one-minute datapoints
    above the target and scale in after 15 below it
    (https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking.html:
    "Do not edit ... the CloudWatch alarms"; the 3 and 15 datapoints as users see them:
    https://github.com/aws/copilot-cli/issues/4233), and it cannot scale from zero, which needed a
    wake-up policy of its own. A step policy's alarm is ours: one datapoint."""
    alarm = prod.one("aws:cloudwatch/metricAlarm:MetricAlarm", "transcoder-grow").inputs
    assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (1, 1)
    assert {q["metric"]["period"] for q in alarm["metricQueries"] if q.get("metric")} == {60}
    policies = {r.name: r.inputs["policyType"] for r in prod.of_type("aws:autoscaling/policy:Policy")}
    assert {n: t for n, t in policies.items() if n.startswith("transcoder-")} == {
        "transcoder-grow": "StepScaling",
        "transcoder-shrink": "StepScaling",
    }


def test_the_scaling_alarms_count_the_task_queues_visible_and_hidden_tasks_and_the_desired_capacity(
    prod: Graph,
) -> None:
    for direction, capacity_stat in (("grow", "Maximum"), ("shrink", "Minimum")):
        alarm = prod.one("aws:cloudwatch/metricAlarm:MetricAlarm", f"transcoder-{direction}").inputs
        metrics = {q["id"]: q["metric"] for q in alarm["metricQueries"] if q.get("metric")}
        assert {id_: (m["metricName"], m["dimensions"], m["stat"]) for id_, m in metrics.items()} == {
            "m1": ("ApproximateNumberOfMessagesVisible", {"QueueName": "reelstack-prod-tasks"}, "Sum"),
            "m3": ("ApproximateNumberOfMessagesNotVisible", {"QueueName": "reelstack-prod-tasks"}, "Sum"),
            "d": (
                "GroupDesiredCapacity",
                {"AutoScalingGroupName": "reelstack-prod-transcoders"},
                capacity_stat,
            ),
        }


@pytest.mark.parametrize(
    ("stack", "waiting", "in_flight", "desired", "after"),
    [
        # A burst is over: 3 tasks left on a fleet of 6 instances of 4 workers: one instance.
        ("prod", 0, 3, 6, 1),
        # Nothing left: to zero (the minimum).
        ("prod", 0, 0, 20, 0),
        ("dev", 0, 0, 2, 0),
        # Every worker busy and nothing waiting, at 1.5 tasks per worker: one instance fewer, which
        # leaves when it goes idle (protected until then).
        ("prod", 0, 20, 5, 4),
        # Enough tasks for the instances: no scale-in.
        ("prod", 0, 24, 4, 4),
        ("prod", 6, 2, 1, 1),
        ("dev", 1, 4, 2, 2),
    ],
)
def test_the_fleet_shrinks_to_the_instances_its_tasks_need(
    stack: str, waiting: int, in_flight: int, desired: int, after: int, request: pytest.FixtureRequest
) -> None:
    graph: Graph = request.getfixturevalue(stack)
    assert _shrunk_capacity(graph, waiting=waiting, in_flight=in_flight, desired=desired) == after


def test_the_fleet_shrinks_after_two_quiet_minutes_not_fifteen(prod: Graph) -> None:
    """Each datapoint is a minute (SQS pushes its metrics every minute:
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html),
    and the alarm needs every one of its evaluation periods to breach. Missing data (no metric)
    never scales in."""
    alarm = prod.one("aws:cloudwatch/metricAlarm:MetricAlarm", "transcoder-shrink").inputs
    assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (2, 2)
    assert {q["metric"]["period"] for q in alarm["metricQueries"] if q.get("metric")} == {60}
    assert alarm["treatMissingData"] == "notBreaching"


def test_scale_in_counts_the_desired_capacity_so_protected_instances_are_not_removed_twice(
    prod: Graph,
) -> None:
    """An alarm with an Auto Scaling action invokes it again every minute it stays in ALARM
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html), and a
    protected instance stays in service after the scale-in lowered the desired capacity
    (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-instance-protection.html).
    Counting in-service instances, the alarm would keep breaching and lower the capacity again
    every minute; the desired capacity (its minimum over the minute) drops with the first action."""
    alarm = prod.one("aws:cloudwatch/metricAlarm:MetricAlarm", "transcoder-shrink").inputs
    capacity = [
        q["metric"]
        for q in alarm["metricQueries"]
        if q.get("metric", {}).get("namespace") == "AWS/AutoScaling"
    ]
    assert [(m["metricName"], m["stat"]) for m in capacity] == [("GroupDesiredCapacity", "Minimum")]
    # Four protected busy instances, 8 tasks, after a scale-in to 2: the next minute is quiet.
    assert _shrunk_capacity(prod, waiting=0, in_flight=8, desired=2) == 2


@pytest.mark.parametrize("max_size", [1, 2, 20, 21, 500])
def test_capacity_steps_fit_the_quota_and_cover_every_gap_once(max_size: int) -> None:
    """At most 20 step adjustments per step scaling policy (quotas, "Auto Scaling group
    configuration": https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-account-limits.html);
    ranges may not overlap or leave a gap, and one (the last) is open above
    (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StepAdjustment.html)."""
    steps = capacity_steps(max_size)
    assert 1 <= len(steps) <= MAX_STEP_ADJUSTMENTS
    assert steps[0][0] == 0 and steps[-1][1] is None
    assert all(upper == following[0] for (_, upper, _), following in itertools.pairwise(steps))
    # A gap of k instances moves k, up to the last step.
    assert [n for _, _, n in steps] == list(range(1, len(steps) + 1))
    assert len(steps) == min(max_size, MAX_STEP_ADJUSTMENTS)
