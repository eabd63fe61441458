"""The instance's own id from IMDSv2, against a local stand-in that, like EC2's with
``http_tokens = required`` (infra/_fleet.py), answers nothing without a session token."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.instance_metadata import ec2_instance_id, ec2_instance_type, ec2_purchase_option

TOKEN = "session-token"
INSTANCE_ID = "i-0123456789abcdef0"
METADATA = {
    "/latest/meta-data/instance-id": INSTANCE_ID,
    "/latest/meta-data/instance-type": "c7g.large",
    "/latest/meta-data/instance-life-cycle": "spot",
}


class _Imds(BaseHTTPRequestHandler):
    """IMDSv2: PUT /latest/api/token with a TTL header gives a token; GETs need it (401 otherwise)."""

    def do_PUT(self) -> None:
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self._answer(200, TOKEN)
        else:
            self._answer(400, "")

    def do_GET(self) -> None:
        if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            self._answer(401, "")
        elif self.path in METADATA:
            self._answer(200, METADATA[self.path])
        else:
            self._answer(404, "")

    def _answer(self, status: int, body: str) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def imds() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Imds)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/latest"
    finally:
        server.shutdown()
        server.server_close()


def test_the_instance_id_is_read_with_a_session_token(imds: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    assert ec2_instance_id(imds) == INSTANCE_ID


def test_no_metadata_service_means_no_instance_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    assert ec2_instance_id("http://127.0.0.1:9/latest", timeout_seconds=0.5) is None


def test_disabled_metadata_is_not_asked(imds: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert ec2_instance_id(imds) is None


def test_the_instance_type_and_purchase_option_are_read_for_the_cost_of_a_transcode(
    imds: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``instance-type`` and ``instance-life-cycle`` categories ("The purchasing option of
    this instance": on-demand, spot, scheduled or capacity-block), as AWS lists them in
    https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-categories.html"""
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    assert (ec2_instance_type(imds), ec2_purchase_option(imds)) == ("c7g.large", "spot")
    monkeypatch.setitem(METADATA, "/latest/meta-data/instance-life-cycle", "on-demand")
    assert ec2_purchase_option(imds) == "on-demand"
    monkeypatch.setitem(METADATA, "/latest/meta-data/instance-life-cycle", "scheduled")
    assert ec2_purchase_option(imds) is None  # priced otherwise: not guessed
    assert ec2_purchase_option("http://127.0.0.1:9/latest", timeout_seconds=0.5) is None
