"""Where a webhook may point (SSRF): every blocked range, at registration and at delivery, and
the delivery connects to the address it checked."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from app.backend.webhook_targets import (
    RESPONSE_CAP_BYTES,
    TargetRefused,
    Unresolvable,
    check,
    post,
    refusal,
)

BLOCKED = {
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "::1": "loopback",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "172.31.255.254": "private",
    "192.168.1.1": "private",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "169.254.169.254": "link-local",  # the instance metadata service
    "169.254.0.1": "link-local",
    "fe80::1": "link-local",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "ff02::1": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "100.64.0.1": "not globally reachable",  # carrier-grade NAT
    "192.0.2.10": "private",  # documentation
    "2001:db8::1": "private",  # documentation
    "::ffff:127.0.0.1": "loopback",  # IPv4-mapped IPv6
    "::ffff:169.254.169.254": "link-local",
    "::ffff:10.0.0.1": "private",
}


@pytest.mark.parametrize(("address", "kind"), BLOCKED.items())
def test_each_blocked_range_is_refused(address: str, kind: str) -> None:
    reason = refusal(ipaddress.ip_address(address))
    assert reason is not None and kind in reason
    with pytest.raises(TargetRefused, match=kind):
        check(f"https://[{address}]/hook" if ":" in address else f"https://{address}/hook")


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_a_name_resolving_to_loopback_is_refused_unless_loopback_is_allowed() -> None:
    def to_loopback(_host: str, _port: int) -> list[str]:
        return ["127.0.0.1"]

    with pytest.raises(TargetRefused, match="loopback"):
        check("https://hooks.example.com/x", resolver=to_loopback)
    target = check("http://hooks.example.com:8080/x?y=1", allow_insecure=True, resolver=to_loopback)
    assert (target.host, target.port, target.path, target.address) == (
        "hooks.example.com",
        8080,
        "/x?y=1",
        "127.0.0.1",
    )


def test_one_private_answer_among_public_ones_refuses_the_name() -> None:
    with pytest.raises(TargetRefused, match="private"):
        check("https://hooks.example.com/", resolver=lambda _h, _p: ["93.184.216.34", "10.0.0.5"])


def test_allowing_insecure_targets_allows_loopback_and_http_only() -> None:
    assert check("http://127.0.0.1:9/", allow_insecure=True).address == "127.0.0.1"
    for address in ("10.0.0.1", "169.254.169.254", "192.168.0.1"):
        with pytest.raises(TargetRefused):
            check(f"http://{address}/", allow_insecure=True)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://93.184.216.34/hook", "scheme must be https"),
        ("ftp://93.184.216.34/hook", "scheme must be https"),
        ("https:///hook", "no host"),
        ("https://user:pw@93.184.216.34/hook", "credentials"),
        ("https://93.184.216.34/hook#frag", "fragment"),
        ("https://93.184.216.34:99999/", "malformed"),
        ("https://93.184.216.34/" + "a" * 2048, "longer than"),
    ],
)
def test_malformed_or_insecure_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(TargetRefused, match=why):
        check(url)


def test_a_name_that_does_not_resolve_is_unresolvable() -> None:
    def nowhere(_host: str, _port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(Unresolvable):
        check("https://nowhere.invalid/", resolver=nowhere)


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.path, self.headers["Host"], body))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"x" * (RESPONSE_CAP_BYTES * 4))

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[int]:
    _Recorder.seen = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_post_goes_to_the_checked_address_under_the_urls_host_name(receiver: int) -> None:
    """DNS rebinding: the name now resolves elsewhere (here: nowhere), the post still goes to the
    address checked, with the URL's host in ``Host``; a long answer is read up to the cap."""
    target = check(
        f"http://rebinding.example:{receiver}/hook",
        allow_insecure=True,
        resolver=lambda _h, _p: ["127.0.0.1"],
    )
    answer = post(target, b'{"a":1}', {"Content-Type": "application/json"})
    assert answer.status == 200
    assert len(answer.excerpt) == RESPONSE_CAP_BYTES
    assert _Recorder.seen == [("/hook", f"rebinding.example:{receiver}", b'{"a":1}')]


def test_a_redirect_is_an_answer_and_is_not_followed(receiver: int) -> None:
    target = check(f"http://127.0.0.1:{receiver}/redirect", allow_insecure=True)
    assert post(target, b"{}", {}).status == 302
    assert [path for path, _, _ in _Recorder.seen] == ["/redirect"]
