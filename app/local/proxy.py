"""A streaming reverse proxy for the local gateway: bodies flow through in chunks both ways."""

from __future__ import annotations

import json
from collections.abc import Iterator

import urllib3
from flask import Request, Response

from app.contracts.errors import error_body

# RFC 9110 section 7.6.1; a proxy never forwards these. Host and Content-Length are set anew.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
CHUNK_BYTES = 64 * 1024


class Upstream:
    """One connection pool for every upstream of the gateway."""

    def __init__(self, read_timeout: float | None = 300.0) -> None:
        self._pool = urllib3.PoolManager(maxsize=32, block=False, retries=False)
        self._read_timeout = read_timeout

    def forward(
        self, request: Request, base_url: str, path: str, *, stream_timeout: bool = False
    ) -> Response:
        """Send ``request`` to ``base_url + path`` (query kept) and stream the answer back."""
        headers = {
            key: value
            for key, value in request.headers.items()
            if key.lower() not in HOP_BY_HOP and key.lower() not in {"host", "content-length"}
        }
        headers["X-Forwarded-For"] = request.remote_addr or "127.0.0.1"
        headers["X-Forwarded-Host"] = request.host
        headers["X-Forwarded-Proto"] = request.scheme
        length = request.content_length
        chunked = length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        body: Iterator[bytes] | None = None
        if length is not None:
            headers["Content-Length"] = str(length)
            body = body_chunks(request)
        elif chunked:
            body = body_chunks(request)
        url = base_url.rstrip("/") + path
        if request.query_string:
            url += "?" + request.query_string.decode("latin-1")
        return self.send(request.method, url, headers, body, chunked=chunked, stream_timeout=stream_timeout)

    def send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Iterator[bytes] | None,
        *,
        chunked: bool = False,
        stream_timeout: bool = False,
    ) -> Response:
        """Send one request upstream as given and stream the answer back."""
        timeout = urllib3.Timeout(connect=5.0, read=None if stream_timeout else self._read_timeout)
        try:
            upstream = self._pool.urlopen(
                method,
                url,
                body=body,
                headers=headers,
                redirect=False,
                chunked=chunked,
                preload_content=False,
                decode_content=False,
                timeout=timeout,
            )
        except urllib3.exceptions.HTTPError as exc:
            origin = "/".join(url.split("/", 3)[:3])
            return Response(
                json.dumps(error_body("upstream_unavailable", f"{origin} did not answer: {exc}")),
                status=502,
                content_type="application/json",
            )
        response_headers = [
            (key, value) for key, value in upstream.headers.items() if key.lower() not in HOP_BY_HOP
        ]
        return Response(
            _relay(upstream), status=upstream.status, headers=response_headers, direct_passthrough=True
        )


def body_chunks(request: Request) -> Iterator[bytes]:
    stream = request.stream
    while chunk := stream.read(CHUNK_BYTES):
        yield chunk


def _relay(upstream: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    """Each chunk as the upstream sends it (SSE events pass at once).

    A client that leaves early (a closed SSE stream) closes the upstream connection too:
    pooled with unread bytes it would be reused mid-response, and the upstream would keep
    serving a stream nobody reads.
    """
    finished = False
    try:
        # read1 returns whatever has arrived, never waiting to fill a buffer.
        while chunk := upstream.read1(CHUNK_BYTES, decode_content=False):
            yield chunk
        finished = True
    finally:
        if not finished:
            upstream.close()
        upstream.release_conn()
