"""The settings contract: every service reads its configuration here, and only here.

Each service has one settings class. Its fields are the environment variables the
service reads (prefix ``REELSTACK_``); the Pulumi components set exactly these
variables and the local platform sets the same ones. ``AWS_DEFAULT_REGION`` and
``AWS_ENDPOINT_URL`` are read by boto3 itself (boto3 ignores ``AWS_REGION``): the
endpoint is the only difference between the local platform and AWS.

``load(SettingsClass)`` validates at start-up and fails with a message that names
the missing or bad variable and who is supposed to set it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "REELSTACK_"

# Where each service's variables come from, for error messages.
_SOURCES = {
    "UserServiceSettings": "the UserService component (Lambda environment)",
    "BackendSettings": "the BackendService component (user data EnvironmentFile)",
    "TranscoderSettings": "the TranscoderFleet component (user data EnvironmentFile)",
    "ProgressSettings": "the ProgressService component (user data EnvironmentFile)",
}


class SettingsError(RuntimeError):
    """A service's environment is incomplete or malformed."""


class _ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    log_level: str = Field("INFO", description="Python logging level name")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper

    @classmethod
    def env_names(cls) -> dict[str, bool]:
        """Every variable this class reads, mapped to whether it is required."""
        return {ENV_PREFIX + name.upper(): field.is_required() for name, field in cls.model_fields.items()}

    @classmethod
    def required_env(cls) -> set[str]:
        return {name for name, required in cls.env_names().items() if required}


class UserServiceSettings(_ServiceSettings):
    """The user service Lambda (``app/users``)."""

    user_pool_id: str = Field(description="Cognito user pool id")
    user_pool_client_id: str = Field(description="Cognito app client id used by the web app")
    signout_table: str = Field(
        description="DynamoDB table logout records sign-outs in (app/contracts/signouts.py)"
    )
    first_admin_email: str = Field(
        "",
        description="the stack's first admin: the account of this address joins the admin group when"
        " its sign-up is confirmed with the mailed code; empty: none (reelstack admin grant)",
    )

    @field_validator("first_admin_email")
    @classmethod
    def _lower_case(cls, value: str) -> str:
        # The handler stores and compares addresses lower-case.
        return value.strip().lower()


class _JwtVerifying(_ServiceSettings):
    user_pool_client_id: str = Field(description="Cognito app client id; the token audience")
    jwt_issuer: str = Field(description="expected `iss` of Cognito tokens")
    jwks_url: str = Field(description="where the pool's signing keys are fetched from")
    ticket_secret_arn: str = Field(description="Secrets Manager secret holding the SSE ticket signing key")
    signout_table: str = Field(
        description="DynamoDB table of sign-outs; tokens issued before their user's are refused"
    )


class BackendSettings(_JwtVerifying):
    """The backend API and its status consumer (``app/backend``)."""

    database_url: str = Field(description="SQLAlchemy URL; the password may come from database_secret_arn")
    database_secret_arn: str = Field(
        "", description="Secrets Manager secret (RDS-managed) holding the database password; empty: none"
    )
    uploads_bucket: str = Field(description="bucket browsers upload source videos to")
    media_bucket: str = Field(description="bucket holding transcoded media and thumbnails")
    task_queue_url: str = Field(description="SQS queue the transcoder fleet consumes")
    status_queue_url: str = Field(description="SQS queue subscribed to the progress topic")
    video_events_topic_arn: str = Field(
        description="SNS topic of the video events integrators subscribe to (video.ready, .failed, .deleted)"
    )
    webhook_queue_url: str = Field(
        description="SQS queue subscribed to the video events topic; its events go to users' webhooks"
    )
    webhooks_per_user: int = Field(5, gt=0, le=100, description="webhooks one user may register")
    webhook_retry_base_seconds: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="wait before a delivery's first retry; each later retry waits twice the one before",
    )
    webhook_allow_insecure_targets: bool = Field(
        False,
        description="local platform only: webhooks may use http and loopback addresses (a test's receiver)",
    )
    media_base_url: str = Field(description="public base URL that serves the media bucket")
    media_revocation_store: str = Field(
        description=(
            "where media grants are cut when a video stops being shared: the ARN of the CloudFront"
            " KeyValueStore the media function reads (SiteDistribution), or locally the gateway's"
            " http://.../_local/revocations"
        )
    )
    s3_public_endpoint_url: str = Field(
        "", description="endpoint browsers use for presigned uploads; empty: the regional S3 endpoint"
    )
    max_upload_bytes: int = Field(2 * 1024**3, gt=0, description="largest accepted source upload")
    multipart_threshold_bytes: int = Field(
        100 * 1024**2, gt=5 * 1024**2 - 1, description="size from which clients should use multipart uploads"
    )
    ticket_ttl_seconds: int = Field(60, gt=0, le=3600, description="lifetime of an SSE ticket")
    videos_per_user_per_day: int = Field(
        50, gt=0, description="videos one user may create in 24 hours; more answer 429 quota_videos_per_day"
    )
    user_pool_id: str = Field(
        description="Cognito user pool whose groups are the roles an admin assigns, and whose users an admin suspends"
    )
    stored_bytes_per_user: int = Field(
        50 * 1024**3,
        gt=0,
        description="bytes of sources one user may keep; an upload past it answers 413 quota_storage",
    )

    # Prices of what a transcode uses (app/backend/costs.py), in USD; defaults: us-east-1 list
    # prices of a c7g.large (0.0725 an hour on demand, 2 vCPUs) and of S3 Standard; spot varies.
    price_cpu_hour_on_demand: float = Field(
        0.03625, ge=0, description="USD per CPU-hour of an on-demand transcoder (and of one off EC2)"
    )
    price_cpu_hour_spot: float = Field(0.0145, ge=0, description="USD per CPU-hour of a spot transcoder")
    price_gb_month_stored: float = Field(0.023, ge=0, description="USD per GB-month of media stored")

    @field_validator("media_revocation_store")
    @classmethod
    def _store_location(cls, value: str) -> str:
        if not value.startswith(("arn:aws:cloudfront::", "http://", "https://")):
            raise ValueError(
                "must be a CloudFront KeyValueStore ARN (arn:aws:cloudfront::...) or an http(s) URL"
            )
        return value


