"""The stack's configuration: every key of ``Pulumi.<stack>.yaml`` (namespace ``reelstack``), typed.

README.md has the table of keys; this file is where their defaults live, and the rules a
stack's config must meet before anything is created (``StackConfig.__post_init__``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import pulumi

from app.contracts.rate_limits import RateLimits
from infra._fleet import checked_ami_id
from infra.backend import BackendServiceArgs
from infra.operations import AlarmThresholds
from infra.transcoder import TranscoderFleetArgs

N = TypeVar("N", int, float)


@dataclass(frozen=True)
class StackConfig:
    owner: str
    vpc_cidr: str
    az_count: int
    nat_gateways: int
    protect: bool
    version_uploads: bool
    raw_upload_expiry_days: int
    keep_sources: bool
    db_instance_class: str
    db_allocated_storage_gib: int
    db_multi_az: bool
    db_deletion_protection: bool
    db_backup_retention_days: int
    backend_ami: str | None
    backend_instance_type: str
    backend_min_size: int
    backend_max_size: int
    transcoder_ami: str | None
    transcoder_instance_type: str
    transcoder_spot_instance_types: tuple[str, ...]
    transcoder_on_demand_percentage: int
    transcoder_min_size: int
    transcoder_max_size: int
    transcoder_workers_per_instance: int
    transcoder_tasks_per_worker: float
    transcoder_scale_in_minutes: int
    transcoder_max_source_seconds: float
    transcoder_max_source_fps: float
    transcoder_min_source_side: int
    transcoder_max_source_side: int
    transcoder_max_source_pixel_frames: int
    transcoder_timeout_seconds: int
    videos_per_user_per_day: int
    stored_bytes_per_user: int
    price_cpu_hour_on_demand: float
    price_cpu_hour_spot: float
    price_gb_month_stored: float
    progress_ami: str | None
    progress_instance_type: str
    progress_min_size: int
    progress_max_size: int
    users_layer_zip: str
    email_source_arn: str | None
    email_from: str | None
    first_admin_email: str | None
    log_level: str
    log_retention_days: int
    throttle_rate: float
    throttle_burst: int
    rate_limits: RateLimits
    domain: str | None
    certificate_arn: str | None
    alarm_topic_arn: str | None
    alarms: AlarmThresholds
    manage_apigateway_account: bool

    def __post_init__(self) -> None:
        # A pinned AMI must be an id AWS accepts at launch; unset boots the newest build.
        for key, ami in (
            ("backendAmi", self.backend_ami),
            ("transcoderAmi", self.transcoder_ami),
            ("progressAmi", self.progress_ami),
        ):
            if ami is not None:
                checked_ami_id(ami, f"reelstack:{key}")
        if (self.email_source_arn is None) != (self.email_from is None):
            raise ValueError(
                "reelstack:emailSourceArn and reelstack:emailFrom go together: the SES identity "
                "Cognito sends through, and an address of that identity"
            )
        if self.email_source_arn is not None and not _is_arn(self.email_source_arn, "ses", "identity/"):
            raise ValueError(
                f"reelstack:emailSourceArn {self.email_source_arn} is not an SES identity ARN "
                "(arn:aws:ses:<region>:<account>:identity/<domain or address>)"
            )
        if self.first_admin_email is not None and not _looks_like_email(self.first_admin_email):
            raise ValueError(f"reelstack:firstAdminEmail {self.first_admin_email!r} is not an email address")
        if self.alarm_topic_arn is not None and not _is_arn(self.alarm_topic_arn, "sns", ""):
            raise ValueError(f"reelstack:alarmTopicArn {self.alarm_topic_arn} is not an SNS topic ARN")
        for key, value, upper in (
            ("alarmApi5xxPercent", self.alarms.api_5xx_percent, 100.0),
            ("alarmTranscodeFailurePercent", self.alarms.transcode_failure_percent, 100.0),
            ("alarmDbCpuPercent", self.alarms.db_cpu_percent, 100.0),
            ("alarmApiP95LatencyMs", self.alarms.api_p95_latency_ms, None),
            ("alarmTaskAgeSeconds", self.alarms.task_age_seconds, None),
            ("alarmDbFreeStorageGib", self.alarms.db_free_storage_gib, None),
        ):
            # A share at or above 100 % never fires; a latency, age or size of 0 fires always or never.
            if value is None:
                continue
            in_range = 0 <= value < upper if upper is not None else value > 0
            if not in_range:
                bound = f"at least 0 and below {upper:g}" if upper is not None else "above 0"
                raise ValueError(f"reelstack:{key} is {value:g}; an alarm threshold must be {bound}")
        if not self.protect:
            return
        missing = [
            key
            for key, value in (
                ("emailSourceArn", self.email_source_arn),
                ("emailFrom", self.email_from),
                ("alarmTopicArn", self.alarm_topic_arn),
            )
            if value is None
        ]
        if missing:
            raise ValueError(
                f"a protected stack (reelstack:protect true) must set {', '.join('reelstack:' + k for k in missing)}: "
                "Cognito's own sender allows only a few emails a day, so sign-ups fail past it (send "
                "through a verified SES identity), and the stack's alarms need a topic to "
                "notify; docs/platform-teams.md, 'Mail and alarms', says how to create both"
            )

    @classmethod
    def load(cls) -> StackConfig:
        c = pulumi.Config("reelstack")
        return cls(
            owner=c.get("owner") or "platform",
            vpc_cidr=c.get("vpcCidr") or "10.0.0.0/16",
            az_count=_or(c.get_int("azCount"), 2),
            nat_gateways=_or(c.get_int("natGateways"), 1),
            protect=c.get_bool("protect") or False,
            version_uploads=c.get_bool("versionUploads") or False,
            raw_upload_expiry_days=_or(c.get_int("rawUploadExpiryDays"), 7),
            keep_sources=c.get_bool("keepSources") or False,
            db_instance_class=c.get("dbInstanceClass") or "db.t4g.micro",
            db_allocated_storage_gib=_or(c.get_int("dbAllocatedStorageGib"), 20),
            db_multi_az=c.get_bool("dbMultiAz") or False,
            db_deletion_protection=c.get_bool("dbDeletionProtection") or False,
            db_backup_retention_days=_or(c.get_int("dbBackupRetentionDays"), 1),
            backend_ami=c.get("backendAmi"),
            backend_instance_type=c.get("backendInstanceType") or "t4g.small",
            backend_min_size=_or(c.get_int("backendMinSize"), 1),
            backend_max_size=_or(c.get_int("backendMaxSize"), 2),
            transcoder_ami=c.get("transcoderAmi"),
            transcoder_instance_type=c.get("transcoderInstanceType") or "c7g.large",
            transcoder_spot_instance_types=tuple(c.get_object("transcoderSpotInstanceTypes") or ()),
            transcoder_on_demand_percentage=_or(c.get_int("transcoderOnDemandPercentage"), 100),
            transcoder_min_size=_or(c.get_int("transcoderMinSize"), 0),
            transcoder_max_size=_or(c.get_int("transcoderMaxSize"), 2),
            transcoder_workers_per_instance=_or(c.get_int("transcoderWorkersPerInstance"), 2),
            transcoder_tasks_per_worker=_or(
                c.get_float("transcoderTasksPerWorker"), TranscoderFleetArgs.tasks_per_worker
            ),
            transcoder_scale_in_minutes=_or(
                c.get_int("transcoderScaleInMinutes"), TranscoderFleetArgs.scale_in_quiet_minutes
            ),
            transcoder_max_source_seconds=_or(
                c.get_float("transcoderMaxSourceSeconds"), TranscoderFleetArgs.max_source_seconds
            ),
            transcoder_max_source_fps=_or(
                c.get_float("transcoderMaxSourceFps"), TranscoderFleetArgs.max_source_fps
            ),
            transcoder_min_source_side=_or(
                c.get_int("transcoderMinSourceSide"), TranscoderFleetArgs.min_source_side
            ),
            transcoder_max_source_side=_or(
                c.get_int("transcoderMaxSourceSide"), TranscoderFleetArgs.max_source_side
            ),
            transcoder_max_source_pixel_frames=_or(
                c.get_int("transcoderMaxSourcePixelFrames"), TranscoderFleetArgs.max_source_pixel_frames
            ),
            transcoder_timeout_seconds=_or(
                c.get_int("transcoderTimeoutSeconds"), TranscoderFleetArgs.transcode_timeout_seconds
            ),
            videos_per_user_per_day=_or(
                c.get_int("videosPerUserPerDay"), BackendServiceArgs.videos_per_user_per_day
            ),
            stored_bytes_per_user=_or(
                c.get_int("storedBytesPerUser"), BackendServiceArgs.stored_bytes_per_user
            ),
            price_cpu_hour_on_demand=_or(
                c.get_float("priceCpuHourOnDemand"), BackendServiceArgs.price_cpu_hour_on_demand
            ),
            price_cpu_hour_spot=_or(c.get_float("priceCpuHourSpot"), BackendServiceArgs.price_cpu_hour_spot),
            price_gb_month_stored=_or(
                c.get_float("priceGbMonthStored"), BackendServiceArgs.price_gb_month_stored
            ),
            progress_ami=c.get("progressAmi"),
            progress_instance_type=c.get("progressInstanceType") or "t4g.small",
            progress_min_size=_or(c.get_int("progressMinSize"), 1),
            progress_max_size=_or(c.get_int("progressMaxSize"), 2),
            users_layer_zip=c.get("usersLayerZip") or "dist/users-layer.zip",
            email_source_arn=c.get("emailSourceArn"),
            email_from=c.get("emailFrom"),
            first_admin_email=c.get("firstAdminEmail"),
            log_level=c.get("logLevel") or "INFO",
            log_retention_days=_or(c.get_int("logRetentionDays"), 14),
            throttle_rate=_or(c.get_float("throttleRate"), 100.0),
            throttle_burst=_or(c.get_int("throttleBurst"), 200),
            rate_limits=RateLimits(
                per_ip=_or(c.get_int("rateLimitPerIp"), RateLimits.per_ip),
                auth_per_ip=_or(c.get_int("authRateLimitPerIp"), RateLimits.auth_per_ip),
                window_seconds=_or(c.get_int("rateLimitWindowSeconds"), RateLimits.window_seconds),
            ),
            domain=c.get("domain"),
            certificate_arn=c.get("certificateArn"),
            alarm_topic_arn=c.get("alarmTopicArn"),
            alarms=AlarmThresholds(
                api_5xx_percent=_or(c.get_float("alarmApi5xxPercent"), AlarmThresholds.api_5xx_percent),
                api_p95_latency_ms=_or(
                    c.get_float("alarmApiP95LatencyMs"), AlarmThresholds.api_p95_latency_ms
                ),
                task_age_seconds=_or(c.get_int("alarmTaskAgeSeconds"), AlarmThresholds.task_age_seconds),
                transcode_failure_percent=_or(
                    c.get_float("alarmTranscodeFailurePercent"), AlarmThresholds.transcode_failure_percent
                ),
                db_cpu_percent=_or(c.get_float("alarmDbCpuPercent"), AlarmThresholds.db_cpu_percent),
                db_free_storage_gib=c.get_float("alarmDbFreeStorageGib"),
            ),
            manage_apigateway_account=c.get_bool("manageApiGatewayAccount") or False,
        )


def _is_arn(value: str, service: str, resource_prefix: str) -> bool:
    parts = value.split(":", 5)
    return (
        len(parts) == 6 and parts[0] == "arn" and parts[2] == service and parts[5].startswith(resource_prefix)
    )


def _looks_like_email(value: str) -> bool:
    local, at, domain = value.partition("@")
    return bool(at and local and "." in domain.strip(".")) and not any(c.isspace() for c in value)


def _or(value: N | None, default: N) -> N:
    """A numeric key's value, or its default when unset; an explicit 0 is kept (``or`` would drop it)."""
    return default if value is None else value
