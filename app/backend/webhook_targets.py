"""Where a webhook may point, and the one way the backend posts to it (no SSRF).

A webhook URL is the user's, and the backend runs inside the VPC: a URL naming the instance
metadata service (169.254.169.254), the database or any other private address would make the
backend a proxy into the stack. So a target must be ``https`` and every address its host
resolves to must be public (``ipaddress``'s ``is_global``, and not multicast); IPv4-mapped IPv6
addresses are judged as the IPv4 address they carry. The check runs when a webhook is registered
and again at every delivery, and the delivery connects to an address it checked, never to a name
resolved again (DNS rebinding: a name that answered a public address at the check could answer
127.0.0.1 a moment later). The TLS handshake still names the host (SNI) and checks its
certificate, and the ``Host`` header is the URL's.

``allow_insecure``: the local platform's receivers listen on http://127.0.0.1; it allows http
and loopback addresses (only those: private, link-local and the rest stay refused).

The post follows no redirect (a 3xx is an answer, as any other), has short connect and read
timeouts, and reads at most ``RESPONSE_CAP_BYTES`` of the answer.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

URL_MAX = 2048
CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 5.0
RESPONSE_CAP_BYTES = 1024

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class TargetRefused(ValueError):
    """The URL is malformed, not https, or its host is (or resolves to) a refused address."""


class Unresolvable(TargetRefused):
    """The host does not resolve now: refused at registration, tried again at delivery."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``address``, one its host resolved to) and what to ask."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def refusal(address: IpAddress, *, allow_loopback: bool = False) -> str | None:
    """Why a delivery may not go to ``address``, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return refusal(address.ipv4_mapped, allow_loopback=allow_loopback)
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    for reason, matches in (
        ("an unspecified address", address.is_unspecified),
        ("a link-local address (this includes the instance metadata service)", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("a reserved address", address.is_reserved),
        ("a private address", address.is_private),
        ("an address that is not globally reachable", not address.is_global),
    ):
        if matches:
            return reason
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA)."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def check(url: str, *, allow_insecure: bool = False, resolver: Resolver = resolve) -> Target:
    """The target of ``url``, when it may receive deliveries; raises ``TargetRefused`` saying why not.

    Every address the host resolves to must pass (``refusal``): one public answer among private
    ones would otherwise let a rebinding name choose the private one later.
    """
    if len(url) > URL_MAX:
        raise TargetRefused(f"the URL is longer than {URL_MAX} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"the URL is malformed: {exc}") from None
    schemes = ("https", "http") if allow_insecure else ("https",)
    if parts.scheme not in schemes:
        raise TargetRefused(f"the URL's scheme must be {' or '.join(schemes)}")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("the URL may not carry credentials; verify deliveries by their signature")
    if parts.fragment:
        raise TargetRefused("the URL may not have a fragment")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        literal: IpAddress | None = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolver(parts.hostname, port)
        except (OSError, UnicodeError) as exc:
            raise Unresolvable(f"the host {parts.hostname} does not resolve: {exc}") from None
        if not addresses:
            raise Unresolvable(f"the host {parts.hostname} does not resolve")
    for address in addresses:
        reason = refusal(ipaddress.ip_address(address), allow_loopback=allow_insecure)
        if reason is not None:
            raise TargetRefused(
                f"the host {parts.hostname} is {reason} ({address}); webhooks go to public hosts"
            )
    path = parts.path or "/"
    return Target(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        path=f"{path}?{parts.query}" if parts.query else path,
        address=addresses[0],
    )


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever the host name resolves to now."""

    def __init__(self, target: Target) -> None:
        super().__init__(target.host, target.port, timeout=CONNECT_TIMEOUT_SECONDS)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), CONNECT_TIMEOUT_SECONDS)
        self.sock.settimeout(READ_TIMEOUT_SECONDS)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: the handshake names the host and checks its certificate."""

    def __init__(self, target: Target, context: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout=CONNECT_TIMEOUT_SECONDS, context=context)
        self._address = target.address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), CONNECT_TIMEOUT_SECONDS)
        sock.settimeout(READ_TIMEOUT_SECONDS)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str
    """The start of the body (at most ``RESPONSE_CAP_BYTES``), for the delivery's record."""


def post(
    target: Target, body: bytes, headers: Mapping[str, str], *, tls: ssl.SSLContext | None = None
) -> Answer:
    """POST ``body`` to the checked ``target``; raises ``OSError`` (timeouts included) and
    ``http.client.HTTPException`` when no answer came."""
    connection: Any = (
        _PinnedHTTPSConnection(target, tls or ssl.create_default_context())
        if target.scheme == "https"
        else _PinnedHTTPConnection(target)
    )
    try:
        connection.request("POST", target.path, body=body, headers=dict(headers))
        response = connection.getresponse()
        excerpt = response.read(RESPONSE_CAP_BYTES)
        return Answer(response.status, excerpt.decode("utf-8", "replace"))
    finally:
        connection.close()
