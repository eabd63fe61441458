"""A stream's client connection as the hub writes to it (``hub.Connection``), under gunicorn's gevent worker."""

from __future__ import annotations

import contextlib
from typing import Any


class ChunkedConnection:
    """A stream's client socket as the hub writes to it: each event's ``chunk`` and the heartbeats
    (the body is chunked, as pywsgi writes a streamed HTTP/1.1 response) sent without waiting, in
    the hub's loops over its streams, and what the socket could not take written later by the stream."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        # gevent's socket wraps a non-blocking one (``_sock``, kept reachable for code that must not
        # wait on the hub): its send is one call where gevent's is several.
        self._send_now = sock._sock.send
        self._rest = b""

    @classmethod
    def of(cls, environ: dict[str, Any]) -> ChunkedConnection | None:
        """The request's connection, if the hub may write its response's body: plain HTTP/1.1."""
        if environ.get("SERVER_PROTOCOL") != "HTTP/1.1" or environ.get("wsgi.url_scheme") != "http":
            return None
        return cls(environ["gunicorn.sock"])  # gunicorn's gevent handler puts the client socket here

    def write_now(self, chunk: bytes) -> bool:
        if self._rest:
            self._rest += chunk
            return False
        try:
            written = self._send_now(chunk)
        except BlockingIOError:
            written = 0
        except OSError:
            return True  # the client is gone: its departure watch ends the stream
        self._rest = chunk[written:]
        return not self._rest

    def flush(self) -> None:
        rest, self._rest = self._rest, b""
        if rest:
            with contextlib.suppress(OSError):  # the client is gone: its departure watch ends the stream
                self._sock.sendall(rest)
