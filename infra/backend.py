"""BackendService: the API (``reelstack backend``) and the status consumer on EC2 behind an ALB.

One AMI runs both ``reelstack-backend.service`` and ``reelstack-status-consumer.service``
from ``/etc/reelstack/backend.env``. Instances accept traffic from the load balancer
only, and may touch exactly their buckets, queues and secrets. The status consumer reads
the backend's own durable status queue (+ DLQ), subscribed to the progress topic here, so a
state change is recorded even when no one is watching it live.
The backend announces each video's outcome (ready, failed, deleted) on a topic of its own, the
stack's video events topic, which integrators subscribe to (``contracts.messages.VideoEventV1``).
The status consumer's process also delivers those events to users' signed webhooks, from a queue
(+ DLQ) of its own subscribed to that topic (``app/backend/webhook_delivery.py``).
"""

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from app.contracts.names import (
    CAPTIONS_DIR,
    INCOMING_KEY_PREFIX,
    MASTER_PLAYLIST_NAME,
    POSTERS_KEY_PATTERN,
    STATUS_MAX_RECEIVES,
    STATUS_VISIBILITY_TIMEOUT_SECONDS,
    UPLOADS_KEY_PREFIX,
    WEBHOOK_MAX_RECEIVES,
    WEBHOOK_VISIBILITY_TIMEOUT_SECONDS,
    ResourceNames,
)
from app.contracts.queue_policies import topic_to_queue_policy
from app.contracts.settings import BackendSettings
from infra._common import (
    args_of,
    declared_outputs,
    policy_document,
    settings_environment,
    standard_tags,
    statement,
)
from infra._fleet import MachineImage, encrypted_topic, load_balanced_fleet, queue_with_dlq
from infra._moves import FormerParent, moved_child
from infra.operations import (
    AlarmSpec,
    AlarmThresholds,
    Graph,
    Metric,
    Section,
    alb_metric,
    dead_letters_alarm,
    hosts_graph,
)
from infra.types import BucketReference, Placement, Scaling, TokenIssuer
from infra.users import signout_reader_statement

ROLE = "backend"
UNITS = ("reelstack-backend.service", "reelstack-status-consumer.service")


DEFAULT_SCALING = Scaling(instance_type="t4g.small", min_size=1, max_size=2)


