"""ProgressService: the progress topic and the SSE fleet.

Each progress instance creates its own queue ``<prefix>-progress-<instance id>-<boot id>``
at boot, subscribes it to the topic and deletes it at shutdown, so every instance sees every
event (ARCHITECTURE.md, fix 1); at boot it also sweeps the queues and subscriptions of dead
instances. IAM allows queue management under that prefix only. The load balancer checks
liveness (``/events/health/live``), never the queue: a failing dependency must not replace
the fleet.
The backend subscribes its own durable status queue to the topic (``BackendService``); the
events tickets this service verifies are signed with the ``SigningKey`` it is given.
"""

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from app.contracts.metrics import NAMESPACE, OPEN_STREAMS, SERVICE_DIMENSION
from app.contracts.names import ResourceNames
from app.contracts.settings import ProgressSettings
from infra._common import (
    args_of,
    declared_outputs,
    policy_document,
    settings_environment,
    standard_tags,
    statement,
)
from infra._fleet import MachineImage, encrypted_topic, load_balanced_fleet
from infra.operations import AlarmSpec, AlarmThresholds, Graph, Metric, Section, alb_metric, hosts_graph
from infra.types import Placement, Scaling, TokenIssuer
from infra.users import signout_reader_statement

ROLE = "progress"
UNITS = ("reelstack-progress.service",)
# Own queue: create (tagged), read, heartbeat, delete; others': read tags, delete when dead.
PROGRESS_QUEUE_ACTIONS = (
    "sqs:CreateQueue",
    "sqs:DeleteQueue",
    "sqs:GetQueueAttributes",
    "sqs:SetQueueAttributes",
    "sqs:TagQueue",
    "sqs:ListQueueTags",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
)
TOPIC_SUBSCRIPTION_ACTIONS = ("sns:Subscribe", "sns:Unsubscribe", "sns:ListSubscriptionsByTopic")


DEFAULT_SCALING = Scaling(instance_type="t4g.small", min_size=1, max_size=2)


@dataclass(frozen=True)
class ProgressServiceArgs:
    """Every knob of the progress service."""

    names: ResourceNames
    """Shared names (topic, per-instance queue prefix)."""
    placement: Placement
    """The VPC and private subnets of the instances and the internal load balancer."""
    token_issuer: TokenIssuer
    """The user pool whose tokens the SSE streams accept, and its sign-out table (tickets of
    sessions signed out since are refused)."""
    ticket_secret_arn: pulumi.Input[str]
    """The secret of the key tickets are signed with (``SigningKey.secret_arn``)."""
    scaling: Scaling = DEFAULT_SCALING
    """Instance type and Auto Scaling bounds (SSE needs one instance to answer)."""
    cpu_target_percent: float = 50.0
    """Target tracking on average CPU (gevent workers serve many idle streams cheaply)."""
    port: int = 8001
    """Port the service listens on."""
    health_check_path: str = "/events/health/live"
    """Target group health check: liveness only (``/events/health/ready`` adds the queue)."""
    volume_size_gib: int = 16
    """Root volume size."""
    security_group_id: pulumi.Input[str] | None = None
    """An existing security group for the instances instead of one of their own (None: the
    component makes it). It must let the load balancer's group (``alb_security_group_id``) in on
    ``port`` and HTTPS out to AWS APIs."""
    image: MachineImage = field(default_factory=MachineImage)
    """The AMI: pinned, or the newest ``images/build.sh progress`` build."""
    log_retention_days: int = 14
    """Days CloudWatch Logs keeps the instances' logs."""
    log_level: str = "INFO"
    """Logging level of the service (ProgressSettings.log_level)."""
    owner: str = "platform"
    """The ``owner`` tag."""


def progress_queue_arn_pattern(region: str, account: str, prefix: str) -> str:
    """ARN of every per-instance progress queue: ``arn:aws:sqs:<region>:<account>:<prefix>*``."""
    return f"arn:aws:sqs:{region}:{account}:{prefix}*"


def sqs_regional_arn(region: str, account: str) -> str:
    """What ``sqs:ListQueues`` is granted on: it has no resource-level permission, only a region."""
    return f"arn:aws:sqs:{region}:{account}:*"


def progress_policy(
    *,
    region: str,
    account: str,
    queue_prefix: str,
    topic_arn: str,
    ticket_secret_arn: str,
    signout_table_arn: str,
) -> dict[str, Any]:
    """Progress instances: manage the queues under their prefix, (un)subscribe them, list, read the
    ticket key and sign-outs."""
    return policy_document(
        statement(
            "OwnQueues", PROGRESS_QUEUE_ACTIONS, [progress_queue_arn_pattern(region, account, queue_prefix)]
        ),
        # The sweep lists by name prefix; the listing reveals names only, and every action on
        # what it finds is limited to the prefix above.
        statement("ListQueues", ["sqs:ListQueues"], [sqs_regional_arn(region, account)]),
        statement("QueueSubscriptions", TOPIC_SUBSCRIPTION_ACTIONS, [topic_arn]),
        statement("TicketKey", ["secretsmanager:GetSecretValue"], [ticket_secret_arn]),
        signout_reader_statement(signout_table_arn),
    )


