"""A stream's connection as the hub writes to it: at once when the socket takes the chunk, the rest in order later."""

from __future__ import annotations

import gevent
import gevent.socket

from app.progress.connection import ChunkedConnection
from app.progress.hub import HEARTBEAT_CHUNK

LARGER_THAN_ANY_SOCKET_BUFFER = b"x" * (16 << 20)


def _read_all(sock: gevent.socket.socket, size: int) -> bytes:
    received = b""
    while len(received) < size:
        received += sock.recv(1 << 20)
    return received


def test_a_chunk_the_socket_takes_is_written_at_once() -> None:
    server, client = gevent.socket.socketpair()
    assert ChunkedConnection(server).write_now(HEARTBEAT_CHUNK)
    assert client.recv(1024) == HEARTBEAT_CHUNK


def test_what_a_full_socket_cannot_take_is_kept_and_the_stream_writes_it_in_order() -> None:
    server, client = gevent.socket.socketpair()
    connection = ChunkedConnection(server)
    assert not connection.write_now(LARGER_THAN_ANY_SOCKET_BUFFER)
    assert not connection.write_now(HEARTBEAT_CHUNK)  # after the rest, never before it
    reader = gevent.spawn(_read_all, client, len(LARGER_THAN_ANY_SOCKET_BUFFER) + len(HEARTBEAT_CHUNK))
    connection.flush()
    assert reader.get(timeout=30) == LARGER_THAN_ANY_SOCKET_BUFFER + HEARTBEAT_CHUNK
    assert connection.write_now(HEARTBEAT_CHUNK)


def test_flushing_to_a_client_that_left_ends_quietly() -> None:
    """Its departure watch ends the stream; a write error here would be logged as the app's failure."""
    server, client = gevent.socket.socketpair()
    connection = ChunkedConnection(server)
    assert not connection.write_now(LARGER_THAN_ANY_SOCKET_BUFFER)
    client.close()
    connection.flush()
    assert connection.write_now(HEARTBEAT_CHUNK)  # gone: nothing kept for it


def test_the_hub_writes_only_plain_http_1_1_responses() -> None:
    server, _ = gevent.socket.socketpair()
    environ = {"SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "gunicorn.sock": server}
    assert isinstance(ChunkedConnection.of(environ), ChunkedConnection)
    assert ChunkedConnection.of({**environ, "SERVER_PROTOCOL": "HTTP/1.0"}) is None  # not chunked
    assert ChunkedConnection.of({**environ, "wsgi.url_scheme": "https"}) is None  # TLS wraps the socket