@dataclass(frozen=True)
class BackendServiceArgs:
    """Every knob of the backend."""

    names: ResourceNames
    """Shared names (the status and webhook queues and their DLQs, the video events topic)."""
    placement: Placement
    """The VPC and private subnets of the instances and the internal load balancer."""
    database_url: pulumi.Input[str]
    """SQLAlchemy URL of the database, without password (``Database.url``)."""
    database_secret_arn: pulumi.Input[str]
    """The secret holding the database password (``Database.secret_arn``); the stack lets
    ``security_group_id`` reach the database (``Database.allow_from``)."""
    uploads_bucket: BucketReference
    """Bucket browsers upload source videos to (``MediaStorage``'s uploads)."""
    media_bucket: BucketReference
    """Bucket of transcoded media (``MediaStorage``'s media)."""
    media_base_url: pulumi.Input[str]
    """Public base URL of the media (CloudFront ``/media``)."""
    task_queue_url: pulumi.Input[str]
    """Queue the backend sends transcoding tasks to."""
    task_queue_arn: pulumi.Input[str]
    """Its ARN."""
    progress_topic_arn: pulumi.Input[str]
    """The progress topic (``ProgressService.topic_arn``) the status queue is subscribed to."""
    ticket_secret_arn: pulumi.Input[str]
    """The secret of the key SSE tickets and media grants are signed with (``SigningKey.secret_arn``)."""
    media_revocation_store_arn: pulumi.Input[str]
    """The CloudFront KeyValueStore the media function reads; the backend cuts media grants there."""
    token_issuer: TokenIssuer
    """The user pool whose tokens the API accepts, and its sign-out table."""
    user_pool_id: pulumi.Input[str]
    """The user pool (``UserService.user_pool_id``): the backend assigns its groups (roles) and
    disables suspended users."""
    user_pool_arn: pulumi.Input[str]
    """Its ARN (``UserService.user_pool_arn``)."""
    scaling: Scaling = DEFAULT_SCALING
    """Instance type and Auto Scaling bounds (CPU target tracking moves between them)."""
    cpu_target_percent: float = 60.0
    """Target tracking on average CPU."""
    port: int = 8000
    """Port gunicorn listens on."""
    health_check_path: str = "/api/health/live"
    """Target group health check: liveness only, never the database (see ``infra._fleet``)."""
    max_upload_bytes: int = 2 * 1024**3
    """Largest accepted source upload (BackendSettings.max_upload_bytes)."""
    videos_per_user_per_day: int = BackendSettings.model_fields["videos_per_user_per_day"].default
    """Videos one user may create in 24 hours (BackendSettings.videos_per_user_per_day)."""
    stored_bytes_per_user: int = BackendSettings.model_fields["stored_bytes_per_user"].default
    """Bytes of sources one user may keep (BackendSettings.stored_bytes_per_user)."""
    price_cpu_hour_on_demand: float = BackendSettings.model_fields["price_cpu_hour_on_demand"].default
    """USD per CPU-hour of an on-demand transcoder, for what videos cost (BackendSettings.price_cpu_hour_on_demand)."""
    price_cpu_hour_spot: float = BackendSettings.model_fields["price_cpu_hour_spot"].default
    """USD per CPU-hour of a spot transcoder (BackendSettings.price_cpu_hour_spot)."""
    price_gb_month_stored: float = BackendSettings.model_fields["price_gb_month_stored"].default
    """USD per GB-month of media stored (BackendSettings.price_gb_month_stored)."""
    volume_size_gib: int = 16
    """Root volume size."""
    security_group_id: pulumi.Input[str] | None = None
    """An existing security group for the instances instead of one of their own (None: the
    component makes it). It must let the load balancer's group (``alb_security_group_id``) in on
    ``port``, HTTPS out to AWS APIs and PostgreSQL out to the database."""
    image: MachineImage = field(default_factory=MachineImage)
    """The AMI: pinned, or the newest ``images/build.sh backend`` build."""
    log_retention_days: int = 14
    """Days CloudWatch Logs keeps the instances' logs."""
    log_level: str = "INFO"
    """Logging level of the service (BackendSettings.log_level)."""
    status_queue_moved_from_progress: str | None = None
    """Name of the ``ProgressService`` that held the status queue in stacks created before the
    backend owned it: ``pulumi up`` then moves the queue, its DLQ and subscription here instead
    of replacing them (a replaced queue loses its messages). None for a new program."""
    owner: str = "platform"
    """The ``owner`` tag."""


