"""gunicorn for every HTTP service (backend, progress, local gateway): options in code, JSON log lines."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

access_log = logging.getLogger("reelstack.access")


class JsonLogger(Logger):
    """gunicorn's logger, its lines routed through the root logger's JSON handler (``logs.configure``)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # gunicorn installs its own handlers; the root's JSON handler takes their place.
        for name in ("gunicorn.error", "gunicorn.access"):
            gunicorn_logger = logging.getLogger(name)
            gunicorn_logger.handlers[:] = []
            gunicorn_logger.propagate = True

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not self.cfg.accesslog:
            return
        # The path without its query string: an SSE URL's query carries a ticket, never logged.
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


class Server(BaseApplication):
    """A gunicorn master whose workers each serve the app ``load`` builds after the fork."""

    def __init__(self, load: Callable[[], Flask], **options: Any) -> None:
        self._load = load
        self._options: dict[str, Any] = {
            "logger_class": JsonLogger,
            # gunicorn's default control socket is one path per user, shared by every gunicorn on the host.
            "control_socket_disable": True,
            **options,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._load()
