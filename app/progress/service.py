"""One worker's parts: the hub, the poller on the instance's queue, the Flask app.

The queue itself belongs to the instance (the gunicorn master in ``serve``), so a worker
that is respawned or reloaded reads the same queue.
"""

from __future__ import annotations

from dataclasses import dataclass

import boto3
from flask import Flask

from app.contracts import tickets
from app.contracts.settings import ProgressSettings
from app.contracts.signouts import SignOuts
from app.progress.hub import Hub
from app.progress.instance_queue import InstanceQueue
from app.progress.poller import Poller
from app.progress.web import ClientConnection, ClientWatch, create_app
from app.serving import file_descriptors_needed

SPARE_CONNECTIONS = 100  # beyond max_connections: health checks and the 503 answers themselves


def worker_connections(max_connections: int) -> int:
    """Connections the worker accepts at once: its streams and room to refuse the next ones."""
    return max_connections + SPARE_CONNECTIONS


def file_descriptors(max_connections: int) -> int:
    """Open files the worker needs at ``max_connections`` streams (its unit's LimitNOFILE covers the default)."""
    return file_descriptors_needed(worker_connections(max_connections))


@dataclass(frozen=True)
class ProgressService:
    hub: Hub
    poller: Poller
    app: Flask

    @classmethod
    def start(
        cls,
        settings: ProgressSettings,
        *,
        instance_id: str,
        queue: InstanceQueue,
        watch_client: ClientWatch | None = None,
        connection: ClientConnection | None = None,
    ) -> ProgressService:
        key = tickets.load_key(boto3.client("secretsmanager"), settings.ticket_secret_arn)
        hub = Hub(
            buffer_size=settings.replay_buffer_size,
            max_videos=settings.replay_max_videos,
            max_streams=settings.max_connections,
        )
        poller = Poller(boto3.client("sqs"), queue.url, hub)
        app = create_app(
            settings,
            hub=hub,
            ticket_key=key,
            signouts=SignOuts(boto3.client("dynamodb"), settings.signout_table),
            instance_id=instance_id,
            queue_name=queue.name,
            poller=poller,
            watch_client=watch_client,
            connection=connection,
        )
        return cls(hub, poller, app)

    def end_streams(self) -> None:
        self.hub.close()
