"""The gateway's streaming proxy, against a raw upstream socket."""

from __future__ import annotations

import socket
import threading

import pytest
from flask import Flask, Response, request

from app.local.proxy import Upstream

WAIT_SECONDS = 5
EVENT = b"data: first\n\n"
STREAM = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    + f"{len(EVENT):x}\r\n".encode()
    + EVENT
    + b"\r\n"
)


@pytest.mark.parametrize(
    ("method", "answer", "reads_first_chunk"),
    [
        ("GET", STREAM, True),  # a browser leaves an SSE stream
        ("HEAD", STREAM, False),  # a body that is never iterated
        ("DELETE", b"HTTP/1.1 204 No Content\r\n\r\n", False),
    ],
)
def test_an_upstream_connection_is_never_left_checked_out_with_a_response_nobody_reads(
    method: str, answer: bytes, reads_first_chunk: bool
) -> None:
    upstream_saw_close = threading.Event()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def answer_then_wait() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(answer)
                connection.settimeout(WAIT_SECONDS)
                try:
                    if connection.recv(1) == b"":
                        upstream_saw_close.set()
                except TimeoutError:
                    pass

        server = threading.Thread(target=answer_then_wait, daemon=True)
        server.start()
        upstream = Upstream()
        app = Flask(__name__)

        @app.route("/events/stream", methods=["GET", "DELETE"])
        def stream() -> Response:
            return upstream.forward(request, f"http://127.0.0.1:{port}", request.path, stream_timeout=True)

        response = app.test_client().open("/events/stream", method=method, buffered=False)
        if reads_first_chunk:
            assert next(iter(response.response)) == EVENT
        response.close()
        server.join(WAIT_SECONDS * 2)

    assert upstream_saw_close.is_set()
