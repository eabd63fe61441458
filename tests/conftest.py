"""Session-wide fixtures: the local AWS emulation, its provisioned resources, a PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.contracts.names import ResourceNames
from app.local import moto_server
from app.local.provision import LocalResources, provision
from tests.support.postgres import running_postgres

pytest_plugins = ("pytester",)  # tests/pulumi_offline runs the test kit's plugin in throwaway projects


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto in server mode on 127.0.0.1, with boto3 pointed at it for the whole session."""
    process, endpoint = moto_server.start_moto(moto_server.free_port())
    saved = {
        k: os.environ.get(k)
        for k in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )
    try:
        yield endpoint
    finally:
        moto_server.stop(process)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def local_resources(moto_endpoint: str) -> LocalResources:
    """A fresh set of the platform's resources under a unique prefix (tests do not share queues)."""
    return provision(ResourceNames(f"t{uuid.uuid4().hex[:12]}"), moto_endpoint)


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL server on 127.0.0.1 (installed by `make test`); fails, never skips, without it."""
    base: Path = tmp_path_factory.mktemp("postgres")
    with running_postgres(base) as url:
        yield url
