"""Helpers shared by the components: tags, IAM documents, user data, ARNs.

Everything here is a pure function of its arguments (plus the stack name for tags), so
tests call these directly.
"""

from __future__ import annotations

import base64
import dataclasses
import inspect
import json
import shlex
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import pulumi
import pulumi_aws as aws
from pydantic_settings import BaseSettings

from app.contracts.names import SETTINGS_ENV_DIR, settings_env_file
from app.contracts.settings import ENV_PREFIX

TAG_KEYS = ("service", "stack", "owner")
POLICY_VERSION = "2012-10-17"

ArgsT = TypeVar("ArgsT")


def args_of(cls: type[ArgsT], args: ArgsT | Mapping[str, Any]) -> ArgsT:
    """A component's ``*Args``: ``args`` itself from a Python program; built from the mapping the
    multi-language provider hands the constructor (Python names, nested types as mappings, the
    inputs a program left out absent, so the dataclass defaults apply)."""
    if isinstance(args, cls):
        return args
    if not isinstance(args, Mapping):
        raise TypeError(f"{cls.__name__} or a mapping of its fields expected, got {type(args).__name__}")
    # The components' modules evaluate their annotations (the analyzer reads them as objects).
    hints = {f.name: f.type for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{name: _field_value(hints[name], value) for name, value in args.items()})


def _field_value(hint: Any, value: Any) -> Any:
    """``value`` as field type ``hint`` holds it: a mapping for a nested ``*Args`` type becomes one."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        nested = [t for t in typing.get_args(hint) if dataclasses.is_dataclass(t)]
        hint = nested[0] if nested else None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return args_of(hint, value)
    return value


def declared_outputs(component: pulumi.ComponentResource) -> dict[str, Any]:
    """The values the component registers as its outputs: every attribute its class declares
    (what the package schema lists), except the child resources it hands out, which a program
    reads from the attribute (the provider returns them as resource references)."""
    declared = inspect.get_annotations(type(component))
    values = {name: getattr(component, name) for name in declared if not name.startswith("_")}
    return {name: value for name, value in values.items() if not isinstance(value, pulumi.Resource)}


def standard_tags(service: str, owner: str, stack: str | None = None) -> dict[str, str]:
    """The tags every taggable resource carries: which service, which stack, who owns it."""
    return {"service": service, "stack": stack or pulumi.get_stack(), "owner": owner}


def asg_tags(tags: Mapping[str, str], name: str) -> list[aws.autoscaling.GroupTagArgs]:
    """Auto Scaling group tags, propagated to the instances it launches."""
    merged = {"Name": name, **tags}
    return [
        aws.autoscaling.GroupTagArgs(key=key, value=value, propagate_at_launch=True)
        for key, value in merged.items()
    ]


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[Any],
    *,
    effect: str = "Allow",
    condition: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One IAM statement; refuses the wildcards the platform never grants."""
    if not actions or any(a == "*" or a.endswith(":*") for a in actions):
        raise ValueError(f"statement {sid}: actions must be named, got {list(actions)}")
    if not resources or any(isinstance(r, str) and r == "*" for r in resources):
        raise ValueError(f"statement {sid}: resources must be ARNs, got {list(resources)}")
    body: dict[str, Any] = {
        "Sid": sid,
        "Effect": effect,
        "Action": sorted(set(actions)),
        "Resource": list(resources),
    }
    if condition:
        body["Condition"] = dict(condition)
    return body


# The calls SSM Agent makes to serve Session Manager. AWS defines no resource type for any of them
# (Service Authorization Reference, ssm and ssmmessages), so a policy can only name "*" for them.
SESSION_MANAGER_ACTIONS = (
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)
ACTIONS_WITHOUT_RESOURCE_TYPES = frozenset(SESSION_MANAGER_ACTIONS)


def resourceless_statement(
    sid: str, actions: Sequence[str], *, condition: Mapping[str, Any]
) -> dict[str, Any]:
    """A statement on ``"*"``, only for actions that AWS gives no resource type (so no ARN can
    narrow them), and only under a ``condition`` that narrows them instead."""
    scopable = [a for a in actions if a not in ACTIONS_WITHOUT_RESOURCE_TYPES]
    if not actions or scopable:
        raise ValueError(f"statement {sid}: {scopable or 'no actions'}: name ARNs with statement()")
    if not condition:
        raise ValueError(f"statement {sid}: a '*' resource needs a condition that narrows it")
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(set(actions)),
        "Resource": "*",
        "Condition": dict(condition),
    }


