"""A gateway over moto with real HTTP upstreams standing in for the backend and progress services."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import Credentials
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from app.contracts.settings import UserServiceSettings
from app.contracts.tickets import load_key
from app.local.gateway import Gateway, create_app
from app.local.moto_server import free_port
from app.local.provision import LOCAL_CREDENTIALS, LocalResources, client
from app.local.s3_gate import S3Gate
from app.users.handler import create_resolver

# Whose presigned uploads the gateway's /_s3 honours in these tests (the backend's, on the platform).
BACKEND_CREDENTIALS = Credentials("AKIABACKENDSIGNER000", "backend-signer-secret")


class _Http11(WSGIRequestHandler):
    # HTTP/1.1 so that bodies of unknown length are chunked, as gunicorn sends them.
    protocol_version = "HTTP/1.1"


@dataclass
class EchoServer:
    """Answers every request with what it received; ``/events/stream`` sends two events, gated."""

    name: str
    url: str = ""
    release_second_event: threading.Event = field(default_factory=threading.Event)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/events/stream":
            return Response(self._stream(), content_type="text/event-stream")(environ, start_response)
        seen = {
            "server": self.name,
            "method": request.method,
            "path": request.path,
            "query": request.query_string.decode(),
            "headers": dict(request.headers.items()),
            "body": request.get_data().decode(),
        }
        return Response(json.dumps(seen), content_type="application/json")(environ, start_response)

    def _stream(self) -> Iterator[bytes]:
        yield b"data: first\n\n"
        self.release_second_event.wait(30)
        yield b"data: second\n\n"


@pytest.fixture
def echo_servers() -> Iterator[list[EchoServer]]:
    servers: list[tuple[BaseWSGIServer, threading.Thread]] = []
    echoes = [EchoServer("one"), EchoServer("two")]
    for echo in echoes:
        server = make_server("127.0.0.1", free_port(), echo, threaded=True, request_handler=_Http11)
        echo.url = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append((server, thread))
    yield echoes
    for echo in echoes:
        echo.release_second_event.set()
    for server, thread in servers:
        server.shutdown()
        thread.join(10)


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    path = tmp_path / "web"
    path.mkdir()
    (path / "index.html").write_text("<!doctype html><title>reelstack</title>")
    return path


@pytest.fixture
def gateway(local_resources: LocalResources, echo_servers: list[EchoServer], web_dir: Path) -> Gateway:
    cognito = client("cognito-idp", local_resources.endpoint_url)
    users = UserServiceSettings(
        user_pool_id=local_resources.user_pool_id,
        user_pool_client_id=local_resources.user_pool_client_id,
        signout_table=local_resources.names.signout_table,
    )
    return Gateway(
        users=users,
        lambda_handler=create_resolver(
            users, cognito, client("dynamodb", local_resources.endpoint_url)
        ).resolve,
        cognito=cognito,
        s3=client("s3", local_resources.endpoint_url),
        ticket_key=load_key(
            client("secretsmanager", local_resources.endpoint_url), local_resources.ticket_secret_arn
        ),
        backend_url=echo_servers[0].url,
        progress_urls=[echo_servers[0].url, echo_servers[1].url],
        s3_gate=S3Gate(
            endpoint_url=local_resources.endpoint_url,
            signers=[BACKEND_CREDENTIALS],
            credentials=Credentials(
                LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"], LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
            ),
        ),
        media_bucket=local_resources.media_bucket,
        web_dir=web_dir,
    )


@pytest.fixture
def app(gateway: Gateway) -> Flask:
    return create_app(gateway)


@pytest.fixture
def http(app: Flask) -> FlaskClient:
    return app.test_client()
