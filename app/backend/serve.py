"""``reelstack backend``: the API under gunicorn (sync workers), JSON access logs, graceful SIGTERM.

gunicorn handles SIGTERM itself: workers finish their requests within ``--graceful-timeout``.
Each worker builds its own app (engine, clients) after the fork.
"""

from __future__ import annotations

import argparse

from app.backend.app import create_app
from app.contracts import logs
from app.contracts.settings import BackendSettings, load
from app.serving import FileDescriptorLimit, Server, ensure_file_descriptors, file_descriptors_needed

# Connections a threaded worker holds at once (gunicorn's default, written down because the
# unit's LimitNOFILE must cover it): requests in progress and idle keep-alive ones.
WORKER_CONNECTIONS = 1000


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="reelstack backend", description=__doc__)
    parser.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT (default 127.0.0.1:8000)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument(
        "--graceful-timeout", type=int, default=30, help="seconds to finish requests on SIGTERM"
    )
    args = parser.parse_args(argv)
    settings = load(BackendSettings)
    logs.configure("backend", settings.log_level)
    try:
        ensure_file_descriptors(file_descriptors_needed(WORKER_CONNECTIONS))
    except FileDescriptorLimit as exc:
        parser.exit(2, f"reelstack backend: {exc}\n")
    options = gunicorn_options(
        bind=args.bind,
        workers=args.workers,
        threads=args.threads,
        graceful_timeout=args.graceful_timeout,
        log_level=settings.log_level,
    )
    Server(lambda: create_app(settings), **options).run()
    return 0


def gunicorn_options(
    *, bind: str, workers: int, threads: int, graceful_timeout: int, log_level: str
) -> dict[str, object]:
    """The gunicorn settings of ``reelstack backend`` (the benchmarks serve the API with the same)."""
    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_connections": WORKER_CONNECTIONS,
        # Each worker listens on its own SO_REUSEPORT socket and Linux spreads new connections
        # over them: on one shared socket, a burst of keep-alive connections (the load balancer's)
        # could all be accepted by one worker, leaving the other cores idle.
        "reuse_port": True,
        "graceful_timeout": graceful_timeout,
        "accesslog": "-",
        "loglevel": log_level.lower(),
        "proc_name": "reelstack-backend",
    }
