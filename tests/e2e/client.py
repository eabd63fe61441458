"""What an HTTP client of the platform does, for end-to-end tests: only through its one origin."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Protocol

import requests

from tests.e2e.mail import MailSource, wait_for_confirmation_code

TIMEOUT = 30


class AuthedSession(requests.Session):
    """A session that sends `Authorization: Bearer <access token>`; keeps the tokens it was given."""

    def __init__(self, email: str, tokens: dict[str, Any]) -> None:
        super().__init__()
        self.email = email
        self.tokens = tokens
        self.headers["Authorization"] = f"Bearer {tokens['access_token']}"


class Platform(Protocol):
    """The local platform or a deployed stack, as the tests see either."""

    base_url: str
    mail_domain: str
    mail_timeout_seconds: float

    @property
    def mail(self) -> MailSource: ...


def new_address(platform: Platform, label: str) -> str:
    """A fresh address whose mail the tests can read."""
    return f"{label}-{uuid.uuid4().hex[:10]}@{platform.mail_domain}"


def confirmation_code(platform: Platform, email: str) -> str:
    """The newest confirmation code mailed to ``email``."""
    return wait_for_confirmation_code(platform.mail, email, platform.mail_timeout_seconds)


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


def signup_confirm_login(platform: Platform, email: str, password: str) -> AuthedSession:
    """A new confirmed account (its code read from the mail), logged in."""
    base_url = platform.base_url
    credentials = {"email": email, "password": password}
    _expect(requests.post(f"{base_url}/auth/signup", json=credentials, timeout=TIMEOUT), 201)
    code = confirmation_code(platform, email)
    confirm = requests.post(f"{base_url}/auth/confirm", json={"email": email, "code": code}, timeout=TIMEOUT)
    _expect(confirm, 200)
    return login(base_url, email, password)


def create_video(platform: Platform, session: requests.Session, **fields: Any) -> dict[str, Any]:
    """POST /api/videos (title "a clip" unless given): the 201 body, with its presigned upload."""
    response = session.post(
        f"{platform.base_url}/api/videos", json={"title": "a clip", **fields}, timeout=TIMEOUT
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


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
