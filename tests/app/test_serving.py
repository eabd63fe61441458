"""gunicorn, as every HTTP service runs it (app/serving.py)."""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from app.local.moto_server import free_port, wait_for_http

SERVER = textwrap.dedent(
    """
    import sys
    from flask import Flask
    from app.serving import Server

    def load():
        app = Flask("probe")
        app.add_url_rule("/ok", "ok", lambda: "ok")
        return app

    Server(load, bind=sys.argv[1], workers=1).run()
    """
)


def _raw(port: int, request: bytes) -> tuple[str, dict[str, str], str]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.decode("latin-1").partition("\r\n\r\n")
    status, *fields = head.split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
    return status, headers, body


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, f"127.0.0.1:{port}"])
    try:
        wait_for_http(f"http://127.0.0.1:{port}/ok", timeout=60, process=process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 10_000 + b"\r\n\r\n", 431),
        (
            b"GET /ok HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % n for n in range(200)) + b"\r\n",
            431,
        ),
    ],
    ids=["long-request-line", "long-header", "too-many-headers"],
)
def test_requests_gunicorn_refuses_are_answered_in_the_error_shape(
    port: int, request_bytes: bytes, status: int
) -> None:
    """gunicorn wrote these refusals as HTML pages, outside the API's error contract."""
    status_line, headers, body = _raw(port, request_bytes)
    assert status_line.split(" ")[1] == str(status)
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] and error["message"]


def _ensure_under(soft: int, hard: int, needed: int) -> subprocess.CompletedProcess[str]:
    """``ensure_file_descriptors(needed)`` in a process started with the given open-file limits."""
    probe = (
        "import resource; from app.serving import ensure_file_descriptors as ensure; "
        f"ensure({needed}); print(*resource.getrlimit(resource.RLIMIT_NOFILE))"
    )
    return subprocess.run(
        [sys.executable, "-c", probe],
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_server_raises_its_soft_open_file_limit_to_what_its_connections_need() -> None:
    """As systemd starts a service without LimitNOFILE: soft 1,024, hard higher
    (http://0pointer.net/blog/file-descriptor-limits.html); here lower, to need less."""
    done = _ensure_under(soft=256, hard=2048, needed=1200)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1200", "2048"]


def test_a_server_whose_hard_open_file_limit_is_too_low_says_to_raise_limitnofile() -> None:
    done = _ensure_under(soft=512, hard=512, needed=1200)
    assert done.returncode != 0
    assert "needs 1200 open files but the process may open 512; raise LimitNOFILE" in done.stderr