def policy_document(*statements: Mapping[str, Any]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": [dict(s) for s in statements]}


def assume_role_policy(service_principal: str) -> dict[str, Any]:
    """Trust policy letting one AWS service (e.g. ``ec2.amazonaws.com``) assume a role."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "AssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": service_principal},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def service_role(
    parent: pulumi.Resource,
    *,
    role_name: str,
    policy_name: str,
    service_principal: str,
    policy: pulumi.Input[Mapping[str, Any]],
    description: str,
    tags: Mapping[str, str],
) -> aws.iam.Role:
    """A role that one AWS service assumes, whose only permissions are ``policy`` (inline)."""
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        role_name,
        assume_role_policy=json_document(assume_role_policy(service_principal)),
        description=description,
        tags=dict(tags),
        opts=child,
    )
    aws.iam.RolePolicy(policy_name, role=role.id, policy=json_document(policy), opts=child)
    return role


def tls_only_bucket_policy(bucket_arn: str, extra: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """Denies every request that does not use TLS, plus any ``extra`` statements."""
    deny = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return {"Version": POLICY_VERSION, "Statement": [deny, *[dict(s) for s in extra]]}


def cloudfront_read_statement(bucket_arn: str, distribution_arn: str) -> dict[str, Any]:
    """Lets one CloudFront distribution (through Origin Access Control) read a bucket."""
    return {
        "Sid": "AllowCloudFrontRead",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": f"{bucket_arn}/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
    }


def settings_env_value(value: Any) -> str:
    """``value`` as an environment variable the settings classes parse back to it: strings as
    they are, booleans as ``true``/``false``, numbers as Python writes them, lists and mappings
    as JSON (pydantic-settings decodes complex fields from JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset | Mapping):
        return json.dumps(sorted(value) if isinstance(value, set | frozenset) else value)
    raise TypeError(f"{type(value).__name__} has no environment form: {value!r}")


def settings_environment(
    settings_class: type[BaseSettings], **values: pulumi.Input[Any]
) -> dict[str, pulumi.Input[str]]:
    """The environment that configures the service reading ``settings_class``: one variable per
    field given in ``values`` (keyword = field name, variable = ``REELSTACK_`` + its name in
    capitals), each value in the form the class parses (``settings_env_value``, applied once an
    Output is known). A name the class has no field for, and a required field missing from
    ``values``, are refused here, at synth time, rather than at the service's start on AWS; an
    optional field left out keeps the class's default."""
    fields = settings_class.model_fields
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise TypeError(f"{settings_class.__name__} has no field {', '.join(unknown)}")
    missing = sorted(name for name, info in fields.items() if info.is_required() and name not in values)
    if missing:
        raise TypeError(
            f"{settings_class.__name__} requires {', '.join(missing)}, which the component does not set"
        )
    return {
        ENV_PREFIX + name.upper(): (
            value.apply(settings_env_value) if isinstance(value, pulumi.Output) else settings_env_value(value)
        )
        for name, value in values.items()
    }


def env_file(values: Mapping[str, str]) -> str:
    """A systemd ``EnvironmentFile``: one ``KEY="value"`` per line, sorted, values escaped."""
    lines = []
    for key in sorted(values):
        value = str(values[key])
        if "\n" in value:
            raise ValueError(f"{key}: environment values cannot span lines")
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'{key}="{escaped}"')
    return "\n".join(lines) + "\n"