def backend_policy(
    *,
    uploads_bucket_arn: str,
    media_bucket_arn: str,
    task_queue_arn: str,
    status_queue_arn: str,
    webhook_queue_arn: str,
    secret_arns: list[str],
    media_revocation_store_arn: str,
    signout_table_arn: str,
    video_events_topic_arn: str,
    video_events_key_arn: str,
    user_pool_arn: str,
) -> dict[str, Any]:
    """The backend's permissions: exactly the calls its code makes (tests/infra/test_backend.py).

    Uploads: presign POSTs and parts, list the parts of an interrupted multipart upload (to
    resume it), check an upload (head, first bytes), refuse or delete it, and delete every
    version of a deleted video's source (the bucket may be versioned). Media:
    delete a deleted video's outputs and replaced caption files, read the transcoders' master
    playlists and write caption tracks and the master playlist that lists them, under the
    captions prefix only (app/backend/captions.py), and write the posters owners upload
    (there only). Tasks: send. Status: receive and delete. ListBucket on
    the uploads bucket makes a missing upload's HeadObject answer 404 rather than 403. Webhooks:
    receive and delete their queue's events, and hide one until its next delivery attempt. The media
    edge's store: cut a video's grants (write its revocation epoch, sweep the expired ones).
    Sign-outs: read one, and record one when an admin suspends a user or takes a role away.
    The user pool: an admin's role changes (group membership) and suspensions (disable, enable,
    sign out everywhere). Video events: publish to the topic, with its key (SNS encrypts with it
    on the publisher's behalf).
    """
    # Uploads land under incoming/; a stack deployed before that holds some under uploads/ still.
    source_objects = [f"{uploads_bucket_arn}/{p}*" for p in (INCOMING_KEY_PREFIX, UPLOADS_KEY_PREFIX)]
    return policy_document(
        statement(
            "Uploads",
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            [f"{uploads_bucket_arn}/*"],
        ),
        statement("DeleteUploadVersions", ["s3:DeleteObjectVersion"], source_objects),
        statement("ListUploadVersions", ["s3:ListBucketVersions"], [uploads_bucket_arn]),
        statement("ListUploadParts", ["s3:ListMultipartUploadParts"], source_objects),
        statement("Media", ["s3:DeleteObject"], [f"{media_bucket_arn}/*"]),
        statement(
            "ReadMasterPlaylists", ["s3:GetObject"], [f"{media_bucket_arn}/videos/*/{MASTER_PLAYLIST_NAME}"]
        ),
        statement("PublishCaptions", ["s3:PutObject"], [f"{media_bucket_arn}/videos/*/{CAPTIONS_DIR}/*"]),
        statement("UploadedPosters", ["s3:PutObject"], [f"{media_bucket_arn}/{POSTERS_KEY_PATTERN}"]),
        statement("ListOwnBuckets", ["s3:ListBucket"], [uploads_bucket_arn, media_bucket_arn]),
        statement("SendTasks", ["sqs:SendMessage"], [task_queue_arn]),
        statement("ConsumeStatus", ["sqs:ReceiveMessage", "sqs:DeleteMessage"], [status_queue_arn]),
        statement(
            "DeliverWebhooks",
            ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"],
            [webhook_queue_arn],
        ),
        statement("ReadSecrets", ["secretsmanager:GetSecretValue"], [a for a in secret_arns if a]),
        statement(
            "RevokeMediaGrants",
            [
                "cloudfront-keyvaluestore:DescribeKeyValueStore",
                "cloudfront-keyvaluestore:ListKeys",
                "cloudfront-keyvaluestore:UpdateKeys",
            ],
            [media_revocation_store_arn],
        ),
        signout_reader_statement(signout_table_arn),
        statement("PublishVideoEvents", ["sns:Publish"], [video_events_topic_arn]),
        statement("EncryptVideoEvents", ["kms:GenerateDataKey", "kms:Decrypt"], [video_events_key_arn]),
        statement("RecordSignOuts", ["dynamodb:PutItem"], [signout_table_arn]),
        statement(
            "ManageUsers",
            [
                "cognito-idp:AdminAddUserToGroup",
                "cognito-idp:AdminRemoveUserFromGroup",
                "cognito-idp:AdminDisableUser",
                "cognito-idp:AdminEnableUser",
                "cognito-idp:AdminUserGlobalSignOut",
            ],
            [user_pool_arn],
        ),
    )


def _subscribe_raw(
    name: str, queue: aws.sqs.Queue, topic_arn: pulumi.Input[str], sid: str, opts: pulumi.ResourceOptions
) -> None:
    """Subscribe ``queue`` to the topic with raw delivery (the message is the body as published),
    its policy letting that topic alone send to it."""
    aws.sqs.QueuePolicy(
        name,
        queue_url=queue.url,
        policy=pulumi.Output.json_dumps(
            pulumi.Output.all(queue.arn, topic_arn).apply(
                lambda v: topic_to_queue_policy(v[0], v[1], sid=sid)
            )
        ),
        opts=opts,
    )
    aws.sns.TopicSubscription(
        name, topic=topic_arn, protocol="sqs", endpoint=queue.arn, raw_message_delivery=True, opts=opts
    )


