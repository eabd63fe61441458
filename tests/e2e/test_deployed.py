"""The end-to-end fixtures' target from settings (tests/e2e/deployed.py and the branch in conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest

from tests.e2e.conftest import _session_platform
from tests.e2e.deployed import DeployedPlatform, E2ESettings, deployed_platform
from tests.e2e.mail import SesS3Inbox
from tests.support.processes import descendants

ROOT = Path(__file__).resolve().parents[2]
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


def test_a_local_only_test_selected_against_a_deployed_stack_is_a_usage_error_not_a_skip() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELSTACK_E2E_")}
    argv = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    argv += ["tests/e2e/test_platform_core.py", "-m", "e2e"]

    deployed = subprocess.run(argv, cwd=ROOT, env={**env, **STACK_ENV}, capture_output=True, text=True)
    assert deployed.returncode == pytest.ExitCode.USAGE_ERROR, deployed.stdout + deployed.stderr
    assert "add -m 'not local_only'" in deployed.stdout + deployed.stderr

    selected = subprocess.run(
        [*argv[:-1], "e2e and not local_only"],
        cwd=ROOT,
        env={**env, **STACK_ENV},
        capture_output=True,
        text=True,
    )
    assert selected.returncode == pytest.ExitCode.OK, selected.stdout + selected.stderr
    marked = sum(
        line.strip() == "@pytest.mark.local_only"
        for line in (ROOT / "tests/e2e/test_platform_core.py").read_text().splitlines()
    )
    assert marked and f"{marked} deselected" in selected.stdout  # exactly the local_only tests
    local = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    assert local.returncode == pytest.ExitCode.OK, local.stdout + local.stderr
