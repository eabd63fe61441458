"""The reelstack stack program (``pulumi up``, and ``reelstack synth`` under mocks).

Reads Pulumi.<stack>.yaml, composes the components, wires outputs into inputs, exports.
CloudFront forwards /api, /auth and /events to the gateway while the backend needs the
CloudFront domain for media URLs, so the gateway's domain reaches SiteDistribution through
a deferred output (resolved once the gateway exists). Likewise the distribution reads the
buckets while each bucket's one policy (MediaStorage's) grants that distribution the read,
and the uploads bucket takes uploads from the site's URL: the distribution's ARN and URL
reach MediaStorage through deferred outputs, so neither component writes on the other's
resources.
"""

from collections.abc import Callable
from pathlib import Path

import pulumi

from app.contracts.names import ResourceNames
from infra import (
    BackendService,
    BackendServiceArgs,
    BucketReference,
    Database,
    DatabaseArgs,
    EdgeProtection,
    EdgeProtectionArgs,
    Gateway,
    GatewayArgs,
    MachineImage,
    MediaStorage,
    MediaStorageArgs,
    Network,
    NetworkArgs,
    Placement,
    ProgressService,
    ProgressServiceArgs,
    Scaling,
    SigningKey,
    SigningKeyArgs,
    SiteDistribution,
    SiteDistributionArgs,
    TokenIssuer,
    TranscoderFleet,
    TranscoderFleetArgs,
    UserService,
    UserServiceArgs,
    WebApp,
    WebAppArgs,
)
from stacks.config import StackConfig
from stacks.operations import Operations, OperationsArgs

cfg = StackConfig.load()
names = ResourceNames.for_stack(pulumi.get_project(), pulumi.get_stack())
PROJECT_DIR = Path(__file__).resolve().parent.parent
STAGE = "v1"

network = Network(
    "net",
    NetworkArgs(
        cidr_block=cfg.vpc_cidr, az_count=cfg.az_count, nat_gateways=cfg.nat_gateways, owner=cfg.owner
    ),
)
placement = Placement(
    vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr_block, subnet_ids=tuple(network.private_subnet_ids)
)

