"""The gateway's streaming proxy, against a raw upstream socket."""

from __future__ import annotations

import socket
import threading

from flask import Flask, Response, request

from app.local.proxy import Upstream

WAIT_SECONDS = 5


def test_a_stream_the_client_leaves_is_closed_upstream_rather_than_pooled() -> None:
    upstream_saw_close = threading.Event()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def serve_one_event_then_wait() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                event = b"data: first\n\n"
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + f"{len(event):x}\r\n".encode()
                    + event
                    + b"\r\n"
                )
                connection.settimeout(WAIT_SECONDS)
                try:
                    if connection.recv(1) == b"":
                        upstream_saw_close.set()
                except TimeoutError:
                    pass

        server = threading.Thread(target=serve_one_event_then_wait, daemon=True)
        server.start()
        upstream = Upstream()
        app = Flask(__name__)

        @app.get("/events/stream")
        def stream() -> Response:
            return upstream.forward(request, f"http://127.0.0.1:{port}", request.path, stream_timeout=True)

        response = app.test_client().get("/events/stream", buffered=False)
        assert next(iter(response.response)) == b"data: first\n\n"
        response.close()  # the browser navigates away
        server.join(WAIT_SECONDS * 2)

    assert upstream_saw_close.is_set()
