"""Issue 15, item 4 (signed webhooks per user) on the local platform: a user registers two
webhooks on receivers on 127.0.0.1 (the local platform allows http and loopback targets), deletes
a video, and both receivers get the signed ``video.deleted`` event; the one that answers 500 twice
gets it on the third attempt, with the same event id, and the owner reads both deliveries.

The receivers listen on this machine, which a deployed stack cannot reach: ``local_only``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from app.contracts.messages import VideoEventType, VideoEventV1
from app.contracts.webhook_signatures import EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, verify
from tests.e2e.client import create_video, new_address, signup_confirm_login
from tests.e2e.conftest import RunningPlatform

pytestmark = [pytest.mark.e2e, pytest.mark.local_only]
PASSWORD = "Corr3ct-Horse-Battery!"
TIMEOUT = 30
DELIVERY_SECONDS = 60


@dataclass
class Receiver:
    """An integrator's endpoint: answers each POST with the next of ``answers`` (then 204)."""

    answers: list[int] = field(default_factory=list)
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    port: int = 0


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    steady, flaky = Receiver(), Receiver(answers=[500, 500])
    servers = []
    for receiver in (steady, flaky):

        class Handler(BaseHTTPRequestHandler):
            target = receiver

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                self.target.got.append((dict(self.headers), body))
                self.send_response(self.target.answers.pop(0) if self.target.answers else 204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        receiver.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield steady, flaky
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_deleted_video_reaches_the_owners_webhooks_signed_and_a_failing_one_on_its_third_attempt(
    core_platform: RunningPlatform, receivers: tuple[Receiver, Receiver]
) -> None:
    steady, flaky = receivers
    base = core_platform.base_url
    owner = signup_confirm_login(core_platform, new_address(core_platform, "hooks"), PASSWORD)
    hooks: dict[str, dict[str, Any]] = {}
    for name, receiver, types in (("steady", steady, []), ("flaky", flaky, ["video.deleted"])):
        answer = owner.post(
            f"{base}/api/webhooks",
            json={"url": f"http://127.0.0.1:{receiver.port}/{name}", "event_types": types},
            timeout=TIMEOUT,
        )
        assert answer.status_code == 201, answer.text
        hooks[name] = answer.json()
    video = create_video(core_platform, owner)
    assert owner.delete(f"{base}/api/videos/{video['id']}", timeout=TIMEOUT).status_code == 204

    deadline = time.monotonic() + DELIVERY_SECONDS
    while (len(steady.got) < 1 or len(flaky.got) < 3) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (len(steady.got), len(flaky.got)) == (1, 3), core_platform.log()[-3000:]

    for name, receiver in (("steady", steady), ("flaky", flaky)):
        for headers, body in receiver.got:
            verify(hooks[name]["secret"], headers[SIGNATURE_HEADER], body)
            event = VideoEventV1.model_validate_json(body)
            assert (event.type, str(event.video_id)) == (VideoEventType.DELETED, video["id"])
            assert headers[EVENT_ID_HEADER] == str(event.event_id)
            assert headers[EVENT_TYPE_HEADER] == "video.deleted"
    assert len({headers[EVENT_ID_HEADER] for headers, _ in steady.got + flaky.got}) == 1
    # Another webhook's secret does not verify it.
    with pytest.raises(ValueError):
        verify(hooks["steady"]["secret"], flaky.got[0][0][SIGNATURE_HEADER], flaky.got[0][1])

    def delivery(name: str) -> dict[str, Any]:
        listed = owner.get(f"{base}/api/webhooks/{hooks[name]['id']}/deliveries", timeout=TIMEOUT).json()
        [only] = listed["items"]
        return dict(only)

    deadline = time.monotonic() + TIMEOUT
    while delivery("flaky")["status"] != "delivered" and time.monotonic() < deadline:
        time.sleep(0.2)
    flaky_delivery, steady_delivery = delivery("flaky"), delivery("steady")
    assert (flaky_delivery["status"], flaky_delivery["attempts"], flaky_delivery["last_status_code"]) == (
        "delivered",
        3,
        204,
    )
    assert (steady_delivery["status"], steady_delivery["attempts"]) == ("delivered", 1)
