"""The webhook signature a receiver checks: HMAC-SHA256 over ``"<t>.<body>"``, refused when
tampered with, signed with another secret, or outside the replay window."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from app.contracts.webhook_signatures import SignatureError, signature_header, verify

SECRET = "whsec_test-secret"
BODY = b'{"type":"video.ready","video_id":"8d6f..."}'
NOW = 1_800_000_000


def test_the_signature_is_the_hmac_sha256_of_the_timestamp_a_dot_and_the_body() -> None:
    header = signature_header([SECRET], NOW, BODY)
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={expected}"
    assert verify(SECRET, header, BODY, now=NOW) == NOW


def test_a_tampered_body_is_refused() -> None:
    header = signature_header([SECRET], NOW, BODY)
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(SECRET, header, BODY.replace(b"ready", b"faild"), now=NOW)


def test_another_secret_is_refused() -> None:
    header = signature_header(["whsec_someone-else"], NOW, BODY)
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(SECRET, header, BODY, now=NOW)


def test_a_moved_timestamp_is_refused_as_the_signature_covers_it() -> None:
    header = signature_header([SECRET], NOW, BODY).replace(f"t={NOW}", f"t={NOW + 1}")
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(SECRET, header, BODY, now=NOW)


@pytest.mark.parametrize("age", [301, -301, 86_400])
def test_a_stale_or_future_timestamp_is_refused_as_a_replay(age: int) -> None:
    header = signature_header([SECRET], NOW, BODY)
    with pytest.raises(SignatureError, match="replay"):
        verify(SECRET, header, BODY, now=NOW + age)


def test_within_the_tolerance_it_verifies_and_the_tolerance_can_be_set() -> None:
    header = signature_header([SECRET], NOW, BODY)
    assert verify(SECRET, header, BODY, now=NOW + 300) == NOW
    with pytest.raises(SignatureError, match="replay"):
        verify(SECRET, header, BODY, now=NOW + 31, tolerance_seconds=30)


def test_any_of_several_signatures_may_match() -> None:
    header = signature_header(["whsec_old", SECRET], NOW, BODY)
    assert verify(SECRET, header, BODY, now=NOW) == NOW


@pytest.mark.parametrize("header", ["", "v1=abc", f"t={NOW}", "t=soon,v1=abc", "garbage"])
def test_a_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(SignatureError):
        verify(SECRET, header, BODY, now=NOW)
