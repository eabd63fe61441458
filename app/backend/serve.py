"""``reelstack backend``: the API under gunicorn (sync workers), JSON access logs, graceful SIGTERM.

gunicorn handles SIGTERM itself: workers finish their requests within ``--graceful-timeout``.
Each worker builds its own app (engine, clients) after the fork.
"""

from __future__ import annotations

import argparse
import logging
from datetime import timedelta
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from app.backend.app import create_app
from app.contracts import logs
from app.contracts.settings import BackendSettings, load

access_log = logging.getLogger("reelstack.access")


class JsonLogger(Logger):
    """gunicorn's logger, its lines routed through the service's JSON formatter."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # gunicorn installs its own handlers; the root's JSON handler takes their place.
        for name in ("gunicorn.error", "gunicorn.access"):
            gunicorn_logger = logging.getLogger(name)
            gunicorn_logger.handlers[:] = []
            gunicorn_logger.propagate = True

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        access_log.info(
            "%s %s %s %.1fms",
            req.method,
            req.path,
            resp.status_code,
            request_time.total_seconds() * 1000,
            extra={
                "path": req.path,
                "status": resp.status_code,
                "request_id": environ.get("HTTP_X_REQUEST_ID"),
            },
        )


class BackendApplication(BaseApplication):
    def __init__(self, settings: BackendSettings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return create_app(self.settings)


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
    options = {
        "bind": args.bind,
        "workers": args.workers,
        "threads": args.threads,
        "graceful_timeout": args.graceful_timeout,
        "accesslog": "-",
        "logger_class": JsonLogger,
        "loglevel": settings.log_level.lower(),
        "proc_name": "reelstack-backend",
        # One fixed control-socket path per user would be shared by every gunicorn on the host.
        "control_socket_disable": True,
    }
    BackendApplication(settings, options).run()
    return 0
