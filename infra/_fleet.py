"""Building blocks the EC2 services share: machine image, log group, instance role, launch
template, load balancer.

Every function creates children of ``parent`` named after ``name``; the components
(``BackendService``, ``TranscoderFleet``, ``ProgressService``) compose them: ``instances``
for what every fleet has, ``load_balanced_fleet`` for the two behind an ALB.
"""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from infra._common import (
    SESSION_MANAGER_ACTIONS,
    asg_tags,
    cloudwatch_agent_config,
    resourceless_statement,
    service_role,
    statement,
    user_data_base64,
)
from infra._moves import FormerParent, moved_child
from infra.types import Placement, Scaling

# EC2 resource ids are a prefix and 8 or 17 characters, lowercase hex
# (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html).
_AMI_ID = re.compile(r"ami-(?:[0-9a-f]{8}|[0-9a-f]{17})")


def checked_ami_id(value: str, where: str) -> str:
    """``value`` if it is an AMI id, else a ``ValueError`` that names ``where`` it was set."""
    if not _AMI_ID.fullmatch(value):
        raise ValueError(
            f"{where} is {value!r}, which is not an AMI id: 'ami-' and 8 or 17 hex digits "
            "(e.g. ami-0123456789abcdef0). Unset it to boot the newest image images/build.sh built."
        )
    return value


@dataclass(frozen=True)
class MachineImage:
    """Which AMI a service's instances boot: ``ami_id`` when pinned, else the newest arm64 image
    named ``<name_prefix>-<service>-*`` owned by ``owners`` (what ``images/build.sh`` builds)."""

    ami_id: str | None = None
    """A pinned AMI id; ``None`` looks up the newest build at deploy time."""
    name_prefix: str = "reelstack"
    """Packer names each AMI ``<name_prefix>-<service>-<build time>`` (images/reelstack.pkr.hcl)."""
    owners: Sequence[str] = ("self",)
    """Accounts whose images count: this one, or the account id of a shared image-building account."""

    def __post_init__(self) -> None:
        if self.ami_id is not None:
            checked_ami_id(self.ami_id, "MachineImage.ami_id")

    def name_pattern(self, service: str) -> str:
        return f"{self.name_prefix}-{service}-*"


def newest_image_filters(name_pattern: str) -> list[aws.ec2.GetAmiFilterArgs]:
    """The images a lookup may pick: built under ``name_pattern``, for Graviton, ready to launch."""
    return [
        aws.ec2.GetAmiFilterArgs(name="name", values=[name_pattern]),
        aws.ec2.GetAmiFilterArgs(name="architecture", values=["arm64"]),
        aws.ec2.GetAmiFilterArgs(name="state", values=["available"]),
    ]


def image_id(image: MachineImage, service: str, parent: pulumi.Resource) -> pulumi.Input[str]:
    """The pinned id, or the newest image of ``service`` (``aws.ec2.get_ami``, most recent first)."""
    if image.ami_id is not None:
        return image.ami_id
    return aws.ec2.get_ami_output(
        most_recent=True,
        owners=list(image.owners),
        filters=newest_image_filters(image.name_pattern(service)),
        opts=pulumi.InvokeOptions(parent=parent),
    ).id


def instance_role(
    name: str,
    parent: pulumi.Resource,
    policy: pulumi.Input[Mapping[str, Any]],
    tags: Mapping[str, str],
) -> tuple[aws.iam.Role, aws.iam.InstanceProfile]:
    """An EC2 role whose only permissions are ``policy`` (inline), and its instance profile."""
    role = service_role(
        parent,
        role_name=f"{name}-role",
        policy_name=f"{name}-policy",
        service_principal="ec2.amazonaws.com",
        policy=policy,
        description=f"instances of {name}",
        tags=tags,
    )
    profile = aws.iam.InstanceProfile(
        f"{name}-profile", role=role.name, tags=dict(tags), opts=pulumi.ResourceOptions(parent=parent)
    )
    return role, profile


