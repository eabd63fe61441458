"""The least an SSE server can do, as the fan-out benchmark's floor (a process entry point).

    python -m bench._floor_server HOST:PORT

It answers every ``GET`` with a 200 event stream and, for each ``POST /bench/publish`` (a raw
SNS body, as ``bench._progress_server`` takes it), formats the event's frame as the product
does and writes it to every open stream in one loop: no tickets, no hub, no greenlets. Measured
with the same clients as the progress process, its latency is what the clients and the
machine cost by themselves.
"""

from __future__ import annotations

import selectors
import socket
import sys

from app.contracts.messages import parse_progress
from app.progress.hub import StreamEvent
from bench.progress_loopback import PUBLISH_PATH

STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
    b"Connection: close\r\n\r\n"
)


def _chunk(frame: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(frame), frame)


def serve(bind: str) -> None:
    host, port = bind.rsplit(":", 1)
    listener = socket.create_server((host, int(port)), backlog=4096)
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    requests: dict[socket.socket, bytes] = {}
    streams: list[socket.socket] = []
    opening = _chunk(b"data: {}\n\n")
    while True:
        for key, _ in selector.select():
            if key.fileobj is listener:
                while True:
                    try:
                        client, _address = listener.accept()
                    except BlockingIOError:
                        break
                    selector.register(client, selectors.EVENT_READ)
                    requests[client] = b""
                continue
            client = key.fileobj  # type: ignore[assignment]
            received = requests[client] + client.recv(65536)
            head, separator, body = received.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line[15:])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            if not separator or len(body) < length:
                requests[client] = received
                continue
            selector.unregister(client)
            del requests[client]
            client.setblocking(True)
            if head.startswith(f"POST {PUBLISH_PATH} ".encode()):
                frame = _chunk(StreamEvent.from_progress(parse_progress(body.decode())).frame)
                for stream in list(streams):
                    try:
                        stream.sendall(frame)
                    except OSError:  # a client that left (the start-up probe does)
                        streams.remove(stream)
                        stream.close()
                client.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                client.close()
            else:
                client.sendall(STREAM_HEAD + opening)
                streams.append(client)


if __name__ == "__main__":
    serve(sys.argv[1])
