"""The local platform's mail: the codes Cognito would have emailed, issued and checked locally.

moto accepts any confirmation or reset code (see LOCAL-AWS.md), so the local gateway issues
each code here, prints it, serves it at ``GET /_local/outbox``, and lets a confirm or reset
through only with the newest unexpired, unused code of its kind, as Cognito does on AWS.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Purpose(StrEnum):
    CONFIRM = "confirm"
    RESET = "reset"


# Cognito's lifetimes: confirmation codes 24 hours, password-reset codes 1 hour.
LIFETIME_SECONDS = {Purpose.CONFIRM: 24 * 3600, Purpose.RESET: 3600}
_SUBJECTS = {Purpose.CONFIRM: "Your verification code", Purpose.RESET: "Your password reset code"}


class CodeRejected(Exception):
    """The code is not the newest one issued for this address, or it has expired."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "mismatch")
        self.expired = expired


@dataclass
class Mail:
    email: str
    purpose: Purpose
    subject: str
    code: str
    sent_at: float
    expires_at: float
    used: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Outbox:
    """Thread-safe, in memory: it lives exactly as long as the local gateway process."""

    def __init__(self, clock: Any = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._mail: dict[str, list[Mail]] = {}

    @staticmethod
    def _key(email: str) -> str:
        return email.strip().lower()

    def issue(self, email: str, purpose: Purpose) -> Mail:
        now = self._clock()
        mail = Mail(
            email=email,
            purpose=purpose,
            subject=_SUBJECTS[purpose],
            code=f"{secrets.randbelow(10**6):06d}",
            sent_at=now,
            expires_at=now + LIFETIME_SECONDS[purpose],
        )
        with self._lock:
            self._mail.setdefault(self._key(email), []).insert(0, mail)
        print(f"[outbox] {mail.subject} for {email}: {mail.code}", flush=True)
        return mail

    def messages(self, email: str) -> list[Mail]:
        """Newest first."""
        with self._lock:
            return list(self._mail.get(self._key(email), []))

    def check(self, email: str, purpose: Purpose, code: str) -> Mail:
        """The newest mail of ``purpose`` if ``code`` is its code and still usable; else CodeRejected."""
        with self._lock:
            newest = next((m for m in self._mail.get(self._key(email), []) if m.purpose == purpose), None)
        if newest is None or newest.used or not secrets.compare_digest(newest.code, code):
            raise CodeRejected(expired=False)
        if self._clock() >= newest.expires_at:
            raise CodeRejected(expired=True)
        return newest

    def mark_used(self, mail: Mail) -> None:
        with self._lock:
            mail.used = True
