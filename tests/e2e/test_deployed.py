"""The end-to-end fixtures' target from settings (tests/e2e/deployed.py and the branch in conftest.py)."""

from __future__ import annotations

import os

import pydantic
import pytest

from tests.e2e.conftest import _session_platform
from tests.e2e.deployed import DeployedPlatform, E2ESettings, deployed_platform
from tests.e2e.mail import SesS3Inbox
from tests.support.processes import descendants

STACK_ENV = {
    "REELSTACK_E2E_BASE_URL": "https://d1234abcd.cloudfront.net/",
    "REELSTACK_E2E_MAIL_DOMAIN": "e2e.example.org",
    "REELSTACK_E2E_MAIL_BUCKET": "reelstack-e2e-mail",
    "REELSTACK_E2E_MAIL_PREFIX": "inbound/",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in os.environ:
        if key.startswith("REELSTACK_E2E_"):
            monkeypatch.delenv(key)
    return monkeypatch


def test_without_a_base_url_the_tests_start_the_local_platform(clean_env: pytest.MonkeyPatch) -> None:
    assert deployed_platform() is None


def test_with_a_base_url_the_session_fixtures_hand_over_that_stack_and_start_nothing(
    clean_env: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    for key, value in STACK_ENV.items():
        clean_env.setenv(key, value)
    before = descendants(os.getpid())
    session = _session_platform(tmp_path_factory, "deployed", transcoders=2)

    platform = next(session)

    assert isinstance(platform, DeployedPlatform)
    assert platform.base_url == "https://d1234abcd.cloudfront.net"
    assert platform.mail_domain == "e2e.example.org"
    assert isinstance(platform.mail, SesS3Inbox)
    assert (platform.mail.bucket, platform.mail.prefix) == ("reelstack-e2e-mail", "inbound/")
    assert descendants(os.getpid()) == before  # no `reelstack up`
    with pytest.raises(StopIteration):
        next(session)


def test_a_deployed_stack_without_a_mailbox_is_refused_naming_the_variables(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("REELSTACK_E2E_BASE_URL", "https://d1234abcd.cloudfront.net")
    with pytest.raises(
        pydantic.ValidationError, match="REELSTACK_E2E_MAIL_DOMAIN, REELSTACK_E2E_MAIL_BUCKET"
    ):
        E2ESettings()
