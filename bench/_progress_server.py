"""The progress service's app under its gevent gunicorn worker, fed over HTTP instead of SQS (a process entry point).

    python -m bench._progress_server HOST:PORT TICKET_KEY_HEX MAX_STREAMS

``POST /bench/publish`` with a raw SNS body does what the poller does with each SQS message
(``parse_progress`` and ``Hub.publish``), so the benchmark measures the hub and the streams,
not the emulator's queues. Like ``app.progress.serve``, this module patches on import.
"""

from gevent import monkey

monkey.patch_all()  # before anything imports ssl or socket, as app.progress.serve does

# ruff: noqa: E402
import sys
import threading
from collections.abc import Callable
from typing import Any

import gevent
from gunicorn.workers.ggevent import GeventPyWSGIWorker

from app.contracts.messages import parse_progress
from app.contracts.settings import ProgressSettings
from app.progress import serve
from app.progress.connection import ChunkedConnection
from app.progress.hub import Hub
from app.progress.service import file_descriptors, worker_connections
from app.progress.web import create_app
from app.serving import Server, ensure_file_descriptors
from bench.progress_loopback import PUBLISH_PATH


class NoSignOuts:
    """The benchmark's tickets carry no token time, so no sign-out is ever asked about."""

    def signed_out(self, user_id: str, token_issued_at: int) -> bool:
        raise AssertionError("a benchmark ticket named a token")


def main(bind: str, key_hex: str, max_streams: str) -> None:
    settings = ProgressSettings(
        user_pool_client_id="bench",
        jwt_issuer="bench",
        jwks_url="http://127.0.0.1/",
        ticket_secret_arn="bench",  # noqa: S106 - no secret: the key is handed to create_app
        signout_table="bench",
        progress_topic_arn="bench",
        progress_queue_prefix="bench",
        max_connections=int(max_streams),
        log_level="WARNING",
    )
    ensure_file_descriptors(file_descriptors(settings.max_connections))
    hub = Hub(
        buffer_size=settings.replay_buffer_size,
        max_videos=settings.replay_max_videos,
        max_streams=settings.max_connections,
    )
    app = create_app(
        settings,
        hub=hub,
        ticket_key=bytes.fromhex(key_hex),
        signouts=NoSignOuts(),  # type: ignore[arg-type]
        instance_id="bench",
        watch_client=serve.watch_for_departure,
        connection=ChunkedConnection.of,
    )

    def with_publish(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ["PATH_INFO"] == PUBLISH_PATH:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            hub.publish(parse_progress(body.decode()))
            start_response("204 No Content", [])
            return [b""]
        return app(environ, start_response)

    Server(
        lambda: with_publish,  # type: ignore[arg-type, return-value]
        bind=[bind],
        workers=1,
        worker_class=GeventPyWSGIWorker,
        worker_connections=worker_connections(settings.max_connections),
        loglevel="warning",
        proc_name="bench-progress",
        # As serve's worker does: the hub writes the heartbeats of the streams it writes to.
        post_worker_init=lambda worker: gevent.spawn(
            hub.beat_every, settings.heartbeat_seconds, threading.Event()
        ),
    ).run()


if __name__ == "__main__":
    main(*sys.argv[1:])