def launch_template(
    name: str,
    parent: pulumi.Resource,
    *,
    ami_id: pulumi.Input[str],
    instance_type: str,
    profile: aws.iam.InstanceProfile,
    security_group_ids: Sequence[pulumi.Input[str]],
    user_data: pulumi.Input[str],
    volume_size_gib: int,
    tags: Mapping[str, str],
) -> aws.ec2.LaunchTemplate:
    """IMDSv2 only, encrypted gp3 root volume, no public IP, tags on instances and volumes."""
    return aws.ec2.LaunchTemplate(
        f"{name}-lt",
        image_id=ami_id,
        instance_type=instance_type,
        iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
        network_interfaces=[
            aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                associate_public_ip_address="false",
                security_groups=list(security_group_ids),
                delete_on_termination="true",
            )
        ],
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled",
            http_tokens="required",
            http_put_response_hop_limit=1,
            instance_metadata_tags="disabled",
        ),
        block_device_mappings=[
            aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name="/dev/xvda",
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=volume_size_gib,
                    volume_type="gp3",
                    encrypted="true",
                    delete_on_termination="true",
                ),
            )
        ],
        monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
        user_data=user_data,
        update_default_version=True,
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags={**tags, "Name": name})
            for kind in ("instance", "volume")
        ],
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )


ORIGIN_VERIFY_HEADER = "X-Reelstack-Origin-Verify"


@dataclass
class LoadBalancer:
    """An internal ALB that forwards only requests carrying the gateway's secret header."""

    alb: aws.lb.LoadBalancer
    security_group: aws.ec2.SecurityGroup
    target_group: aws.lb.TargetGroup
    origin_secret: pulumi.Output[str]


def load_balancer(
    name: str,
    parent: pulumi.Resource,
    *,
    vpc_id: pulumi.Input[str],
    vpc_cidr: pulumi.Input[str],
    subnet_ids: Sequence[pulumi.Input[str]],
    port: int,
    health_check_path: str,
    idle_timeout_seconds: int,
    deregistration_delay_seconds: int,
    tags: Mapping[str, str],
) -> LoadBalancer:
    """Internal ALB on port 80, reached by API Gateway through a VPC link; others get a 403.

    ``health_check_path`` must be a liveness check (the process serves), never one of its
    dependencies: the group replaces whatever this check fails (``load_balanced_group``).

    The ALB has no public address: API Gateway's private integration (VPC link v2)
    connects from ENIs in the VPC. As defence in depth against other callers inside the
    VPC, the gateway adds a random secret header and only requests with it are forwarded.
    """
    child = pulumi.ResourceOptions(parent=parent)
    secret = random.RandomPassword(f"{name}-origin-secret", length=40, special=False, opts=child)
    sg = aws.ec2.SecurityGroup(
        f"{name}-alb",
        vpc_id=vpc_id,
        description=f"{name} load balancer: HTTP from the API Gateway VPC link",
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp",
                from_port=80,
                to_port=80,
                cidr_blocks=[vpc_cidr],
                description="API Gateway VPC link",
            )
        ],
        egress=[
            aws.ec2.SecurityGroupEgressArgs(
                protocol="tcp", from_port=port, to_port=port, cidr_blocks=[vpc_cidr], description="targets"
            )
        ],
        tags={**tags, "Name": f"{name}-alb"},
        opts=child,
    )
    alb = aws.lb.LoadBalancer(
        f"{name}-alb",
        load_balancer_type="application",
        internal=True,
        subnets=list(subnet_ids),
        security_groups=[sg.id],
        idle_timeout=idle_timeout_seconds,
        drop_invalid_header_fields=True,
        tags=dict(tags),
        opts=child,
    )
    target_group = aws.lb.TargetGroup(
        f"{name}-tg",
        port=port,
        protocol="HTTP",
        vpc_id=vpc_id,
        target_type="instance",
        deregistration_delay=deregistration_delay_seconds,
        health_check=aws.lb.TargetGroupHealthCheckArgs(
            path=health_check_path, matcher="200", interval=15, healthy_threshold=2, unhealthy_threshold=3
        ),
        tags=dict(tags),
        opts=child,
    )
    listener = aws.lb.Listener(
        f"{name}-http",
        load_balancer_arn=alb.arn,
        port=80,
        protocol="HTTP",
        default_actions=[
            aws.lb.ListenerDefaultActionArgs(
                type="fixed-response",
                fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                    content_type="application/json",
                    status_code="403",
                    message_body='{"error": {"code": "forbidden", "message": "use the public endpoint"}}',
                ),
            )
        ],
        tags=dict(tags),
        opts=child,
    )
    aws.lb.ListenerRule(
        f"{name}-from-gateway",
        listener_arn=listener.arn,
        priority=10,
        conditions=[
            aws.lb.ListenerRuleConditionArgs(
                http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
                    http_header_name=ORIGIN_VERIFY_HEADER, values=[secret.result]
                )
            )
        ],
        actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=target_group.arn)],
        tags=dict(tags),
        opts=child,
    )
    return LoadBalancer(
        alb=alb,
        security_group=sg,
        target_group=target_group,
        origin_secret=pulumi.Output.secret(secret.result),
    )


