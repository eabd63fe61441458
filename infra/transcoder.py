"""TranscoderFleet: the task queue (with DLQ and an alarm on it) and the workers that drain it.

The Auto Scaling group may sit at zero. Two step scaling policies size it for its tasks, those
in flight as well as those waiting (metric math over the queue's visible and hidden messages:
a fleet whose every worker is busy and whose queue is empty is full, not idle), one instance
per ``workers_per_instance`` x ``tasks_per_worker`` tasks: one adds the instances short as soon as a minute's
datapoint shows a gap (from zero too), the other removes the excess once it has lasted
``scale_in_quiet_minutes``. Target tracking, which this replaces, waits 3 datapoints to scale
out, 15 to scale in, and cannot leave zero on its own. Workers protect their instance from
scale-in while any of them holds a task (``app/transcoder/protection.py``), so a scale-in
removes only idle instances and the busy ones leave as they go idle. Optional spot capacity
uses a mixed-instances policy.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from app.contracts.metrics import (
    FAILURE_REASON_DIMENSION,
    NAMESPACE,
    SERVICE_DIMENSION,
    TASKS_FAILED,
    TASKS_SUCCEEDED,
)
from app.contracts.names import (
    TASK_MAX_RECEIVES,
    TASK_VISIBILITY_TIMEOUT_SECONDS,
    UPLOADS_KEY_PREFIX,
    ResourceNames,
)
from app.contracts.settings import TranscoderSettings
from infra._common import (
    args_of,
    asg_tags,
    declared_outputs,
    policy_document,
    settings_environment,
    standard_tags,
    statement,
)
from infra._fleet import MachineImage, instances, queue_with_dlq
from infra.operations import (
    MIN_TASKS_FOR_RATE,
    AlarmSpec,
    AlarmStatus,
    AlarmThresholds,
    Expression,
    Graph,
    Metric,
    Section,
    dead_letters_alarm,
    insights_sum,
    metric_alarm,
)
from infra.types import BucketReference, Placement, Scaling

ROLE = "transcoder"
# A step scaling policy has at most 20 step adjustments ("Auto Scaling group configuration"
# quotas, https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-account-limits.html).
MAX_STEP_ADJUSTMENTS = 20


DEFAULT_SCALING = Scaling(instance_type="c7g.large", min_size=0, max_size=4)


@dataclass(frozen=True)
class TranscoderFleetArgs:
    """Every knob of the transcoder fleet."""

    names: ResourceNames
    """Shared names (task queue and its DLQ, the Auto Scaling group)."""
    placement: Placement
    """The VPC and private subnets of the workers."""
    uploads_bucket: BucketReference
    """Bucket of source uploads (the workers read its ``sources_key_prefix``)."""
    media_bucket: BucketReference
    """Bucket of outputs (the workers write renditions and thumbnails)."""
    progress_topic_arn: pulumi.Input[str]
    """Topic receiving progress events."""
    progress_topic_key_arn: pulumi.Input[str]
    """KMS key encrypting that topic (publishers need it)."""
    sources_key_prefix: str = UPLOADS_KEY_PREFIX
    """Key prefix of the sources in the uploads bucket, the only keys the workers may read and list."""
    scaling: Scaling = DEFAULT_SCALING
    """On-demand instance type and Auto Scaling bounds; a minimum of 0 lets an idle fleet cost nothing."""
    spot_instance_types: Sequence[str] = ()
    """Extra types for a mixed-instances policy; empty: on-demand only."""
    on_demand_base_capacity: int = 0
    """With spot: instances always on-demand."""
    on_demand_percentage_above_base: int = 100
    """With spot: percent on-demand above the base (0 = all spot)."""
    workers_per_instance: int = 2
    """Worker processes (``reelstack-transcoder@<n>``) per instance."""
    tasks_per_worker: float = 1.5
    """Tasks, waiting or in flight, per worker the group is sized for: 1 keeps every task running
    at once; 1.5 lets half a task per worker wait, which held the p95 wait of a simulated bursty
    day where target tracking at 1 held it and cost a third fewer instance-hours (bench/README.md)."""
    scale_in_quiet_minutes: int = 2
    """Minutes in a row the group must hold more instances than its tasks need before it shrinks
    to them (target tracking's own scale-in waits 15); busy instances stay protected."""
    ladder: str = "1080,720,480,360,240"
    """Comma-separated rendition heights (TranscoderSettings.ladder)."""
    max_source_seconds: float = TranscoderSettings.model_fields["max_source_seconds"].default
    """Longest accepted source, in seconds (TranscoderSettings.max_source_seconds)."""
    max_source_fps: float = TranscoderSettings.model_fields["max_source_fps"].default
    """Highest accepted source frame rate (TranscoderSettings.max_source_fps)."""
    min_source_side: int = TranscoderSettings.model_fields["min_source_side"].default
    """Smallest accepted side of the picture as shown, in pixels (TranscoderSettings.min_source_side)."""
    max_source_side: int = TranscoderSettings.model_fields["max_source_side"].default
    """Largest accepted side of the picture as shown, in pixels (TranscoderSettings.max_source_side)."""
    max_source_pixel_frames: int = TranscoderSettings.model_fields["max_source_pixel_frames"].default
    """Largest accepted width x height x fps x seconds (TranscoderSettings.max_source_pixel_frames)."""
    transcode_timeout_seconds: int = TranscoderSettings.model_fields["transcode_timeout_seconds"].default
    """Wall-clock budget of one transcode (TranscoderSettings.transcode_timeout_seconds)."""
    volume_size_gib: int = 50
    """Root volume (scratch space for sources and outputs)."""
    dlq_alarm_actions: Sequence[str] = ()
    """ARNs notified when a task lands in the DLQ and when it is empty again (e.g. an on-call SNS topic)."""
    security_group_id: pulumi.Input[str] | None = None
    """An existing security group for the workers instead of one of their own (None: the
    component makes it, with no ingress). It must let HTTPS out to AWS APIs."""
    image: MachineImage = field(default_factory=MachineImage)
    """The AMI: pinned, or the newest ``images/build.sh transcoder`` build."""
    log_retention_days: int = 14
    """Days CloudWatch Logs keeps the instances' logs."""
    log_level: str = "INFO"
    """Logging level of the service (TranscoderSettings.log_level)."""
    owner: str = "platform"
    """The ``owner`` tag."""


def group_arn_pattern(region: str, account: str, group_name: str) -> str:
    """The ARN of the Auto Scaling group named ``group_name``, whatever id AWS gives it at creation."""
    return f"arn:aws:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{group_name}"


def transcoder_policy(
    queue_arns: tuple[str, str],
    bucket_arns: tuple[str, str],
    topic_arn: str,
    topic_key_arn: str,
    group_arn: str,
    sources_prefix: str = UPLOADS_KEY_PREFIX,
) -> dict[str, Any]:
    """Workers: consume their queue, read uploads, write (and on retry prune or resume) media, publish
    progress, protect their own group's instances from scale-in.

    ``queue_arns`` is (tasks, its DLQ): workers read dead letters to report them failed,
    but never delete them. ``bucket_arns`` is (uploads, media); sources live under
    ``sources_prefix`` of the uploads. Listing them is what makes S3 answer a missing source
    404 rather than 403.
    """
    queue_arn, dlq_arn = queue_arns
    uploads, media = bucket_arns
    return policy_document(
        statement(
            "ConsumeTasks",
            ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"],
            [queue_arn],
        ),
        statement("ReportDeadLetters", ["sqs:ReceiveMessage", "sqs:ChangeMessageVisibility"], [dlq_arn]),
        statement("ReadSources", ["s3:GetObject"], [f"{uploads}/{sources_prefix}*"]),
        statement(
            "FindSources",
            ["s3:ListBucket"],
            [uploads],
            condition={"StringLike": {"s3:prefix": [f"{sources_prefix}*"]}},
        ),
        statement(
            "WriteOutputs", ["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"], [f"{media}/*"]
        ),
        # A redelivered task resumes from the checkpoints an interrupted attempt stored (checkpoints.py).
        statement("ResumeOutputs", ["s3:GetObject"], [f"{media}/*"]),
        statement("ListOutputs", ["s3:ListBucket"], [media]),
        statement("PublishProgress", ["sns:Publish"], [topic_arn]),
        statement("EncryptProgress", ["kms:GenerateDataKey", "kms:Decrypt"], [topic_key_arn]),
        statement("ProtectBusyInstances", ["autoscaling:SetInstanceProtection"], [group_arn]),
    )


def worker_units(workers_per_instance: int) -> list[str]:
    return [f"reelstack-transcoder@{n}.service" for n in range(1, workers_per_instance + 1)]


def capacity_gap_expression(
    direction: Literal["grow", "shrink"], workers_per_instance: int, tasks_per_worker: float
) -> str:
    """The instances the tasks, waiting (m1) or in flight (m3), need at ``tasks_per_worker`` each,
    less the desired capacity (d) when growing, or the desired capacity less them when shrinking.
    CEIL is metric math's "smallest integer greater than or equal to each value"
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html)."""
    needed = f"CEIL((m1 + m3) / ({workers_per_instance} * {tasks_per_worker:g}))"
    return f"{needed} - d" if direction == "grow" else f"d - {needed}"


def capacity_steps(max_size: int) -> list[tuple[float, float | None, int]]:
    """The step adjustments of a policy whose alarm counts instances and breaches at 1, as
    (lower bound, upper bound, instances) offsets from the threshold: k instances too many (or
    too few) move the group by k, exactly up to the quota of steps; a larger gap moves it by
    the last step, and the alarm, which invokes an Auto Scaling action again every minute it
    stays in ALARM (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html),
    moves the rest a minute later."""
    count = min(max(max_size, 1), MAX_STEP_ADJUSTMENTS)
    return [(k - 1.0, float(k) if k < count else None, k) for k in range(1, count + 1)]


def tasks_per_worker_expression(workers_per_instance: int) -> str:
    """Tasks waiting (m1) or in flight (m3) per worker of the in-service instances (m2); the
    task count itself when none is in service (where the wake alarm, not this, acts)."""
    return f"IF(m2 > 0, (m1 + m3) / (m2 * {workers_per_instance}), m1 + m3)"


class TranscoderFleet(pulumi.ComponentResource):
    """Task queue + DLQ + alarm, and an ASG of transcoder workers that scales on tasks per worker."""

    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    instance_role_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    asg_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    queue: aws.sqs.Queue
    """The task queue."""
    dlq: aws.sqs.Queue
    """Its dead-letter queue."""
    group: aws.autoscaling.Group
    """The Auto Scaling group of the instances."""
    role: aws.iam.Role
    """The instances' role (attach further policies to it)."""
    security_group: aws.ec2.SecurityGroup | None
    """The workers' security group; None when the Args brought one (``security_group_id``)."""

    def __init__(
        self, name: str, args: TranscoderFleetArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = args_of(TranscoderFleetArgs, args)
        super().__init__("reelstack:index:TranscoderFleet", name, None, opts)
        if args.workers_per_instance < 1:
            raise ValueError("workers_per_instance must be at least 1")
        if args.tasks_per_worker <= 0:
            raise ValueError("tasks_per_worker must be above 0")
        if args.scale_in_quiet_minutes < 1:
            raise ValueError(
                "scale_in_quiet_minutes must be at least 1 (CloudWatch's datapoints are a minute)"
            )
        tags = standard_tags("transcoder", args.owner)
        invoke = pulumi.InvokeOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region
        account = aws.get_caller_identity_output(opts=invoke).account_id
        group_name = args.names.transcoder_group

        queue, dlq = queue_with_dlq(
            f"{name}-tasks",
            self,
            queue_name=args.names.task_queue,
            dlq_name=args.names.task_dlq,
            max_receives=TASK_MAX_RECEIVES,
            visibility_timeout_seconds=TASK_VISIBILITY_TIMEOUT_SECONDS,
            tags=tags,
        )
        # Hidden messages count: workers keep the dead letters they have reported invisible for a while.
        self._dead_letters = dead_letters_alarm(
            "dlq-not-empty",
            dlq.name,
            f"tasks failed {TASK_MAX_RECEIVES} times and reached {args.names.task_dlq}",
        )
        self._dlq_alarm = metric_alarm(
            f"{name}-dlq-not-empty", self, self._dead_letters, actions=args.dlq_alarm_actions, tags=tags
        )

        policy = pulumi.Output.all(
            queue.arn,
            dlq.arn,
            args.uploads_bucket.arn,
            args.media_bucket.arn,
            args.progress_topic_arn,
            args.progress_topic_key_arn,
            region,
            account,
        ).apply(
            lambda v: transcoder_policy(
                (v[0], v[1]),
                (v[2], v[3]),
                v[4],
                v[5],
                group_arn_pattern(v[6], v[7], group_name),
                args.sources_key_prefix,
            )
        )
        environment = {
            "AWS_DEFAULT_REGION": region,
            **settings_environment(
                TranscoderSettings,
                max_source_seconds=args.max_source_seconds,
                max_source_fps=args.max_source_fps,
                min_source_side=args.min_source_side,
                max_source_side=args.max_source_side,
                max_source_pixel_frames=args.max_source_pixel_frames,
                transcode_timeout_seconds=args.transcode_timeout_seconds,
                task_queue_url=queue.url,
                task_dlq_url=dlq.url,
                uploads_bucket=args.uploads_bucket.name,
                media_bucket=args.media_bucket.name,
                progress_topic_arn=args.progress_topic_arn,
                autoscaling_group=group_name,
                ladder=args.ladder,
                visibility_timeout_seconds=TASK_VISIBILITY_TIMEOUT_SECONDS,
                log_level=args.log_level,
            ),
        }
        workers = instances(
            name,
            self,
            args,
            role=ROLE,
            policy=policy,
            environment=environment,
            units=worker_units(args.workers_per_instance),
            description="transcoder workers: no ingress",
            ingress=[],
            tags=tags,
        )
        template = workers.template

        spec = aws.autoscaling.GroupLaunchTemplateArgs(id=template.id, version="$Latest")
        mixed = None
        if args.spot_instance_types:
            mixed = aws.autoscaling.GroupMixedInstancesPolicyArgs(
                launch_template=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateArgs(
                    launch_template_specification=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateLaunchTemplateSpecificationArgs(
                        launch_template_id=template.id, version="$Latest"
                    ),
                    overrides=[
                        aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverrideArgs(instance_type=t)
                        for t in (args.scaling.instance_type, *args.spot_instance_types)
                    ],
                ),
                instances_distribution=aws.autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs(
                    on_demand_base_capacity=args.on_demand_base_capacity,
                    on_demand_percentage_above_base_capacity=args.on_demand_percentage_above_base,
                    spot_allocation_strategy="price-capacity-optimized",
                ),
            )
        group = aws.autoscaling.Group(
            f"{name}-asg",
            name=group_name,
            min_size=args.scaling.min_size,
            max_size=args.scaling.max_size,
            vpc_zone_identifiers=list(args.placement.subnet_ids),
            launch_template=None if mixed else spec,
            mixed_instances_policy=mixed,
            capacity_rebalance=bool(args.spot_instance_types),
            health_check_type="EC2",
            default_instance_warmup=120,
            metrics_granularity="1Minute",
            enabled_metrics=[
                aws.autoscaling.Metric.GROUP_IN_SERVICE_INSTANCES,
                aws.autoscaling.Metric.GROUP_DESIRED_CAPACITY,
            ],
            tags=asg_tags(tags, f"{name}-worker"),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCapacity"]),
        )

        # Tasks waiting (m1) and in flight (m3): the load both scaling rules size the group for;
        # instances in service (m2), which the dashboard divides it by.
        self._load = {
            "m1": Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue.name}, "Sum"),
            "m2": Metric(
                "AWS/AutoScaling", "GroupInServiceInstances", {"AutoScalingGroupName": group.name}, "Average"
            ),
            "m3": Metric(
                "AWS/SQS", "ApproximateNumberOfMessagesNotVisible", {"QueueName": queue.name}, "Sum"
            ),
        }
        self._load_expression = tasks_per_worker_expression(args.workers_per_instance)
        self._step_policy(
            name,
            "grow",
            group,
            args,
            tags,
            quiet_minutes=1,
            description="tasks need more instances: add them",
        )
        self._step_policy(
            name,
            "shrink",
            group,
            args,
            tags,
            quiet_minutes=args.scale_in_quiet_minutes,
            description=(
                f"more instances than the tasks need for {args.scale_in_quiet_minutes} minutes: "
                "scale in to them (busy instances stay protected)"
            ),
        )

        self.queue_url = queue.url
        self.queue_arn = queue.arn
        self.dlq_url = dlq.url
        self.dlq_arn = dlq.arn
        self.instance_role_arn = workers.role.arn
        self.log_group_name = workers.log_group.name
        self.asg_name = group.name
        self.security_group_id = pulumi.Output.from_input(workers.security_group_id)
        self.queue = queue
        self.dlq = dlq
        self.group = group
        self.role = workers.role
        self.security_group = workers.security_group
        self._name = name
        self.register_outputs(declared_outputs(self))

    def _step_policy(
        self,
        name: str,
        direction: Literal["grow", "shrink"],
        group: aws.autoscaling.Group,
        args: TranscoderFleetArgs,
        tags: dict[str, str],
        *,
        quiet_minutes: int,
        description: str,
    ) -> None:
        """A step scaling policy moving the desired capacity to the instances the tasks need, and
        the alarm invoking it once the gap has lasted ``quiet_minutes`` one-minute datapoints.

        The gap counts the desired capacity, not the instances in service: a busy, protected
        instance stays in service after a scale-in lowered the capacity, and a launched one is
        pending for a while; the alarm invokes its action again every minute it stays in ALARM,
        and a gap that counted either would move the group again. Reading the desired capacity's
        lowest value in the minute when shrinking and its highest when growing never overstates
        the gap while the capacity moves."""
        child = pulumi.ResourceOptions(parent=self)
        sign = 1 if direction == "grow" else -1
        policy = aws.autoscaling.Policy(
            f"{name}-{direction}",
            autoscaling_group_name=group.name,
            policy_type="StepScaling",
            adjustment_type="ChangeInCapacity",
            step_adjustments=[
                aws.autoscaling.PolicyStepAdjustmentArgs(
                    scaling_adjustment=sign * instances,
                    metric_interval_lower_bound=f"{lower:g}",
                    metric_interval_upper_bound=None if upper is None else f"{upper:g}",
                )
                for lower, upper, instances in capacity_steps(args.scaling.max_size)
            ],
            opts=child,
        )
        series = {
            "m1": self._load["m1"],
            "m3": self._load["m3"],
            "d": Metric(
                "AWS/AutoScaling",
                "GroupDesiredCapacity",
                {"AutoScalingGroupName": group.name},
                "Maximum" if direction == "grow" else "Minimum",
            ),
        }
        aws.cloudwatch.MetricAlarm(
            f"{name}-{direction}",
            alarm_description=description,
            comparison_operator="GreaterThanOrEqualToThreshold",
            evaluation_periods=quiet_minutes,
            datapoints_to_alarm=quiet_minutes,
            threshold=1,
            treat_missing_data="notBreaching",
            metric_queries=[
                *(m.alarm_query(id_, False) for id_, m in series.items()),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="gap",
                    expression=capacity_gap_expression(
                        direction, args.workers_per_instance, args.tasks_per_worker
                    ),
                    label="instances short" if direction == "grow" else "instances beyond the tasks' need",
                    return_data=True,
                ),
            ],
            alarm_actions=[policy.arn],
            tags=dict(tags),
            opts=child,
        )

    def _task_outcomes(self) -> dict[str, Metric | Expression]:
        """Transcodes that succeeded and failed, hourly, from the workers' metrics: Metrics Insights
        sums the failures over every reason, and an alarm may compute on its queries' results
        (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-metrics-insights-alarm-create.html)."""
        where = {SERVICE_DIMENSION: ROLE}
        return {
            "failed": Expression(
                insights_sum(NAMESPACE, TASKS_FAILED, [SERVICE_DIMENSION, FAILURE_REASON_DIMENSION], where),
                "failed",
                period=3600,
            ),
            "succeeded": Expression(
                insights_sum(NAMESPACE, TASKS_SUCCEEDED, [SERVICE_DIMENSION], where), "succeeded", period=3600
            ),
            "finished": Expression("FILL(failed, 0) + FILL(succeeded, 0)", "finished"),
            "failure_rate": Expression(
                f"IF(finished >= {MIN_TASKS_FOR_RATE}, 100 * FILL(failed, 0) / finished, 0)", "failed %"
            ),
        }

    def widgets(self) -> Section:
        """The fleet against its backlog (m1 waiting, m3 in flight, m2 in service: what it scales on),
        the oldest task's age, the dead letters, the transcodes' outcomes."""
        backlog: dict[str, Metric | Expression] = {
            **self._load,
            "desired": Metric(
                "AWS/AutoScaling",
                "GroupDesiredCapacity",
                {"AutoScalingGroupName": self.group.name},
                "Average",
            ),
            "per_worker": Expression(self._load_expression, "tasks per worker"),
        }
        return Section(
            "Transcoder",
            [
                Graph("fleet size against backlog", backlog),
                Graph("oldest task (seconds)", {"age": self._task_age()}),
                Graph("dead letters", self._dead_letters.series, hidden=frozenset({"visible", "hidden"})),
                Graph(
                    "transcodes per hour",
                    self._task_outcomes(),
                    hidden=frozenset({"finished", "failure_rate"}),
                    width=12,
                ),
                AlarmStatus("task DLQ", [self._dlq_alarm.arn], width=12, height=6),
            ],
        )

    def _task_age(self) -> Metric:
        return Metric(
            "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": self.queue.name}, "Maximum", period=300
        )

    def alarms(self, thresholds: AlarmThresholds) -> list[AlarmSpec]:
        """The oldest task is too old; too many transcodes fail. (The DLQ alarm is the fleet's own.)"""
        return [
            AlarmSpec(
                f"{self._name}-task-age",
                f"a task has waited or run for over {thresholds.task_age_seconds} s: the fleet is not "
                "keeping up, cannot start, or a transcode runs long",
                {"age": self._task_age()},
                watched="age",
                threshold=thresholds.task_age_seconds,
            ),
            AlarmSpec(
                f"{self._name}-failure-rate",
                f"over {thresholds.transcode_failure_percent} % of the last hour's transcodes failed",
                self._task_outcomes(),
                watched="failure_rate",
                threshold=thresholds.transcode_failure_percent,
            ),
        ]
