"""``reelstack retranscode --stack NAME (--video ID ... | --all)``: transcode videos again from their kept sources.

For a stack that keeps sources (``reelstack:keepSources``), e.g. after the ladder changed: each
chosen video that is ready or failed gets a new task, queued as a retry is
(``app.backend.videos.retranscode_video``): exactly one, on the task queue the fleet consumes.
The video reads ``queued``, then ``transcoding``, and is ready again with its new outputs, after
which the status consumer deletes the previous task's outputs. A video whose source is gone
(expired, the stack keeps none) or archived where the transcoder cannot read it before a restore
is reported with the reason and left as it is; the exit status is 1 if any was.

It runs with the backend's settings and credentials, as ``reelstack migrate`` does: on a backend
instance it reads the settings file the machine image's units read (``/etc/reelstack/backend.env``);
``--state-dir .reelstack`` reads the one ``reelstack up`` writes for its backend.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path

from dotenv import dotenv_values
from sqlalchemy import select

from app.backend.aws import AwsClients
from app.backend.db import database_engine, session_factory
from app.backend.models import Video
from app.backend.videos import retranscode_video
from app.contracts.errors import ApiError
from app.contracts.messages import VideoState
from app.contracts.names import ResourceNames, settings_env_file
from app.contracts.settings import BackendSettings, SettingsError, load

PROJECT = "reelstack"
# app/local/platform.py writes the backend's settings and credentials here in its state directory.
LOCAL_BACKEND_ENV_FILE = "backend.env"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reelstack retranscode", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--stack", required=True, help="the stack whose videos to transcode again (dev, prod)"
    )
    chosen = parser.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--video", type=uuid.UUID, action="append", help="a video's id (repeatable)")
    chosen.add_argument("--all", action="store_true", help="every ready or failed video")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--env-file",
        type=Path,
        default=Path(settings_env_file("backend")),
        help="the backend's settings file (default: the backend instance's)",
    )
    where.add_argument("--state-dir", type=Path, help="the state directory of a running `reelstack up`")
    return parser


def _settings(env_file: Path) -> BackendSettings:
    """The backend's settings from ``env_file``; its AWS variables (credentials, endpoint) too."""
    if not env_file.is_file():
        raise SettingsError(f"{env_file} does not exist: run this on a backend instance, or give --state-dir")
    os.environ.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    return load(BackendSettings)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    env_file = args.state_dir / LOCAL_BACKEND_ENV_FILE if args.state_dir else args.env_file
    try:
        settings = _settings(env_file)
    except SettingsError as exc:
        print(f"reelstack retranscode: {exc}", file=sys.stderr)
        return 2
    task_queue = ResourceNames.for_stack(PROJECT, args.stack).task_queue
    if settings.task_queue_url.rstrip("/").rsplit("/", 1)[-1] != task_queue:
        print(
            f"reelstack retranscode: {env_file} is not stack {args.stack!r}'s (its task queue is "
            f"{settings.task_queue_url}, not {task_queue})",
            file=sys.stderr,
        )
        return 2
    aws = AwsClients.from_settings(settings)
    engine = database_engine(settings, aws.secretsmanager)
    refused = 0
    try:
        with session_factory(engine)() as session:
            ids = args.video or list(
                session.scalars(
                    select(Video.id)
                    .where(Video.status.in_((VideoState.READY, VideoState.FAILED)))
                    .order_by(Video.created_at)
                )
            )
            for video_id in ids:
                video = session.get(Video, video_id)
                if video is None:
                    print(f"{video_id}: not queued: no such video")
                    refused += 1
                    continue
                try:
                    retranscode_video(session, aws, settings, video)
                except ApiError as exc:
                    print(f"{video_id}: not queued: {exc.message} ({exc.code})")
                    refused += 1
                    continue
                print(f"{video_id}: queued as task {video.task_id}")
    finally:
        engine.dispose()
    print(f"{len(ids) - refused} of {len(ids)} videos queued for transcoding")
    return 1 if refused else 0