def video_events_topic_policy(topic_arn: str, account_id: str) -> dict[str, Any]:
    """Who may use the video events topic through its own policy: the stack's account may subscribe
    (integrators' queues and functions) and read the topic's attributes, nothing more. Publishing
    stays with the roles IAM allows to (the backend's); SNS's default policy would let every
    principal of the account publish, configure and delete the topic.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountSubscribes",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": ["sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:Subscribe"],
                "Resource": topic_arn,
            }
        ],
    }


class BackendService(pulumi.ComponentResource):
    """Status queue + DLQ on the progress topic, ALB (gateway-only), launch template, ASG with CPU
    target tracking, scoped instance role."""

    alb_dns_name: pulumi.Output[str]
    alb_arn: pulumi.Output[str]
    origin_secret: pulumi.Output[str]
    instance_role_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    alb_security_group_id: pulumi.Output[str]
    asg_name: pulumi.Output[str]
    status_queue_url: pulumi.Output[str]
    status_queue_arn: pulumi.Output[str]
    status_dlq_url: pulumi.Output[str]
    status_queue: aws.sqs.Queue
    """The queue of progress events the status consumer records."""
    status_dlq: aws.sqs.Queue
    """Its dead-letter queue."""
    webhook_queue_url: pulumi.Output[str]
    webhook_dlq_url: pulumi.Output[str]
    webhook_queue: aws.sqs.Queue
    """The video events the backend delivers to users' webhooks (raw, from the video events topic)."""
    webhook_dlq: aws.sqs.Queue
    """Its dead-letter queue: events whose deliveries could not be recorded."""
    group: aws.autoscaling.Group
    """The Auto Scaling group of the instances."""
    role: aws.iam.Role
    """The instances' role (attach further policies to it)."""
    security_group: aws.ec2.SecurityGroup | None
    """The instances' security group; None when the Args brought one (``security_group_id``)."""
    load_balancer: aws.lb.LoadBalancer
    """The internal Application Load Balancer in front of the instances."""
    video_events_topic_arn: pulumi.Output[str]
    video_events_topic: aws.sns.Topic
    """The video events topic (KMS-encrypted) integrators subscribe to."""

    def __init__(
        self, name: str, args: BackendServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = args_of(BackendServiceArgs, args)
        super().__init__("reelstack:index:BackendService", name, None, opts)
        tags = standard_tags("backend", args.owner)
        invoke = pulumi.InvokeOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region
        child = pulumi.ResourceOptions(parent=self)
        former = (
            FormerParent("reelstack:index:ProgressService", args.status_queue_moved_from_progress)
            if args.status_queue_moved_from_progress
            else None
        )
        former_name = f"{args.status_queue_moved_from_progress}-status"
        status, status_dlq = queue_with_dlq(
            f"{name}-status",
            self,
            queue_name=args.names.status_queue,
            dlq_name=args.names.status_dlq,
            max_receives=STATUS_MAX_RECEIVES,
            visibility_timeout_seconds=STATUS_VISIBILITY_TIMEOUT_SECONDS,
            tags=tags,
            former_parent=former,
            former_name=former_name,
        )
        _subscribe_raw(
            f"{name}-status",
            status,
            args.progress_topic_arn,
            "FromProgressTopic",
            moved_child(self, former, former_name),
        )
        events_key, events = encrypted_topic(
            f"{name}-video-events", topic_name=args.names.video_events_topic, tags=tags, opts=child
        )
        account = aws.get_caller_identity_output(opts=invoke).account_id
        aws.sns.TopicPolicy(
            f"{name}-video-events",
            arn=events.arn,
            policy=pulumi.Output.json_dumps(
                pulumi.Output.all(events.arn, account).apply(lambda v: video_events_topic_policy(v[0], v[1]))
            ),
            opts=child,
        )
        webhooks, webhooks_dlq = queue_with_dlq(
            f"{name}-webhooks",
            self,
            queue_name=args.names.webhook_queue,
            dlq_name=args.names.webhook_dlq,
            max_receives=WEBHOOK_MAX_RECEIVES,
            visibility_timeout_seconds=WEBHOOK_VISIBILITY_TIMEOUT_SECONDS,
            tags=tags,
        )
        _subscribe_raw(f"{name}-webhooks", webhooks, events.arn, "FromVideoEventsTopic", child)

        policy = pulumi.Output.all(
            args.uploads_bucket.arn,
            args.media_bucket.arn,
            args.task_queue_arn,
            status.arn,
            args.ticket_secret_arn,
            args.database_secret_arn,
            args.media_revocation_store_arn,
            args.token_issuer.signout_table_arn,
            events.arn,
            events_key.arn,
            args.user_pool_arn,
            webhooks.arn,
        ).apply(
            lambda v: backend_policy(
                uploads_bucket_arn=v[0],
                media_bucket_arn=v[1],
                task_queue_arn=v[2],
                status_queue_arn=v[3],
                secret_arns=[v[4], v[5]],
                media_revocation_store_arn=v[6],
                signout_table_arn=v[7],
                video_events_topic_arn=v[8],
                video_events_key_arn=v[9],
                user_pool_arn=v[10],
                webhook_queue_arn=v[11],
            )
        )
        environment = {
            "AWS_DEFAULT_REGION": region,
            **settings_environment(
                BackendSettings,
                database_url=args.database_url,
                database_secret_arn=args.database_secret_arn,
                uploads_bucket=args.uploads_bucket.name,
                media_bucket=args.media_bucket.name,
                task_queue_url=args.task_queue_url,
                status_queue_url=status.url,
                webhook_queue_url=webhooks.url,
                media_base_url=args.media_base_url,
                media_revocation_store=args.media_revocation_store_arn,
                ticket_secret_arn=args.ticket_secret_arn,
                user_pool_client_id=args.token_issuer.user_pool_client_id,
                jwt_issuer=args.token_issuer.jwt_issuer,
                jwks_url=args.token_issuer.jwks_url,
                signout_table=args.token_issuer.signout_table,
                video_events_topic_arn=events.arn,
                user_pool_id=args.user_pool_id,
                max_upload_bytes=args.max_upload_bytes,
                videos_per_user_per_day=args.videos_per_user_per_day,
                stored_bytes_per_user=args.stored_bytes_per_user,
                price_cpu_hour_on_demand=args.price_cpu_hour_on_demand,
                price_cpu_hour_spot=args.price_cpu_hour_spot,
                price_gb_month_stored=args.price_gb_month_stored,
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
            description="backend instances: HTTP from the load balancer only",
            idle_timeout_seconds=60,
            tags=tags,
            reaches_database=True,
        )
        lb = fleet.load_balancer
        self.alb_dns_name = lb.alb.dns_name
        self.alb_arn = lb.alb.arn
        self.origin_secret = lb.origin_secret
        self.instance_role_arn = fleet.instances.role.arn
        self.log_group_name = fleet.instances.log_group.name
        self.security_group_id = pulumi.Output.from_input(fleet.instances.security_group_id)
        self.alb_security_group_id = lb.security_group.id
        self.asg_name = fleet.group.name
        self.status_queue_url = status.url
        self.status_queue_arn = status.arn
        self.status_dlq_url = status_dlq.url
        self.status_queue = status
        self.status_dlq = status_dlq
        self.webhook_queue_url = webhooks.url
        self.webhook_dlq_url = webhooks_dlq.url
        self.webhook_queue = webhooks
        self.webhook_dlq = webhooks_dlq
        self.group = fleet.group
        self.role = fleet.instances.role
        self.security_group = fleet.instances.security_group
        self.load_balancer = fleet.load_balancer.alb
        self.video_events_topic_arn = events.arn
        self.video_events_topic = events
        self._target_group = lb.target_group
        self._dead_status = dead_letters_alarm(
            f"{name}-status-dlq-not-empty",
            status_dlq.name,
            f"status messages failed {STATUS_MAX_RECEIVES} times: state changes the database has not recorded",
        )
        self._dead_webhooks = dead_letters_alarm(
            f"{name}-webhooks-dlq-not-empty",
            webhooks_dlq.name,
            f"video events received {WEBHOOK_MAX_RECEIVES} times without their webhook deliveries recorded",
        )
        self.register_outputs(declared_outputs(self))

    def widgets(self) -> Section:
        """The API's answers and response time at its load balancer, its hosts, its status queue."""
        alb, target_group = self.load_balancer, self._target_group
        return Section(
            "Backend",
            [
                Graph(
                    "backend requests and 5xx",
                    {
                        "requests": alb_metric(alb, target_group, "RequestCount", "Sum", "requests"),
                        "target_5xx": alb_metric(
                            alb, target_group, "HTTPCode_Target_5XX_Count", "Sum", "5xx"
                        ),
                        "elb_5xx": alb_metric(
                            alb, None, "HTTPCode_ELB_5XX_Count", "Sum", "5xx from the load balancer"
                        ),
                    },
                ),
                Graph(
                    "backend response time (s)",
                    {
                        "p50": alb_metric(alb, target_group, "TargetResponseTime", "p50", "p50"),
                        "p95": alb_metric(alb, target_group, "TargetResponseTime", "p95", "p95"),
                    },
                ),
                hosts_graph("backend hosts", alb, target_group),
                Graph(
                    "status queue",
                    {
                        "waiting": Metric(
                            "AWS/SQS",
                            "ApproximateNumberOfMessagesVisible",
                            {"QueueName": self.status_queue.name},
                            "Maximum",
                            label="waiting",
                        ),
                        "age": Metric(
                            "AWS/SQS",
                            "ApproximateAgeOfOldestMessage",
                            {"QueueName": self.status_queue.name},
                            "Maximum",
                            label="oldest (s)",
                        ),
                    },
                ),
                Graph(
                    "status dead letters", self._dead_status.series, hidden=frozenset({"visible", "hidden"})
                ),
            ],
        )

    def alarms(self, thresholds: AlarmThresholds) -> list[AlarmSpec]:
        """A status message reached the status DLQ; a video event reached the webhook DLQ."""
        return [self._dead_status, self._dead_webhooks]
