"""``reelstack retranscode``: what it refuses before touching anything (the queueing itself is
tests/app/backend/test_retranscode.py's, the whole run tests/e2e/test_retranscode.py's)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import retranscode
from app.local.provision import LocalResources
from infra._common import env_file


@pytest.fixture
def environment() -> Iterator[None]:
    """The command loads its settings file into the environment: give the test's back."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_without_the_backends_settings_file_it_says_where_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], environment: None
) -> None:
    assert retranscode.main(["--stack", "prod", "--all", "--env-file", str(tmp_path / "backend.env")]) == 2
    assert "run this on a backend instance, or give --state-dir" in capsys.readouterr().err


def test_the_settings_of_another_stack_are_refused(
    tmp_path: Path, local_resources: LocalResources, capsys: pytest.CaptureFixture[str], environment: None
) -> None:
    """The local resources are named for their own prefix, not prod's: nothing is queued on them."""
    env = local_resources.env_for(
        "backend", database_url=f"sqlite:///{tmp_path / 'db'}", media_base_url="http://x/media",
        media_revocation_store="http://x/r",
    )  # fmt: skip
    (tmp_path / retranscode.LOCAL_BACKEND_ENV_FILE).write_text(env_file(env))
    assert retranscode.main(["--stack", "prod", "--all", "--state-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is not stack 'prod'" in err and "reelstack-prod-tasks" in err
