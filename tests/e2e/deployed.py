"""Which platform the end-to-end tests talk to: the local one they start, or a deployed stack.

Unset ``REELSTACK_E2E_BASE_URL`` (the default) and the fixtures start `reelstack up` as always.
Set it to a stack's ``web_url`` (``make cloud-test`` does) and the same tests run against that
stack, start nothing, and read the codes Cognito mails from an SES inbox in S3 (``mail.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import boto3
from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tests.e2e.mail import MailSource, SesS3Inbox

ENV_PREFIX = "REELSTACK_E2E_"
# The local platform mails nobody; any domain does.
LOCAL_MAIL_DOMAIN = "example.com"


class E2ESettings(BaseSettings):
    """The end-to-end tests' target, from ``REELSTACK_E2E_*`` variables."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    base_url: str = ""
    """A deployed stack's ``web_url``; empty: the tests start the local platform."""
    mail_domain: str = ""
    """Domain of the addresses tests sign up with; SES must receive its mail (its MX record)."""
    mail_bucket: str = ""
    """Bucket where an SES receipt rule for ``mail_domain`` stores received mail."""
    mail_prefix: str = ""
    """That rule's object key prefix."""
    mail_timeout_seconds: float = 120.0
    """How long a test waits for a mailed code."""

    @model_validator(mode="after")
    def _a_deployed_stack_needs_a_mailbox(self) -> E2ESettings:
        if self.base_url:
            missing = [
                f"{ENV_PREFIX}{name.upper()}"
                for name in ("mail_domain", "mail_bucket")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(
                    f"{', '.join(missing)} not set: against a deployed stack the tests sign up with "
                    "addresses of a domain SES receives mail for, and read the codes from the bucket "
                    "its receipt rule stores them in (docs/platform-teams.md, 'Test a real stack')"
                )
        return self


@dataclass(frozen=True)
class DeployedPlatform:
    """A stack running elsewhere: tests reach it over HTTPS; nothing is started or stopped."""

    base_url: str
    mail: MailSource
    mail_domain: str
    mail_timeout_seconds: float


def deployed_platform(settings: E2ESettings | None = None) -> DeployedPlatform | None:
    """The deployed stack the settings name, or None to start the local platform."""
    settings = settings or E2ESettings()
    if not settings.base_url:
        return None
    inbox = SesS3Inbox(boto3.client("s3"), settings.mail_bucket, settings.mail_prefix)
    return DeployedPlatform(
        settings.base_url.rstrip("/"), inbox, settings.mail_domain, settings.mail_timeout_seconds
    )