class TranscoderSettings(_ServiceSettings):
    """A transcoder fleet worker (``app/transcoder``)."""

    task_queue_url: str = Field(description="SQS queue of transcoding tasks")
    task_dlq_url: str = Field(
        description=(
            "the task queue's dead-letter queue (set by infra/transcoder.py); an idle worker reports"
            " its tasks failed and leaves them there for the operators"
        )
    )
    uploads_bucket: str = Field(description="bucket holding source uploads")
    media_bucket: str = Field(description="bucket receiving HLS outputs and thumbnails")
    progress_topic_arn: str = Field(description="SNS topic receiving progress events")
    ladder: str = Field("1080,720,480,360,240", description="comma-separated rendition heights")
    visibility_timeout_seconds: int = Field(60, ge=10, le=43200, description="lease extended while working")
    work_dir: str = Field("/var/lib/reelstack/work", description="scratch space for downloads and outputs")
    autoscaling_group: str = Field(
        "",
        description=(
            "Auto Scaling group of this instance (set by infra/transcoder.py): while any worker on the"
            " instance holds a task, they keep it protected from scale-in; empty: no group, no protection"
        ),
    )
    # Limits on a source, checked on its probe before any encoding (see app/transcoder/limits.py).
    max_source_seconds: float = Field(3600.0, gt=0, description="longest accepted source, in seconds")
    max_source_fps: float = Field(120.0, gt=0, description="highest accepted source frame rate")
    min_source_side: int = Field(
        64, gt=0, description="smallest accepted side of the picture as shown, in pixels"
    )
    max_source_side: int = Field(
        4096, gt=0, description="largest accepted side of the picture as shown, in pixels"
    )
    max_source_pixel_frames: int = Field(
        1920 * 1080 * 60 * 3600,
        gt=0,
        description="largest accepted width x height x frame rate x duration (default: an hour of 1080p60)",
    )
    transcode_timeout_seconds: int = Field(
        10800,
        gt=0,
        description="wall-clock budget of one transcode; a source that exceeds it fails permanently",
    )
    resumable_from_seconds: float = Field(
        120.0,
        gt=0,
        description=(
            "sources at least this long are transcoded in two checkpointed runs (the top rendition,"
            " then the rest) so an interrupted task resumes; shorter ones in one run (one decode)"
        ),
    )

    @field_validator("ladder")
    @classmethod
    def _ladder_heights(cls, value: str) -> str:
        heights = [part.strip() for part in value.split(",") if part.strip()]
        if not heights or not all(h.isdigit() and 0 < int(h) <= 4320 for h in heights):
            raise ValueError("must be comma-separated heights in pixels, e.g. 1080,720,480")
        return ",".join(heights)

    @model_validator(mode="after")
    def _sides_in_order(self) -> TranscoderSettings:
        if self.min_source_side > self.max_source_side:
            raise ValueError("min_source_side must not exceed max_source_side")
        return self

    @property
    def ladder_heights(self) -> list[int]:
        return sorted({int(h) for h in self.ladder.split(",")}, reverse=True)


class ProgressSettings(_JwtVerifying):
    """The progress (SSE) service (``app/progress``)."""

    progress_topic_arn: str = Field(description="SNS topic the service subscribes its own queue to")
    progress_queue_prefix: str = Field(
        description="name prefix of per-instance queues; IAM allows only these"
    )
    instance_id: str = Field(
        "",
        description="names this instance's queues; unique among running instances (a boot sweeps "
        "the queues of earlier boots of its id); empty: EC2 instance id or host-pid",
    )
    replay_buffer_size: int = Field(
        256, gt=0, le=10000, description="events kept per video for Last-Event-ID"
    )
    heartbeat_seconds: float = Field(15.0, gt=0, description="interval of SSE heartbeat comments")
    replay_max_videos: int = Field(
        10000, gt=0, description="videos whose replay buffers are kept (least recently updated dropped)"
    )
    max_connections: int = Field(
        1000, gt=0, description="open SSE streams per process; more are refused with 503"
    )


SettingsT = TypeVar("SettingsT", bound=_ServiceSettings)

SERVICE_SETTINGS: dict[str, type[_ServiceSettings]] = {
    "users": UserServiceSettings,
    "backend": BackendSettings,
    "transcoder": TranscoderSettings,
    "progress": ProgressSettings,
}


def load(settings_class: type[SettingsT], **overrides: Any) -> SettingsT:
    """Read ``settings_class`` from the environment, or fail naming each bad variable."""
    try:
        return settings_class(**overrides)
    except ValidationError as exc:
        source = _SOURCES.get(settings_class.__name__, "the service's component")
        problems = []
        for error in exc.errors():
            variable = ENV_PREFIX + str(error["loc"][0]).upper() if error["loc"] else settings_class.__name__
            if error["type"] == "missing":
                problems.append(f"{variable} is not set")
            else:
                problems.append(f"{variable} is invalid: {error['msg']}")
        raise SettingsError(
            "; ".join(problems) + f". `reelstack up` sets it locally, {source} on AWS."
        ) from None
