"""One progress instance: its queue on the topic, its hub and poller, its Flask app.

``ProgressService.start`` does the start-up work (ticket key, own queue, subscription);
``shutdown`` ends the streams and removes the queue and the subscription.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import boto3
from flask import Flask

from app.contracts import tickets
from app.contracts.settings import ProgressSettings
from app.progress import instance_queue
from app.progress.hub import Hub
from app.progress.poller import Poller
from app.progress.web import create_app

log = logging.getLogger(__name__)


@dataclass
class ProgressService:
    settings: ProgressSettings
    instance_id: str
    hub: Hub
    poller: Poller
    queue: instance_queue.InstanceQueue
    app: Flask
    _sqs: Any
    _sns: Any

    @classmethod
    def start(cls, settings: ProgressSettings, instance_id: str) -> ProgressService:
        sqs, sns = boto3.client("sqs"), boto3.client("sns")
        key = tickets.load_key(boto3.client("secretsmanager"), settings.ticket_secret_arn)
        queue = instance_queue.create(
            sqs,
            sns,
            name=instance_queue.queue_name(settings.progress_queue_prefix, instance_id),
            topic_arn=settings.progress_topic_arn,
        )
        hub = Hub(
            buffer_size=settings.replay_buffer_size,
            max_videos=settings.replay_max_videos,
            max_streams=settings.max_connections,
        )
        poller = Poller(sqs, queue.url, hub)
        app = create_app(settings, hub=hub, ticket_key=key, instance_id=instance_id, poller=poller)
        log.info("progress instance %s listening on queue %s", instance_id, queue.name)
        return cls(settings, instance_id, hub, poller, queue, app, sqs, sns)

    def end_streams(self) -> None:
        self.hub.close()

    def shutdown(self) -> None:
        self.hub.close()
        instance_queue.delete(self._sqs, self._sns, self.queue)
