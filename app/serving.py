"""gunicorn for every HTTP service (backend, progress, local gateway): options in code, JSON log lines."""

from __future__ import annotations

import json
import logging
import resource
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, Response, request
from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from werkzeug.exceptions import HTTPException

from app.contracts.errors import ApiError, error_body, status_code_name

access_log = logging.getLogger("reelstack.access")
log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    return Response(
        json.dumps(error_body(code, message, details)), status=status, mimetype="application/json"
    )


def answer_in_the_error_shape(app: Flask, *, unexpected: str, retry_after_seconds: int | None = None) -> None:
    """Every answer of ``app`` its routes do not make is JSON in the shared shape: ApiErrors,
    werkzeug's 404/405/413... (a 405 with its ``Allow``), unexpected errors as a logged 500
    saying ``unexpected``, and a 503 with ``Retry-After`` when given. An automatic ``OPTIONS``
    answers 204 with ``Allow`` and no body, instead of Flask's empty text/html page."""

    def on_api_error(exc: ApiError) -> Response:
        response = error_response(exc.status, exc.code, exc.message, exc.details)
        if exc.retry_after_seconds is not None:
            response.headers["Retry-After"] = str(exc.retry_after_seconds)
        elif exc.status == 503 and retry_after_seconds is not None:
            response.headers["Retry-After"] = str(retry_after_seconds)
        return response

    def on_http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        response = error_response(status, status_code_name(exc.name), exc.description or "")
        allow = exc.get_response().headers.get("Allow")
        if allow:
            response.headers["Allow"] = allow
        return response

    def on_unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path, exc_info=exc)
        return error_response(500, "internal_error", unexpected)

    def options_without_a_page(response: Response) -> Response:
        if request.method == "OPTIONS" and response.status_code == 200 and not response.get_data():
            response.status_code = 204
            del response.headers["Content-Type"]
        return response

    app.register_error_handler(ApiError, on_api_error)
    app.register_error_handler(HTTPException, on_http_error)
    app.register_error_handler(Exception, on_unexpected)
    app.after_request(options_without_a_page)


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


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's answer to a request it refuses before any app sees it (414 request line too
    long, 431 headers too large, 400 malformed), in the shared error shape instead of HTML."""
    body = json.dumps(error_body(status_code_name(reason), mesg or reason)).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    gunicorn_util.write_nonblock(sock, head.encode("latin-1") + body)


DESCRIPTORS_OF_ITS_OWN = 100
"""What a server process holds open besides its clients' connections: listening socket, event
loop, pipes to its master, log files, and the AWS SDK's and the database's connection pools."""


def file_descriptors_needed(connections: int) -> int:
    """Descriptors a server worker needs to hold ``connections`` client connections at once."""
    return connections + DESCRIPTORS_OF_ITS_OWN


class FileDescriptorLimit(Exception):
    """The process may not open as many files as its connection limit needs."""


def ensure_file_descriptors(needed: int) -> None:
    """Raise this process's soft limit on open files to ``needed`` (its workers inherit it), or
    refuse naming the fix: a stock systemd service may open 1,024, and past its limit accept()
    fails with EMFILE ("Too many open files") while the process looks healthy."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise FileDescriptorLimit(
            f"its connection limit needs {needed} open files but the process may open {hard}; "
            f"raise LimitNOFILE in its systemd unit (locally: ulimit -n {needed})"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


class Server(BaseApplication):
    """A gunicorn master whose workers each serve the app ``load`` builds after the fork."""

    def __init__(self, load: Callable[[], Flask], **options: Any) -> None:
        # gunicorn has no hook for these answers: its workers call util.write_error directly.
        gunicorn_util.write_error = write_json_error
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
