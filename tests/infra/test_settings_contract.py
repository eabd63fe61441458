"""Acceptance 3: the environment each component emits is exactly what its service's settings read.

Both sides are read, never listed by hand: the emitted keys come from the synthesized
graph (Lambda environment, the env file inside EC2 user data), the declared ones from
``SERVICE_SETTINGS[service].env_names()``. The components build the environment from the
settings class itself (``infra._common.settings_environment``), whose rules are tested here too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pydantic
import pytest
from pydantic import Field

import infra.backend
import infra.progress
import infra.transcoder
import infra.users
from app.contracts.settings import (
    SERVICE_SETTINGS,
    BackendSettings,
    TranscoderSettings,
    UserServiceSettings,
    _ServiceSettings,
    load,
)
from infra._common import env_from_user_data, settings_environment, units_from_user_data
from pulumi_offline.graph import Graph
from pulumi_offline.synth import run_program, synthesize_stack

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


# Each component module and the settings class it builds its service's environment from.
COMPONENT_SETTINGS = {
    "users": (infra.users, "UserServiceSettings"),
    "backend": (infra.backend, "BackendSettings"),
    "transcoder": (infra.transcoder, "TranscoderSettings"),
    "progress": (infra.progress, "ProgressSettings"),
}
USERS_REQUIRED = {
    "user_pool_id": "eu-west-1_abc",
    "user_pool_client_id": "client",
    "signout_table": "signouts",
}


def test_component_modules_cover_every_service() -> None:
    assert set(COMPONENT_SETTINGS) == set(SERVICE_SETTINGS)
    for service, (module, class_name) in COMPONENT_SETTINGS.items():
        assert getattr(module, class_name) is SERVICE_SETTINGS[service]


@pytest.mark.parametrize("service", sorted(COMPONENT_SETTINGS))
def test_a_required_setting_no_component_sets_fails_the_synth_naming_it(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A variable the service cannot start without, added to its settings class, stops the stack
    at synth time until the component passes a value for it."""
    module, class_name = COMPONENT_SETTINGS[service]
    grown = pydantic.create_model(
        f"Grown{class_name}",
        __base__=getattr(module, class_name),
        added_by_this_test=(str, Field(description="a setting no component knows yet")),
    )
    monkeypatch.setattr(module, class_name, grown)
    with pytest.raises(TypeError, match=rf"Grown{class_name} requires added_by_this_test"):
        synthesize_stack("dev")


def test_settings_environment_names_each_variable_after_its_field() -> None:
    assert settings_environment(UserServiceSettings, **USERS_REQUIRED) == {
        "REELSTACK_USER_POOL_ID": "eu-west-1_abc",
        "REELSTACK_USER_POOL_CLIENT_ID": "client",
        "REELSTACK_SIGNOUT_TABLE": "signouts",
    }


def test_settings_environment_refuses_a_field_the_class_does_not_have() -> None:
    with pytest.raises(TypeError, match="UserServiceSettings has no field user_pool_name"):
        settings_environment(UserServiceSettings, **USERS_REQUIRED, user_pool_name="pool")


def test_settings_environment_refuses_a_missing_required_field() -> None:
    given = {k: v for k, v in USERS_REQUIRED.items() if k != "signout_table"}
    with pytest.raises(TypeError, match="UserServiceSettings requires signout_table"):
        settings_environment(UserServiceSettings, **given)


def test_settings_environment_leaves_optional_fields_out_unless_given() -> None:
    optional = {name for name, info in UserServiceSettings.model_fields.items() if not info.is_required()}
    assert optional == {"log_level", "first_admin_email"}
    left_out = settings_environment(UserServiceSettings, **USERS_REQUIRED)
    assert "REELSTACK_LOG_LEVEL" not in left_out and "REELSTACK_FIRST_ADMIN_EMAIL" not in left_out
    given = settings_environment(UserServiceSettings, **USERS_REQUIRED, log_level="DEBUG")
    assert given["REELSTACK_LOG_LEVEL"] == "DEBUG"


class _EveryKind(_ServiceSettings):
    """Fields of each type a settings class may declare, for the round trip."""

    name: str = Field(description="a string")
    count: int = Field(description="an int")
    ratio: float = Field(description="a float")
    whole_ratio: float = Field(description="a float given as an int")
    enabled: bool = Field(description="a bool")
    disabled: bool = Field(True, description="a bool given False")
    heights: list[int] = Field(description="a list")
    labels: dict[str, str] = Field(default_factory=dict, description="a mapping")


def _loaded(
    settings_class: type[_ServiceSettings], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Any:
    for key in settings_class.env_names():
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load(settings_class)


def test_settings_environment_round_trips_every_kind_of_field(monkeypatch: pytest.MonkeyPatch) -> None:
    values: dict[str, Any] = {
        "name": 'a, b = "c"',
        "count": 12,
        "ratio": 0.25,
        "whole_ratio": 3,
        "enabled": True,
        "disabled": False,
        "heights": [1080, 720],
        "labels": {"team": "video"},
        "log_level": "WARNING",
    }
    env = settings_environment(_EveryKind, **values)
    assert all(isinstance(v, str) for v in env.values())
    loaded = _loaded(_EveryKind, {k: str(v) for k, v in env.items()}, monkeypatch)
    assert loaded.model_dump() == values


@pytest.mark.parametrize("settings_class", [BackendSettings, TranscoderSettings])
def test_settings_environment_round_trips_each_services_defaults(
    settings_class: type[_ServiceSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every optional field given its default (ints, floats as the components pass them) loads back as it."""
    required: dict[str, Any] = {
        name: f"value-of-{name}" for name, info in settings_class.model_fields.items() if info.is_required()
    }
    if "media_revocation_store" in required:  # validated: an ARN or a URL
        required["media_revocation_store"] = "https://gateway.invalid/_local/revocations"
    defaults = {
        name: info.get_default(call_default_factory=True)
        for name, info in settings_class.model_fields.items()
        if not info.is_required()
    }
    env = settings_environment(settings_class, **required, **defaults)
    loaded = _loaded(settings_class, {k: str(v) for k, v in env.items()}, monkeypatch)
    assert loaded.model_dump() == {**required, **defaults}


def test_settings_environment_renders_an_output_once_it_is_known() -> None:
    rendered: dict[str, Any] = {}

    def program() -> None:
        env = settings_environment(
            _EveryKind,
            **{
                "name": pulumi.Output.from_input("known later"),
                "count": pulumi.Output.from_input(7),
                "ratio": 1.5,
                "whole_ratio": 2,
                "enabled": pulumi.Output.from_input(False),
                "heights": pulumi.Output.from_input([480]),
            },
        )
        pulumi.Output.all(**env).apply(rendered.update)

    run_program(program)
    assert rendered == {
        "REELSTACK_NAME": "known later",
        "REELSTACK_COUNT": "7",
        "REELSTACK_RATIO": "1.5",
        "REELSTACK_WHOLE_RATIO": "2",
        "REELSTACK_ENABLED": "false",
        "REELSTACK_HEIGHTS": "[480]",
    }
