"""Acceptance 3: the environment each component emits is exactly what its service's settings read.

Both sides are read, never listed by hand: the emitted keys come from the synthesized
graph (Lambda environment, the env file inside EC2 user data), the declared ones from
``SERVICE_SETTINGS[service].env_names()``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.contracts.settings import SERVICE_SETTINGS
from infra._common import env_from_user_data, units_from_user_data
from pulumi_offline.graph import Graph

# Set by the runtime rather than the settings module; allowed beside the REELSTACK_* keys.
AWS_KEYS = {"AWS_DEFAULT_REGION"}
EC2_SERVICES = {"backend": "backend-lt", "transcoder": "transcoder-lt", "progress": "progress-lt"}


def emitted_environment(graph: Graph, service: str) -> dict[str, str]:
    if service == "users":
        function = graph.one("aws:lambda/function:Function", "users-fn")
        variables: dict[str, str] = function.inputs["environment"]["variables"]
        return variables
    template = graph.one("aws:ec2/launchTemplate:LaunchTemplate", EC2_SERVICES[service])
    return env_from_user_data(template.inputs["userData"], service)


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("service", sorted(SERVICE_SETTINGS))
def test_component_sets_every_required_variable_and_only_declared_ones(
    service: str, stack: str, request: pytest.FixtureRequest
) -> None:
    graph: Graph = request.getfixturevalue(stack)
    emitted = set(emitted_environment(graph, service))
    declared = SERVICE_SETTINGS[service].env_names()
    required = {name for name, is_required in declared.items() if is_required}
    assert required <= emitted, f"{service}: missing {sorted(required - emitted)}"
    assert emitted - AWS_KEYS <= set(declared), (
        f"{service}: undeclared {sorted(emitted - AWS_KEYS - set(declared))}"
    )


@pytest.mark.parametrize("service", sorted(EC2_SERVICES))
def test_boto3_finds_the_region_in_each_ec2_services_environment(
    service: str, prod: Graph, tmp_path: Path
) -> None:
    """EC2 has no region in its environment and boto3 does not ask the instance metadata for one."""
    aws_only = {k: v for k, v in emitted_environment(prod, service).items() if k in AWS_KEYS}
    found = subprocess.run(
        [sys.executable, "-c", "import boto3; print(boto3.Session().region_name)"],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **aws_only},
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == "us-east-1"


@pytest.mark.parametrize("service", sorted(SERVICE_SETTINGS))
def test_emitted_environment_validates_with_the_services_own_settings_class(
    service: str, prod: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(SERVICE_SETTINGS[service].env_names()):
        monkeypatch.delenv(key, raising=False)
    for key, value in emitted_environment(prod, service).items():
        monkeypatch.setenv(key, value)
    settings = SERVICE_SETTINGS[service]()
    assert settings.log_level == "INFO"


def test_backend_image_starts_the_api_and_the_status_consumer_from_one_env_file(prod: Graph) -> None:
    user_data = prod.one("aws:ec2/launchTemplate:LaunchTemplate", "backend-lt").inputs["userData"]
    assert units_from_user_data(user_data) == [
        "reelstack-backend.service",
        "reelstack-status-consumer.service",
    ]


def test_transcoder_starts_one_unit_per_configured_worker(prod: Graph, dev: Graph) -> None:
    prod_units = units_from_user_data(
        prod.one("aws:ec2/launchTemplate:LaunchTemplate", "transcoder-lt").inputs["userData"]
    )
    dev_units = units_from_user_data(
        dev.one("aws:ec2/launchTemplate:LaunchTemplate", "transcoder-lt").inputs["userData"]
    )
    assert prod_units == [f"reelstack-transcoder@{n}.service" for n in range(1, 5)]
    assert dev_units == ["reelstack-transcoder@1.service", "reelstack-transcoder@2.service"]


def test_backend_database_url_carries_no_password(prod: Graph) -> None:
    env = emitted_environment(prod, "backend")
    url = env["REELSTACK_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://reelstack@") and ":5432/reelstack" in url
    assert env["REELSTACK_DATABASE_SECRET_ARN"].startswith("arn:aws:secretsmanager:")


def test_backend_and_progress_verify_tokens_of_the_same_pool_and_share_the_ticket_key(prod: Graph) -> None:
    backend, progress = emitted_environment(prod, "backend"), emitted_environment(prod, "progress")
    pool_id = prod.one("aws:cognito/userPool:UserPool", "users-pool")
    for key in (
        "REELSTACK_JWT_ISSUER",
        "REELSTACK_JWKS_URL",
        "REELSTACK_USER_POOL_CLIENT_ID",
        "REELSTACK_TICKET_SECRET_ARN",
    ):
        assert backend[key] == progress[key]
    assert backend["REELSTACK_JWKS_URL"] == backend["REELSTACK_JWT_ISSUER"] + "/.well-known/jwks.json"
    assert backend["REELSTACK_JWT_ISSUER"].startswith("https://cognito-idp.us-east-1.amazonaws.com/")
    assert pool_id.custom


def test_media_base_url_is_the_distributions_media_path(prod: Graph) -> None:
    env = emitted_environment(prod, "backend")
    assert env["REELSTACK_MEDIA_BASE_URL"].startswith("https://") and env[
        "REELSTACK_MEDIA_BASE_URL"
    ].endswith(".cloudfront.net/media")