class ProgressService(pulumi.ComponentResource):
    """Progress topic (KMS-encrypted), SSE fleet behind an ALB."""

    topic_arn: pulumi.Output[str]
    topic_key_arn: pulumi.Output[str]
    alb_dns_name: pulumi.Output[str]
    alb_arn: pulumi.Output[str]
    origin_secret: pulumi.Output[str]
    instance_role_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    alb_security_group_id: pulumi.Output[str]
    asg_name: pulumi.Output[str]
    topic: aws.sns.Topic
    """The progress topic the workers publish to."""
    group: aws.autoscaling.Group
    """The Auto Scaling group of the instances."""
    role: aws.iam.Role
    """The instances' role (attach further policies to it)."""
    security_group: aws.ec2.SecurityGroup | None
    """The instances' security group; None when the Args brought one (``security_group_id``)."""
    load_balancer: aws.lb.LoadBalancer
    """The internal Application Load Balancer in front of the instances."""

    def __init__(
        self, name: str, args: ProgressServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = args_of(ProgressServiceArgs, args)
        super().__init__("reelstack:index:ProgressService", name, None, opts)
        tags = standard_tags("progress", args.owner)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region
        account = aws.get_caller_identity_output(opts=invoke).account_id

        key, topic = encrypted_topic(
            f"{name}-topic", topic_name=args.names.progress_topic, tags=tags, opts=child
        )
        policy = pulumi.Output.all(
            region, account, topic.arn, args.ticket_secret_arn, args.token_issuer.signout_table_arn
        ).apply(
            lambda v: progress_policy(
                region=v[0],
                account=v[1],
                queue_prefix=args.names.progress_queue_prefix,
                topic_arn=v[2],
                ticket_secret_arn=v[3],
                signout_table_arn=v[4],
            )
        )
        environment = {
            "AWS_DEFAULT_REGION": region,
            # instance_id is left to its default, the EC2 instance id.
            **settings_environment(
                ProgressSettings,
                progress_topic_arn=topic.arn,
                progress_queue_prefix=args.names.progress_queue_prefix,
                user_pool_client_id=args.token_issuer.user_pool_client_id,
                jwt_issuer=args.token_issuer.jwt_issuer,
                jwks_url=args.token_issuer.jwks_url,
                ticket_secret_arn=args.ticket_secret_arn,
                signout_table=args.token_issuer.signout_table,
                log_level=args.log_level,
            ),
        }
        fleet = load_balanced_fleet(
            name,
            self,
            args,
            role=ROLE,
            policy=policy,
            environment=environment,
            units=UNITS,
            description="progress instances: SSE from the load balancer only",
            idle_timeout_seconds=900,
            tags=tags,
        )

        self.topic_arn = topic.arn
        self.topic_key_arn = key.arn
        self.alb_dns_name = fleet.load_balancer.alb.dns_name
        self.alb_arn = fleet.load_balancer.alb.arn
        self.origin_secret = fleet.load_balancer.origin_secret
        self.instance_role_arn = fleet.instances.role.arn
        self.log_group_name = fleet.instances.log_group.name
        self.security_group_id = pulumi.Output.from_input(fleet.instances.security_group_id)
        self.alb_security_group_id = fleet.load_balancer.security_group.id
        self.asg_name = fleet.group.name
        self.topic = topic
        self.group = fleet.group
        self.role = fleet.instances.role
        self.security_group = fleet.instances.security_group
        self.load_balancer = fleet.load_balancer.alb
        self._name = name
        self._target_group = fleet.load_balancer.target_group
        self.register_outputs(declared_outputs(self))

    def widgets(self) -> Section:
        """Open SSE streams, from the load balancer and from the instances, and the instances' health."""
        return Section(
            "Progress (SSE)",
            [
                Graph(
                    "SSE streams",
                    {
                        "connections": alb_metric(
                            self.load_balancer, None, "ActiveConnectionCount", "Sum", "connections"
                        ),
                        "streams": Metric(
                            NAMESPACE,
                            OPEN_STREAMS,
                            {SERVICE_DIMENSION: ROLE},
                            "Maximum",
                            label="most streams on one instance",
                        ),
                    },
                ),
                hosts_graph("progress hosts", self.load_balancer, self._target_group),
            ],
        )

    def alarms(self, thresholds: AlarmThresholds) -> list[AlarmSpec]:
        """An instance has failed its load balancer's health check for five minutes."""
        return [
            AlarmSpec(
                f"{self._name}-unhealthy-hosts",
                "a progress instance failed its health check for 5 minutes: its streams drop and the "
                "group keeps replacing it",
                {
                    "unhealthy": alb_metric(
                        self.load_balancer, self._target_group, "UnHealthyHostCount", "Maximum"
                    )
                },
                watched="unhealthy",
                threshold=0,
                evaluation_periods=5,
            )
        ]
