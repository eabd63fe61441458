"""One definition of resource names, shared by the Pulumi components and the local platform.

The stack program and ``reelstack up`` both build their buckets, queues, topic and user
pool from ``ResourceNames``, so what runs locally is named as what runs on AWS.
"""

import re
import uuid
from dataclasses import dataclass

_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")


@dataclass(frozen=True)
class ResourceNames:
    """Physical names under one prefix, e.g. ``reelstack-dev``."""

    prefix: str

    def __post_init__(self) -> None:
        if not _PREFIX_RE.match(self.prefix):
            raise ValueError(
                f"resource prefix {self.prefix!r} must be 3-32 lowercase letters, digits or dashes, "
                "starting with a letter"
            )

    @classmethod
    def for_stack(cls, project: str, stack: str) -> "ResourceNames":
        return cls(f"{project}-{stack}")

    @property
    def uploads_bucket(self) -> str:
        return f"{self.prefix}-uploads"

    @property
    def media_bucket(self) -> str:
        return f"{self.prefix}-media"

    @property
    def web_bucket(self) -> str:
        return f"{self.prefix}-web"

    @property
    def task_queue(self) -> str:
        return f"{self.prefix}-tasks"

    @property
    def task_dlq(self) -> str:
        return f"{self.prefix}-tasks-dlq"

    @property
    def transcoder_group(self) -> str:
        """The transcoder fleet's Auto Scaling group: named up front, as its workers' settings and IAM need it."""
        return f"{self.prefix}-transcoders"

    @property
    def status_queue(self) -> str:
        return f"{self.prefix}-status"

    @property
    def status_dlq(self) -> str:
        return f"{self.prefix}-status-dlq"

    @property
    def progress_topic(self) -> str:
        return f"{self.prefix}-progress"

    @property
    def video_events_topic(self) -> str:
        """Video events for integrators (``contracts.messages.VideoEventV1``), published by the backend."""
        return f"{self.prefix}-video-events"

    @property
    def webhook_queue(self) -> str:
        """The video events users' webhooks receive, subscribed to the video events topic."""
        return f"{self.prefix}-webhooks"

    @property
    def webhook_dlq(self) -> str:
        return f"{self.prefix}-webhooks-dlq"

    @property
    def progress_queue_prefix(self) -> str:
        """Per-instance progress queues are named under this prefix (``progress_queue_name``); IAM allows only these."""
        return f"{self.prefix}-progress-"

    @property
    def user_pool(self) -> str:
        return f"{self.prefix}-users"

    @property
    def user_pool_client(self) -> str:
        return f"{self.prefix}-web"

    @property
    def signout_table(self) -> str:
        """DynamoDB table of sign-outs (``app/contracts/signouts.py``)."""
        return f"{self.prefix}-signouts"

    @property
    def ticket_secret(self) -> str:
        return f"{self.prefix}/events-ticket-key"

    @property
    def database_name(self) -> str:
        return "reelstack"


# SQS: "A queue name can have up to 80 characters", alphanumerics, hyphens and underscores.
SQS_QUEUE_NAME_MAX = 80
QUEUE_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def progress_queue_name(queue_prefix: str, instance_id: str, boot_id: str) -> str:
    """``<prefix><instance id>-<boot id>``: one progress instance's queue for one boot.

    A name of its own per boot, because SQS refuses a name for 60 s after its queue is deleted
    (``QueueDeletedRecently``): a restarted instance reusing its last name would wait that out.
    The instance id is cut to fit SQS's 80 characters; the boot id keeps the name unique.
    """
    room = SQS_QUEUE_NAME_MAX - len(queue_prefix) - len(boot_id) - 1
    if (
        room < 1
        or not (instance_id and boot_id)
        or QUEUE_NAME_UNSAFE.search(queue_prefix + instance_id + boot_id)
    ):
        raise ValueError(
            f"no valid SQS queue name has prefix {queue_prefix!r}, instance id {instance_id!r} and boot id {boot_id!r}: "
            f"names are up to {SQS_QUEUE_NAME_MAX} letters, digits, '-' or '_'"
        )
    return f"{queue_prefix}{instance_id[:room]}-{boot_id}"