def instance_security_group(
    name: str,
    parent: pulumi.Resource,
    *,
    vpc_id: pulumi.Input[str],
    vpc_cidr: pulumi.Input[str],
    description: str,
    ingress: Sequence[aws.ec2.SecurityGroupIngressArgs],
    tags: Mapping[str, str],
    reaches_database: bool = False,
) -> aws.ec2.SecurityGroup:
    """Instances' security group: the given ingress only; egress HTTPS (AWS APIs), and
    PostgreSQL in the VPC only for a service that ``reaches_database``."""
    egress = [
        aws.ec2.SecurityGroupEgressArgs(
            protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_blocks=["0.0.0.0/0"],
            description="AWS APIs over HTTPS",
        )
    ]
    if reaches_database:
        egress.append(
            aws.ec2.SecurityGroupEgressArgs(
                protocol="tcp",
                from_port=5432,
                to_port=5432,
                cidr_blocks=[vpc_cidr],
                description="PostgreSQL in the VPC",
            )
        )
    return aws.ec2.SecurityGroup(
        f"{name}-instances",
        vpc_id=vpc_id,
        description=description,
        ingress=list(ingress),
        egress=egress,
        tags={**tags, "Name": f"{name}-instances"},
        opts=pulumi.ResourceOptions(parent=parent),
    )


def alb_ingress(alb_security_group: aws.ec2.SecurityGroup, port: int) -> aws.ec2.SecurityGroupIngressArgs:
    """Ingress on ``port`` from the load balancer's security group only."""
    return aws.ec2.SecurityGroupIngressArgs(
        protocol="tcp",
        from_port=port,
        to_port=port,
        security_groups=[alb_security_group.id],
        description="from the load balancer only",
    )


def encrypted_topic(
    name: str, *, topic_name: str, tags: Mapping[str, str], opts: pulumi.ResourceOptions
) -> tuple[aws.kms.Key, aws.sns.Topic]:
    """An SNS topic encrypted with a rotating customer managed key of its own (``<name>-key``):
    publishers need the key's GenerateDataKey and Decrypt as well as sns:Publish."""
    key = aws.kms.Key(
        f"{name}-key",
        description=f"{topic_name} messages",
        enable_key_rotation=True,
        deletion_window_in_days=7,
        tags=dict(tags),
        opts=opts,
    )
    return key, aws.sns.Topic(name, name=topic_name, kms_master_key_id=key.arn, tags=dict(tags), opts=opts)


def queue_with_dlq(
    name: str,
    parent: pulumi.Resource,
    *,
    queue_name: str,
    dlq_name: str,
    max_receives: int,
    visibility_timeout_seconds: int,
    tags: Mapping[str, str],
    former_parent: FormerParent | None = None,
    former_name: str = "",
) -> tuple[aws.sqs.Queue, aws.sqs.Queue]:
    """An encrypted queue whose poison messages move to an encrypted DLQ after ``max_receives``.

    ``former_parent``: the component that created them as ``former_name`` before they moved to
    ``parent`` (a replaced queue would lose its messages)."""
    child = moved_child(parent, former_parent, former_name)
    dlq_child = moved_child(parent, former_parent, f"{former_name}-dlq")
    dlq = aws.sqs.Queue(
        f"{name}-dlq",
        name=dlq_name,
        message_retention_seconds=14 * 24 * 3600,
        sqs_managed_sse_enabled=True,
        tags=dict(tags),
        opts=dlq_child,
    )
    queue = aws.sqs.Queue(
        name,
        name=queue_name,
        visibility_timeout_seconds=visibility_timeout_seconds,
        message_retention_seconds=4 * 24 * 3600,
        receive_wait_time_seconds=20,
        sqs_managed_sse_enabled=True,
        redrive_policy=dlq.arn.apply(
            lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": max_receives})
        ),
        tags=dict(tags),
        opts=child,
    )
    aws.sqs.RedriveAllowPolicy(
        f"{name}-dlq",
        queue_url=dlq.url,
        redrive_allow_policy=queue.arn.apply(
            lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
        ),
        opts=dlq_child,
    )
    return queue, dlq