database = Database(
    "db",
    DatabaseArgs(
        names=names,
        placement=placement,
        instance_class=cfg.db_instance_class,
        allocated_storage_gib=cfg.db_allocated_storage_gib,
        multi_az=cfg.db_multi_az,
        deletion_protection=cfg.db_deletion_protection,
        backup_retention_days=cfg.db_backup_retention_days,
        protect=cfg.protect,
        owner=cfg.owner,
    ),
)
users = UserService(
    "users",
    UserServiceArgs(
        names=names,
        # built by images/users-layer.sh before `pulumi up`
        dependencies=pulumi.FileArchive(str(PROJECT_DIR / cfg.users_layer_zip)),
        log_level=cfg.log_level,
        log_retention_days=cfg.log_retention_days,
        email_source_arn=cfg.email_source_arn,
        email_from=cfg.email_from,
        first_admin_email=cfg.first_admin_email,
        deletion_protection=cfg.protect,
        protect=cfg.protect,
        owner=cfg.owner,
    ),
)
# The backend signs tickets and media grants, the distribution's function and the progress
# service verify them: the key comes first, so no component waits on another for it.
signing_key = SigningKey(
    "ticket",
    SigningKeyArgs(
        names=names,
        moved_from_progress="progress",  # stacks created before SigningKey kept it in ProgressService
        owner=cfg.owner,
    ),
)
tokens = TokenIssuer(
    user_pool_client_id=users.user_pool_client_id,
    jwt_issuer=users.jwt_issuer,
    jwks_url=users.jwks_url,
    signout_table=users.signout_table_name,
    signout_table_arn=users.signout_table_arn,
)
progress = ProgressService(
    "progress",
    ProgressServiceArgs(
        names=names,
        placement=placement,
        image=MachineImage(ami_id=cfg.progress_ami),
        log_retention_days=cfg.log_retention_days,
        scaling=Scaling(
            instance_type=cfg.progress_instance_type,
            min_size=cfg.progress_min_size,
            max_size=cfg.progress_max_size,
        ),
        log_level=cfg.log_level,
        owner=cfg.owner,
        token_issuer=tokens,
        ticket_secret_arn=signing_key.secret_arn,
    ),
)
edge = EdgeProtection("edge", EdgeProtectionArgs(names=names, rate_limits=cfg.rate_limits, owner=cfg.owner))
gateway_domain: pulumi.Output[str]
resolve_gateway_domain: Callable[[pulumi.Output[str]], None]
gateway_domain, resolve_gateway_domain = pulumi.deferred_output()
site_distribution_arn: pulumi.Output[str]
resolve_site_distribution_arn: Callable[[pulumi.Output[str]], None]
site_distribution_arn, resolve_site_distribution_arn = pulumi.deferred_output()
site_url: pulumi.Output[str]
resolve_site_url: Callable[[pulumi.Output[str]], None]
site_url, resolve_site_url = pulumi.deferred_output()
storage = MediaStorage(
    "media",
    MediaStorageArgs(
        names=names,
        reader_distribution_arn=site_distribution_arn,
        upload_origins=(site_url,),
        raw_upload_expiry_days=cfg.raw_upload_expiry_days,
        keep_sources=cfg.keep_sources,
        version_uploads=cfg.version_uploads,
        protect=cfg.protect,
        force_destroy=not cfg.protect,
        owner=cfg.owner,
    ),
)
site = SiteDistribution(
    "site",
    SiteDistributionArgs(
        names=names,
        media_grant_key=signing_key.key,
        web_bucket_domain_name=storage.web_bucket_domain_name,
        media_bucket_domain_name=storage.media_bucket_domain_name,
        api_origin_domain=gateway_domain,
        api_origin_path=f"/{STAGE}",
        domain=cfg.domain,
        certificate_arn=cfg.certificate_arn,
        web_acl_arn=edge.web_acl_arn,
        uploads_bucket=storage.uploads_bucket,
        moved_from_storage="media",  # stacks created before SiteDistribution held it in MediaStorage
        owner=cfg.owner,
    ),
)
resolve_site_distribution_arn(site.distribution_arn)
resolve_site_url(site.web_url)
uploads_bucket = BucketReference(name=storage.uploads_bucket, arn=storage.uploads_bucket_arn)
media_bucket = BucketReference(name=storage.media_bucket, arn=storage.media_bucket_arn)
web = WebApp("web", WebAppArgs(bucket=storage.web_bucket, owner=cfg.owner))
transcoder = TranscoderFleet(
    "transcoder",
    TranscoderFleetArgs(
        names=names,
        placement=placement,
        image=MachineImage(ami_id=cfg.transcoder_ami),
        log_retention_days=cfg.log_retention_days,
        uploads_bucket=uploads_bucket,
        media_bucket=media_bucket,
        progress_topic_arn=progress.topic_arn,
        progress_topic_key_arn=progress.topic_key_arn,
        scaling=Scaling(
            instance_type=cfg.transcoder_instance_type,
            min_size=cfg.transcoder_min_size,
            max_size=cfg.transcoder_max_size,
        ),
        spot_instance_types=cfg.transcoder_spot_instance_types,
        on_demand_percentage_above_base=cfg.transcoder_on_demand_percentage,
        workers_per_instance=cfg.transcoder_workers_per_instance,
        tasks_per_worker=cfg.transcoder_tasks_per_worker,
        scale_in_quiet_minutes=cfg.transcoder_scale_in_minutes,
        max_source_seconds=cfg.transcoder_max_source_seconds,
        max_source_fps=cfg.transcoder_max_source_fps,
        min_source_side=cfg.transcoder_min_source_side,
        max_source_side=cfg.transcoder_max_source_side,
        max_source_pixel_frames=cfg.transcoder_max_source_pixel_frames,
        transcode_timeout_seconds=cfg.transcoder_timeout_seconds,
        dlq_alarm_actions=(cfg.alarm_topic_arn,) if cfg.alarm_topic_arn else (),
        log_level=cfg.log_level,
        owner=cfg.owner,
    ),
)
backend = BackendService(
    "backend",
    BackendServiceArgs(
        names=names,
        placement=placement,
        image=MachineImage(ami_id=cfg.backend_ami),
        log_retention_days=cfg.log_retention_days,
        database_url=database.url,
        database_secret_arn=database.secret_arn,
        uploads_bucket=uploads_bucket,
        media_bucket=media_bucket,
        media_base_url=site.media_base_url,
        media_revocation_store_arn=site.grant_store_arn,
        task_queue_url=transcoder.queue_url,
        task_queue_arn=transcoder.queue_arn,
        progress_topic_arn=progress.topic_arn,
        status_queue_moved_from_progress="progress",  # stacks created before kept it in ProgressService
        ticket_secret_arn=signing_key.secret_arn,
        scaling=Scaling(
            instance_type=cfg.backend_instance_type,
            min_size=cfg.backend_min_size,
            max_size=cfg.backend_max_size,
        ),
        videos_per_user_per_day=cfg.videos_per_user_per_day,
        stored_bytes_per_user=cfg.stored_bytes_per_user,
        price_cpu_hour_on_demand=cfg.price_cpu_hour_on_demand,
        price_cpu_hour_spot=cfg.price_cpu_hour_spot,
        price_gb_month_stored=cfg.price_gb_month_stored,
        log_level=cfg.log_level,
        owner=cfg.owner,
        token_issuer=tokens,
        user_pool_id=users.user_pool_id,
        user_pool_arn=users.user_pool_arn,
    ),
)
database.allow_from("backend", backend.security_group_id)
gateway = Gateway(
    "gateway",
    GatewayArgs(
        prefix=names.prefix,
        placement=placement,
        users_function_name=users.function_name,
        users_invoke_arn=users.invoke_arn,
        backend_alb_arn=backend.alb_arn,
        backend_dns_name=backend.alb_dns_name,
        backend_origin_secret=backend.origin_secret,
        progress_alb_arn=progress.alb_arn,
        progress_dns_name=progress.alb_dns_name,
        progress_origin_secret=progress.origin_secret,
        stage_name=STAGE,
        throttle_rate=cfg.throttle_rate,
        throttle_burst=cfg.throttle_burst,
        log_retention_days=cfg.log_retention_days,
        manage_account_logging_role=cfg.manage_apigateway_account,
        owner=cfg.owner,
    ),
)
resolve_gateway_domain(gateway.domain_name)
operations = Operations(
    "ops",
    OperationsArgs(
        names=names,
        sections=(
            gateway.widgets(),
            site.widgets(),
            backend.widgets(),
            transcoder.widgets(),
            progress.widgets(),
            database.widgets(),
        ),
        alarms=(
            *gateway.alarms(cfg.alarms),
            *backend.alarms(cfg.alarms),
            *transcoder.alarms(cfg.alarms),
            *progress.alarms(cfg.alarms),
            *database.alarms(cfg.alarms),
        ),
        alarm_topic_arn=cfg.alarm_topic_arn,
        owner=cfg.owner,
    ),
)

pulumi.export("web_url", site.web_url)
pulumi.export("distribution_domain", site.domain_name)  # where a custom domain's DNS record points
pulumi.export("api_url", site.web_url.apply(lambda url: f"{url}/api"))
pulumi.export("gateway_invoke_url", gateway.invoke_url)
pulumi.export("user_pool_id", users.user_pool_id)
pulumi.export("user_pool_client_id", users.user_pool_client_id)
pulumi.export("uploads_bucket", storage.uploads_bucket)
pulumi.export("media_bucket", storage.media_bucket)
pulumi.export("web_bucket", storage.web_bucket)
pulumi.export("web_release", web.release)
pulumi.export("task_dlq_url", transcoder.dlq_url)
pulumi.export("video_events_topic_arn", backend.video_events_topic_arn)  # integrators subscribe here
pulumi.export("dashboard_name", operations.dashboard_name)