# Object keys in the uploads bucket: a video's accepted sources (checked copies, what the
# transcoder reads) under ``uploads/<video id>/``, and what the browser uploads, before it is
# accepted, under ``incoming/<video id>/``. Two prefixes, so the bucket's lifecycle can expire
# uploads nobody accepted while keeping (archiving) accepted sources (MediaStorageArgs.keep_sources).
# The backend's role may delete object versions under these prefixes only.
UPLOADS_KEY_PREFIX = "uploads/"
INCOMING_KEY_PREFIX = "incoming/"


def upload_key_prefix(video_id: uuid.UUID | str) -> str:
    """Where a video's accepted sources live in the uploads bucket."""
    return f"{UPLOADS_KEY_PREFIX}{video_id}/"


def incoming_key_prefix(video_id: uuid.UUID | str) -> str:
    """Where the browser's upload of a video lands, until the backend accepts a copy of it."""
    return f"{INCOMING_KEY_PREFIX}{video_id}/"


# Object keys in the media bucket: a task's outputs under ``videos/<video id>/<task id>/``
# (``contracts.tickets.media_key_prefix``), its master playlist named ``MASTER_PLAYLIST_NAME``; a
# video's caption tracks, and the master playlist that lists them, under ``caption_key_prefix``.
# The backend's role may read the transcoders' master playlists and write under the captions
# prefix only (infra/backend.py).
MASTER_PLAYLIST_NAME = "master.m3u8"
CAPTIONS_DIR = "captions"


def caption_key_prefix(video_id: uuid.UUID | str) -> str:
    """Where a video's caption tracks live in the media bucket: beside its outputs, outside every
    task's prefix, so a new transcode neither deletes nor mixes with them."""
    return f"videos/{video_id}/{CAPTIONS_DIR}/"


# Object keys in the media bucket: the posters a video's owner uploads, under the video's prefix
# (``videos/<video id>/``, which its media grant covers) beside its tasks' outputs; the backend's
# role may write there and nowhere else in the media bucket.
POSTERS_KEY_PATTERN = "videos/*/posters/*"


def poster_key_prefix(video_id: uuid.UUID | str) -> str:
    """Where the posters the owner of a video uploads live in the media bucket."""
    return POSTERS_KEY_PATTERN.replace("*", str(video_id), 1).removesuffix("*")


# Queue behaviour, read by the components (TranscoderFleet, ProgressService) and, through the
# synthesized graph, by the local platform; the transcoder's lease follows the task queue's.
TASK_MAX_RECEIVES = 3
TASK_VISIBILITY_TIMEOUT_SECONDS = 60
# A transcoder that reports a dead letter failed hides it this long: it is reported again (the
# status consumer ignores the repeat) at most this often, and ``reelstack redrive`` waits at most
# this long for it. The DLQ alarm counts hidden messages too.
DEAD_LETTER_HIDE_SECONDS = 900
STATUS_MAX_RECEIVES = 5
STATUS_VISIBILITY_TIMEOUT_SECONDS = 30
# A video event is attempted at most this often per webhook (app/backend/webhook_delivery.py); its
# message waits between attempts on the webhook queue, hidden (one receive per attempt, all its
# webhooks' attempts due together), so the queue sends it to its DLQ only after more receives than
# the attempts need: the rest are for crashes. 10 is the most the policy pack allows.
WEBHOOK_DELIVERY_ATTEMPTS = 6
WEBHOOK_MAX_RECEIVES = 10
# Long enough for one event's deliveries to every webhook of a user, each within its timeouts.
WEBHOOK_VISIBILITY_TIMEOUT_SECONDS = 120

# Where an EC2 service's settings live: the components' user data writes the file, the
# machine image's systemd units read it as their EnvironmentFile (images/).
SETTINGS_ENV_DIR = "/etc/reelstack"


def settings_env_file(role: str) -> str:
    """``/etc/reelstack/<role>.env`` for ``backend``, ``transcoder`` or ``progress``."""
    return f"{SETTINGS_ENV_DIR}/{role}.env"
