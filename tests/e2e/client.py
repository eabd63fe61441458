"""What an HTTP client of the local platform does, for end-to-end tests: only through the gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

TIMEOUT = 30


class AuthedSession(requests.Session):
    """A session that sends `Authorization: Bearer <access token>`; keeps the tokens it was given."""

    def __init__(self, email: str, tokens: dict[str, Any]) -> None:
        super().__init__()
        self.email = email
        self.tokens = tokens
        self.headers["Authorization"] = f"Bearer {tokens['access_token']}"


def outbox_codes(base_url: str, email: str, purpose: str = "confirm") -> list[str]:
    """The codes mailed to ``email`` for ``purpose`` (confirm or reset), newest first."""
    response = requests.get(f"{base_url}/_local/outbox", params={"email": email}, timeout=TIMEOUT)
    response.raise_for_status()
    return [mail["code"] for mail in response.json() if mail["purpose"] == purpose]


def _expect(response: requests.Response, status: int) -> requests.Response:
    if response.status_code != status:
        raise AssertionError(
            f"{response.request.method} {response.url} answered {response.status_code}, "
            f"not {status}: {response.text[:500]}"
        )
    return response


def login(base_url: str, email: str, password: str) -> AuthedSession:
    response = requests.post(
        f"{base_url}/auth/login", json={"email": email, "password": password}, timeout=TIMEOUT
    )
    return AuthedSession(email, _expect(response, 200).json())


def signup_confirm_login(base_url: str, email: str, password: str) -> AuthedSession:
    """A new confirmed account (its code read from the outbox), logged in."""
    credentials = {"email": email, "password": password}
    _expect(requests.post(f"{base_url}/auth/signup", json=credentials, timeout=TIMEOUT), 201)
    code = outbox_codes(base_url, email)[0]
    confirm = requests.post(f"{base_url}/auth/confirm", json={"email": email, "code": code}, timeout=TIMEOUT)
    _expect(confirm, 200)
    return login(base_url, email, password)


def upload_via_presigned_post(upload: dict[str, Any], path: Path, content_type: str) -> requests.Response:
    """POST ``path`` to a presigned POST (``{url, fields}``) as a browser form would, file last.

    The policy asks for a ``Content-Type`` field starting with ``video/``; the form supplies it.
    """
    with path.open("rb") as file:
        response = requests.post(
            upload["url"],
            data={**upload["fields"], "Content-Type": content_type},
            files={"file": (path.name, file, content_type)},
            timeout=TIMEOUT,
        )
    if not response.ok:
        raise AssertionError(
            f"upload to {upload['url']} answered {response.status_code}: {response.text[:500]}"
        )
    return response
