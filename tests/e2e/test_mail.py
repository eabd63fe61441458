"""Reading Cognito's codes from the mail an SES receipt rule stored in S3 (tests/e2e/mail.py), over moto."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from app.local.provision import client
from tests.e2e.mail import SesS3Inbox, code_mailed_to, wait_for_confirmation_code

ADDRESS = "user-1a2b3c@e2e.example.org"


def cognito_mail(to: str, code: str) -> bytes:
    """A message shaped like Cognito's default verification mail, as SES stores it: raw MIME.

    Cognito puts the code where its template has {####}
    (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_VerificationMessageTemplateType.html);
    the S3 action stores "the raw, unmodified email"
    (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-action-s3.html).
    """
    message = EmailMessage()
    message["From"] = "no-reply@verificationemail.com"
    message["To"] = to
    message["Subject"] = "Your verification code"
    message["Message-ID"] = f"<{uuid.uuid4()}@email.amazonses.com>"
    message.set_content(f"Your verification code is {code}. ")
    message.add_alternative(
        f"<html><body><p>Your verification code is <b>{code}</b>.</p></body></html>", subtype="html"
    )
    return message.as_bytes()


def test_the_code_is_read_from_a_message_to_that_address_only() -> None:
    raw = cognito_mail(ADDRESS, "042917")
    assert code_mailed_to(raw, ADDRESS) == "042917"
    assert code_mailed_to(raw, ADDRESS.upper()) == "042917"  # addresses are case-insensitive
    assert code_mailed_to(raw, "someone-else@e2e.example.org") is None


@pytest.mark.parametrize("body", ["Welcome!", "Your code is 12345.", "Your code is 1234567."])
def test_a_message_without_a_six_digit_code_gives_none(body: str) -> None:
    message = EmailMessage()
    message["To"] = ADDRESS
    message.set_content(body)
    assert code_mailed_to(message.as_bytes(), ADDRESS) is None


def test_the_inbox_lists_the_codes_mailed_to_an_address_newest_first(moto_endpoint: str) -> None:
    s3 = client("s3", moto_endpoint)
    bucket = f"mail-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="inbound/stale", Body=cognito_mail(ADDRESS, "999999"))
    time.sleep(1.1)  # S3 times objects to the second
    inbox = SesS3Inbox(s3, bucket, "inbound/", since=datetime.now(UTC).replace(microsecond=0))
    s3.put_object(Bucket=bucket, Key="inbound/a", Body=cognito_mail(ADDRESS, "111111"))
    s3.put_object(Bucket=bucket, Key="inbound/b", Body=cognito_mail("other@e2e.example.org", "333333"))
    s3.put_object(Bucket=bucket, Key="elsewhere/c", Body=cognito_mail(ADDRESS, "444444"))
    time.sleep(1.1)
    s3.put_object(Bucket=bucket, Key="inbound/0-newest", Body=cognito_mail(ADDRESS, "222222"))

    assert inbox.confirmation_codes(ADDRESS) == ["222222", "111111"]
    assert wait_for_confirmation_code(inbox, ADDRESS, timeout_seconds=0) == "222222"
    with pytest.raises(AssertionError, match=r"no confirmation code reached nobody@e2e\.example\.org"):
        wait_for_confirmation_code(inbox, "nobody@e2e.example.org", timeout_seconds=0)
