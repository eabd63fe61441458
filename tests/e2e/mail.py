"""Where end-to-end tests read the codes Cognito mails: the local outbox, or an SES inbox in S3.

Locally the gateway keeps the mail it would have sent (``GET /_local/outbox``). A deployed stack
sends real mail, so a test signs up with an address of a domain whose mail SES receives, and a
receipt rule with the "Deliver to S3 bucket" action stores each message there as raw MIME
(https://docs.aws.amazon.com/ses/latest/dg/receiving-email-action-s3.html); the test reads the
code from that bucket. The end-to-end tests only ever confirm sign-ups, so every code mailed to
a fresh address is its confirmation code.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import requests

TIMEOUT = 30
# Cognito puts the code where the message template has {####}
# (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_VerificationMessageTemplateType.html);
# its codes are six digits.
_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")
# Mail stored before the session started is no test's; the margin covers clock skew.
_CLOCK_SKEW = timedelta(minutes=5)


class MailSource(Protocol):
    def confirmation_codes(self, email: str) -> list[str]:
        """The confirmation codes mailed to ``email`` so far, newest first."""
        ...


@dataclass(frozen=True)
class LocalOutbox:
    """The local platform's outbox, served by its gateway."""

    base_url: str

    def confirmation_codes(self, email: str) -> list[str]:
        response = requests.get(f"{self.base_url}/_local/outbox", params={"email": email}, timeout=TIMEOUT)
        response.raise_for_status()
        return [mail["code"] for mail in response.json() if mail["purpose"] == "confirm"]


@dataclass(frozen=True)
class SesS3Inbox:
    """Mail SES received and stored under ``prefix`` in ``bucket`` (one raw MIME object per message)."""

    s3: Any
    bucket: str
    prefix: str = ""
    since: datetime = field(default_factory=lambda: datetime.now(UTC) - _CLOCK_SKEW)

    def confirmation_codes(self, email: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        stored = [
            obj for page in pages for obj in page.get("Contents", []) if obj["LastModified"] >= self.since
        ]
        stored.sort(key=lambda obj: obj["LastModified"], reverse=True)
        codes: list[str] = []
        for obj in stored:
            raw = self.s3.get_object(Bucket=self.bucket, Key=obj["Key"])["Body"].read()
            code = code_mailed_to(raw, email)
            if code is not None:
                codes.append(code)
        return codes


def code_mailed_to(raw: bytes, address: str) -> str | None:
    """The code in the raw MIME message ``raw`` if it was addressed to ``address``, else None."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    recipients = {addr.lower() for _, addr in email.utils.getaddresses(message.get_all("To", []))}
    if address.lower() not in recipients:
        return None
    body = message.get_body(preferencelist=("plain", "html"))
    found = _CODE.search(body.get_content() if body is not None else "")
    return found.group() if found else None


def wait_for_confirmation_code(mail: MailSource, email: str, timeout_seconds: float) -> str:
    """The newest confirmation code mailed to ``email``, waiting for real mail to arrive."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        codes = mail.confirmation_codes(email)
        if codes:
            return codes[0]
        if time.monotonic() >= deadline:
            raise AssertionError(f"no confirmation code reached {email} within {timeout_seconds:.0f}s")
        time.sleep(2)
