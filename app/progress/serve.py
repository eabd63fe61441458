"""``reelstack progress --bind HOST:PORT``: the SSE service under gunicorn with one gevent worker.

The instance (the gunicorn master) first sweeps the queues dead instances left behind, then
creates this boot's own queue on the progress topic before it starts serving, and removes it
when it stops (SIGTERM or SIGINT); its one worker reads the queue, keeps the replay buffers and
serves the streams, gevent giving it the concurrency for many of them. A worker that dies is
respawned onto the same queue.

This module is a process entry point: gevent must patch the standard library before
gunicorn, boto3 and requests import ``ssl`` and ``socket``, so it patches on import, and
nothing else may import it.
"""

from gevent import monkey

monkey.patch_all()

# ruff: noqa: E402 - everything below must come after the patch
import argparse
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

import boto3
import gevent
from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask
from gunicorn.workers.ggevent import GeventPyWSGIWorker

from app.contracts import logs
from app.contracts.names import progress_queue_name
from app.contracts.settings import ProgressSettings, SettingsError, load
from app.progress import instance_queue
from app.progress.connection import ChunkedConnection
from app.progress.service import ProgressService, file_descriptors, worker_connections
from app.serving import FileDescriptorLimit, Server, ensure_file_descriptors

log = logging.getLogger(__name__)

GRACEFUL_TIMEOUT_SECONDS = 10


def watch_for_departure(environ: dict[str, Any], gone: Callable[[], None]) -> Callable[[], None]:
    """Calls ``gone`` as soon as the stream's client closes its connection (EOF or reset).

    An SSE client sends nothing after its request, so its socket turning readable means it
    left (anything it does send is read and dropped). One event-loop watcher per stream and no
    greenlet while nothing happens: 10,000 idle streams cost no wake-ups, unlike a heartbeat
    short enough to notice departures as quickly.
    """
    sock = environ["gunicorn.sock"]  # gunicorn's gevent handler puts the client socket here
    watcher = gevent.get_hub().loop.io(sock.fileno(), 1)  # 1: readable
    stopped = False

    def readable() -> None:
        watcher.stop()
        gevent.spawn(read)  # a loop callback must not switch; the read runs in its own greenlet

    def read() -> None:
        if stopped:  # the stream ended meanwhile: the socket may be closed, its number reused
            return
        try:
            left = not sock.recv(4096)
        except OSError:
            left = True
        if left:
            gone()
        else:
            watcher.start(readable)

    def stop() -> None:
        nonlocal stopped
        stopped = True
        watcher.close()

    watcher.start(readable)
    return stop


class ProgressWorker(GeventPyWSGIWorker):
    """gevent worker that ends the open streams on SIGTERM, so graceful shutdown need not wait them out."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        service = self.app.service
        if service is not None:
            gevent.spawn(service.end_streams)


class ProgressApplication(Server):
    def __init__(
        self, settings: ProgressSettings, bind: str, *, instance_id: str, queue: instance_queue.InstanceQueue
    ) -> None:
        self.settings = settings
        self.instance_id = instance_id
        self.queue = queue
        self.service: ProgressService | None = None
        self._stopping = threading.Event()
        self._poller: gevent.Greenlet | None = None
        super().__init__(
            self._start_service,
            bind=[bind],
            workers=1,
            worker_class=ProgressWorker,
            worker_connections=worker_connections(settings.max_connections),
            graceful_timeout=GRACEFUL_TIMEOUT_SECONDS,
            loglevel=settings.log_level.lower(),
            proc_name="reelstack-progress",
            post_worker_init=self._post_worker_init,
            worker_exit=self._worker_exit,
        )

    def _start_service(self) -> Flask:
        self.service = ProgressService.start(
            self.settings,
            instance_id=self.instance_id,
            queue=self.queue,
            watch_client=watch_for_departure,
            connection=ChunkedConnection.of,
        )
        return self.service.app

    def _post_worker_init(self, worker: Any) -> None:
        assert self.service is not None
        self._poller = gevent.spawn(self.service.poller.run, self._stopping)
        # The streams the hub writes to (ChunkedConnection) get their heartbeats from it.
        gevent.spawn(self.service.hub.beat_every, self.settings.heartbeat_seconds, self._stopping)

    def _worker_exit(self, server: Any, worker: Any) -> None:
        self._stopping.set()
        if self._poller is not None:
            self._poller.kill()  # it may be inside a 20 s long poll
        if self.service is not None:
            self.service.end_streams()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="reelstack progress", description="Serve the progress SSE service (gunicorn, one gevent worker)."
    )
    parser.add_argument("--bind", default="127.0.0.1:8001", help="HOST:PORT to listen on")
    args = parser.parse_args(argv)
    try:
        settings = load(ProgressSettings)
        ensure_file_descriptors(file_descriptors(settings.max_connections))
    except (SettingsError, FileDescriptorLimit) as exc:
        parser.exit(2, f"reelstack progress: {exc}\n")
    logs.configure("progress", settings.log_level)
    instance_id = instance_queue.resolve_instance_id(settings.instance_id)
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    try:
        instance_queue.sweep(
            sqs,
            sns,
            queue_prefix=settings.progress_queue_prefix,
            topic_arn=settings.progress_topic_arn,
            instance_id=instance_id,
        )
    except (BotoCoreError, ClientError) as exc:
        # Leftover queues cost deliveries, not correctness: serving comes first; the next boot retries.
        log.error("cannot sweep the queues of dead instances: %s", exc)
    try:
        queue = instance_queue.create(
            sqs,
            sns,
            name=progress_queue_name(
                settings.progress_queue_prefix, instance_id, instance_queue.new_boot_id()
            ),
            topic_arn=settings.progress_topic_arn,
            instance_id=instance_id,
        )
    except (BotoCoreError, ClientError, ValueError) as exc:
        log.error("cannot set up this instance's progress queue: %s", exc)
        return 1
    log.info("progress instance %s reads queue %s", instance_id, queue.name)
    instance = os.getpid()
    try:
        ProgressApplication(settings, args.bind, instance_id=instance_id, queue=queue).run()
    finally:
        # Workers fork inside run() and unwind through here when they exit: only the instance removes the queue.
        if os.getpid() == instance:
            instance_queue.delete(sqs, sns, queue)
    return 0