def load_balanced_group(
    name: str,
    parent: pulumi.Resource,
    *,
    subnet_ids: Sequence[pulumi.Input[str]],
    template: aws.ec2.LaunchTemplate,
    target_group: aws.lb.TargetGroup,
    min_size: int,
    max_size: int,
    cpu_target_percent: float,
    tags: Mapping[str, str],
) -> aws.autoscaling.Group:
    """An ASG behind ``target_group`` (ELB health, rolling refresh on a new template), scaling
    between its bounds by target tracking on average CPU.

    With health check type ELB the group replaces an instance that fails either the EC2 status
    checks or the target group's check
    (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-add-elb-healthcheck.html). EC2
    status checks alone see the machine, not the process: a hung or crashed server would keep
    its place (https://docs.aws.amazon.com/autoscaling/ec2/userguide/health-checks-overview.html).
    So the groups keep ELB health, and the target group checks liveness only; a dependency
    check there would let one database failover or queue outage replace the whole fleet at
    once (AWS's guidance: https://aws.amazon.com/blogs/networking-and-content-delivery/choosing-the-right-health-check-with-elastic-load-balancing-and-ec2-auto-scaling/).
    """
    child = pulumi.ResourceOptions(parent=parent)
    group = aws.autoscaling.Group(
        f"{name}-asg",
        min_size=min_size,
        max_size=max_size,
        vpc_zone_identifiers=list(subnet_ids),
        launch_template=aws.autoscaling.GroupLaunchTemplateArgs(id=template.id, version="$Latest"),
        target_group_arns=[target_group.arn],
        health_check_type="ELB",
        health_check_grace_period=120,
        instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
            strategy="Rolling",
            preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(min_healthy_percentage=50),
        ),
        tags=asg_tags(tags, f"{name}-instance"),
        opts=child,
    )
    aws.autoscaling.Policy(
        f"{name}-cpu",
        autoscaling_group_name=group.name,
        policy_type="TargetTrackingScaling",
        target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
            target_value=cpu_target_percent,
            predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                predefined_metric_type="ASGAverageCPUUtilization"
            ),
        ),
        opts=child,
    )
    return group


class InstanceArgs(Protocol):
    """The knobs every EC2 service's ``*Args`` has, read by ``instances``."""

    @property
    def placement(self) -> Placement: ...
    @property
    def image(self) -> MachineImage: ...
    @property
    def scaling(self) -> Scaling: ...
    @property
    def security_group_id(self) -> pulumi.Input[str] | None: ...
    @property
    def volume_size_gib(self) -> int: ...
    @property
    def log_retention_days(self) -> int: ...


class LoadBalancedArgs(InstanceArgs, Protocol):
    """The knobs of a service behind a load balancer, read by ``load_balanced_fleet``."""

    @property
    def port(self) -> int: ...
    @property
    def health_check_path(self) -> str: ...
    @property
    def cpu_target_percent(self) -> float: ...


def service_log_group_name(name: str) -> str:
    """``/<project>-<stack>/<component>``: one log group per service and stack."""
    return f"/{pulumi.get_project()}-{pulumi.get_stack()}/{name}"


def instance_agent_statements(log_group_arn: str, region: str, account: str) -> list[dict[str, Any]]:
    """What the agents in every image need: the CloudWatch agent creates its streams in the
    service's log group and writes them (and reads them back, as CloudWatchAgentServerPolicy
    allows); SSM Agent serves Session Manager, which replaces SSH. Session Manager's actions
    have no resource type, so they are narrowed to calls with this account's instance credentials."""
    return [
        statement(
            "ShipLogsStreams",
            ["logs:CreateLogStream", "logs:DescribeLogStreams"],
            [log_group_arn, f"{log_group_arn}:*"],
        ),
        statement("ShipLogsEvents", ["logs:PutLogEvents"], [f"{log_group_arn}:log-stream:*"]),
        resourceless_statement(
            "SessionManager",
            SESSION_MANAGER_ACTIONS,
            condition={"ArnLike": {"ec2:SourceInstanceARN": f"arn:aws:ec2:{region}:{account}:instance/*"}},
        ),
    ]