def parse_env_file(text: str) -> dict[str, str]:
    """The inverse of ``env_file`` (used by tests and by ``reelstack synth``)."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, raw = line.partition("=")
        if raw.startswith('"') and raw.endswith('"'):
            raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        result[key.strip()] = raw
    return result


_HEREDOC = "REELSTACK_ENV_EOF"
_AGENT_HEREDOC = "REELSTACK_AGENT_EOF"
LOG_DIR = "/var/log/reelstack"
AGENT_CTL = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"
AGENT_CONFIG_FILE = f"{SETTINGS_ENV_DIR}/cloudwatch-agent.json"


def unit_log_file(unit: str) -> str:
    """The file a unit appends its output to (``StandardOutput=append:``, images/); the instances
    of a template unit (``reelstack-transcoder@<n>``) share one."""
    stem = unit.split("@", 1)[0].removesuffix(".service")
    return f"{LOG_DIR}/{stem}.log"


def cloudwatch_agent_config(log_group_name: str, units: Sequence[str]) -> dict[str, Any]:
    """The CloudWatch agent's configuration: each unit's log file into ``log_group_name``, one
    stream per instance and file. The agent runs as root because the files are root's (systemd
    opens them before dropping privileges); it sets no retention (the log group has it)."""
    files = sorted({unit_log_file(u) for u in units})
    return {
        "agent": {"run_as_user": "root"},
        "logs": {
            "logs_collected": {
                "files": {
                    "collect_list": [
                        {
                            "file_path": path,
                            "log_group_name": log_group_name,
                            "log_stream_name": "{instance_id}/" + path.rsplit("/", 1)[1].removesuffix(".log"),
                            "timezone": "UTC",
                        }
                        for path in files
                    ]
                }
            }
        },
    }


def user_data_script(
    role: str, environment: Mapping[str, str], units: Sequence[str], *, agent_config: Mapping[str, Any]
) -> str:
    """The boot script of an EC2 service: write ``/etc/reelstack/<role>.env``, start the
    CloudWatch agent with ``agent_config``, start the units.

    The AMI (``images/``) ships the systemd units, which read the file as their
    ``EnvironmentFile``, and the agent; nothing else configures the service.
    """
    body = env_file(environment)
    agent = json.dumps(agent_config, indent=2, sort_keys=True)
    if _HEREDOC in body or _AGENT_HEREDOC in agent:
        raise ValueError("environment values cannot contain the here-document marker")
    path = settings_env_file(role)
    return "\n".join(
        [
            "#!/bin/bash",
            "set -euo pipefail",
            "umask 027",
            f"install -d -m 0750 {SETTINGS_ENV_DIR}",
            f"cat > {path} <<'{_HEREDOC}'",
            body.rstrip("\n"),
            _HEREDOC,
            f"chmod 0640 {path}",
            f"if getent group reelstack >/dev/null; then chgrp reelstack {SETTINGS_ENV_DIR} {path}; fi",
            f"cat > {AGENT_CONFIG_FILE} <<'{_AGENT_HEREDOC}'",
            agent,
            _AGENT_HEREDOC,
            "# Ship the logs before the services write any; a failing agent must not keep them from serving.",
            f"{AGENT_CTL} -a fetch-config -m ec2 -s -c file:{AGENT_CONFIG_FILE}"
            " || echo 'reelstack: the CloudWatch agent did not start; logs stay on this instance' >&2",
            "systemctl daemon-reload",
            "systemctl enable --now " + " ".join(shlex.quote(u) for u in units),
            "",
        ]
    )


def _script(script: str) -> str:
    return script if script.startswith("#!") else base64.b64decode(script).decode()


def agent_config_from_user_data(script: str) -> dict[str, Any]:
    """The CloudWatch agent configuration a ``user_data_script`` writes (base64 or plain)."""
    script = _script(script)
    marker = f"cat > {AGENT_CONFIG_FILE} <<'{_AGENT_HEREDOC}'\n"
    start = script.index(marker) + len(marker)
    config: dict[str, Any] = json.loads(script[start : script.index(f"\n{_AGENT_HEREDOC}\n", start)])
    return config


def env_from_user_data(script: str, role: str) -> dict[str, str]:
    """Read back the environment a ``user_data_script`` writes (base64 or plain)."""
    script = _script(script)
    marker = f"cat > {settings_env_file(role)} <<'{_HEREDOC}'\n"
    start = script.index(marker) + len(marker)
    end = script.index(f"\n{_HEREDOC}\n", start)
    return parse_env_file(script[start:end])


def units_from_user_data(script: str) -> list[str]:
    """The systemd units a ``user_data_script`` enables."""
    for line in _script(script).splitlines():
        if line.startswith("systemctl enable --now "):
            return shlex.split(line)[3:]
    return []


def user_data_base64(
    role: str,
    environment: Mapping[str, pulumi.Input[str]],
    units: Sequence[str],
    *,
    agent_config: Mapping[str, Any],
) -> pulumi.Output[str]:
    """``user_data_script`` once every value is known, base64-encoded for a launch template."""
    keys = sorted(environment)
    resolved = pulumi.Output.all(*[environment[k] for k in keys])
    return resolved.apply(
        lambda values: base64.b64encode(
            user_data_script(
                role,
                dict(zip(keys, (str(v) for v in values), strict=True)),
                units,
                agent_config=agent_config,
            ).encode()
        ).decode()
    )


def json_document(document: pulumi.Input[Mapping[str, Any]]) -> pulumi.Output[str]:
    """Serialize an IAM document once, resolving any Outputs inside it."""
    return pulumi.Output.json_dumps(document)


def plain_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, sort_keys=True)