def with_statements(document: Mapping[str, Any], statements: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``document`` with ``statements`` appended."""
    return {**document, "Statement": [*document["Statement"], *(dict(s) for s in statements)]}


@dataclass
class Instances:
    role: aws.iam.Role
    security_group: aws.ec2.SecurityGroup | None
    """The group ``instances`` made; None when ``args`` brought one."""
    security_group_id: pulumi.Input[str]
    template: aws.ec2.LaunchTemplate
    log_group: aws.cloudwatch.LogGroup


def instances(
    name: str,
    parent: pulumi.Resource,
    args: InstanceArgs,
    *,
    role: str,
    policy: pulumi.Input[Mapping[str, Any]],
    environment: Mapping[str, pulumi.Input[str]],
    units: Sequence[str],
    description: str,
    ingress: Sequence[aws.ec2.SecurityGroupIngressArgs],
    tags: Mapping[str, str],
    reaches_database: bool = False,
) -> Instances:
    """A service's instances: a role allowed ``policy`` (plus what the image's agents need), a
    security group letting in ``ingress`` only (no SSH: Session Manager) unless ``args`` brings
    its own (``security_group_id``), a log group their
    CloudWatch agent ships the units' logs to, and a launch template booting ``args.image`` as
    ``role`` with ``environment`` and ``units``."""
    invoke = pulumi.InvokeOptions(parent=parent)
    log_group_name = service_log_group_name(name)
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-logs",
        name=log_group_name,
        retention_in_days=args.log_retention_days,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    full_policy = pulumi.Output.all(
        policy,
        log_group.arn,
        aws.get_region_output(opts=invoke).region,
        aws.get_caller_identity_output(opts=invoke).account_id,
    ).apply(lambda v: with_statements(v[0], instance_agent_statements(v[1], v[2], v[3])))
    iam_role, profile = instance_role(name, parent, full_policy, tags)
    sg: aws.ec2.SecurityGroup | None = None
    security_group_id: pulumi.Input[str]
    if args.security_group_id is None:
        sg = instance_security_group(
            name,
            parent,
            vpc_id=args.placement.vpc_id,
            vpc_cidr=args.placement.vpc_cidr,
            description=description,
            ingress=ingress,
            tags=tags,
            reaches_database=reaches_database,
        )
        security_group_id = sg.id
    else:
        security_group_id = args.security_group_id
    template = launch_template(
        name,
        parent,
        ami_id=image_id(args.image, role, parent),
        instance_type=args.scaling.instance_type,
        profile=profile,
        security_group_ids=[security_group_id],
        user_data=user_data_base64(
            role,
            environment,
            units,
            agent_config=cloudwatch_agent_config(log_group_name, units),
        ),
        volume_size_gib=args.volume_size_gib,
        tags=tags,
    )
    return Instances(
        role=iam_role,
        security_group=sg,
        security_group_id=security_group_id,
        template=template,
        log_group=log_group,
    )


@dataclass
class LoadBalancedFleet:
    instances: Instances
    load_balancer: LoadBalancer
    group: aws.autoscaling.Group


def load_balanced_fleet(
    name: str,
    parent: pulumi.Resource,
    args: LoadBalancedArgs,
    *,
    role: str,
    policy: pulumi.Input[Mapping[str, Any]],
    environment: Mapping[str, pulumi.Input[str]],
    units: Sequence[str],
    description: str,
    idle_timeout_seconds: int,
    tags: Mapping[str, str],
    reaches_database: bool = False,
) -> LoadBalancedFleet:
    """``instances`` reached from the internal load balancer only, in an ASG behind it that
    scales on CPU between ``args.scaling``'s bounds."""
    lb = load_balancer(
        name,
        parent,
        vpc_id=args.placement.vpc_id,
        vpc_cidr=args.placement.vpc_cidr,
        subnet_ids=args.placement.subnet_ids,
        port=args.port,
        health_check_path=args.health_check_path,
        idle_timeout_seconds=idle_timeout_seconds,
        deregistration_delay_seconds=30,
        tags=tags,
    )
    fleet = instances(
        name,
        parent,
        args,
        role=role,
        policy=policy,
        environment=environment,
        units=units,
        description=description,
        ingress=[alb_ingress(lb.security_group, args.port)],
        tags=tags,
        reaches_database=reaches_database,
    )
    group = load_balanced_group(
        name,
        parent,
        subnet_ids=args.placement.subnet_ids,
        template=fleet.template,
        target_group=lb.target_group,
        min_size=args.scaling.min_size,
        max_size=args.scaling.max_size,
        cpu_target_percent=args.cpu_target_percent,
        tags=tags,
    )
    return LoadBalancedFleet(instances=fleet, load_balancer=lb, group=group)
