"""The local platform's AWS resources: the dev stack's graph, created in the emulator.

``provision(names, endpoint_url)`` synthesizes the dev stack (``stacks/__main__.py`` under Pulumi's
mocks, the program ``pulumi up`` runs), creates every resource the emulator serves from the graph's
own inputs (``app/local/stack.py``), and returns a ``LocalResources`` whose ``env_for(service)`` is
the environment the service's component writes (user data, Lambda environment), with the emulator's
values in place of the mocks' and the local stand-ins' endpoints.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

from app.contracts.names import ResourceNames
from app.contracts.settings import ENV_PREFIX, SERVICE_SETTINGS
from app.local.stack import Emulator, Substitutions, create
from infra._common import env_from_user_data
from pulumi_offline.synth import PROJECT, SynthResource, synthesize

LOCAL_REGION = "us-east-1"
# Without IAM enforcement moto accepts any credentials; these keep boto3 from looking for real ones.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass(frozen=True)
class LocalResources:
    names: ResourceNames
    endpoint_url: str
    task_queue_url: str
    task_dlq_url: str
    status_queue_url: str
    progress_topic_arn: str
    video_events_topic_arn: str
    user_pool_id: str
    user_pool_client_id: str
    ticket_secret_arn: str
    uploads_bucket: str
    media_bucket: str
    web_bucket: str
    role_arns: dict[str, str] = field(default_factory=dict)
    """Each service's role (``users``, ``backend``, ``transcoder``, ``progress``), as its component creates it."""
    environments: dict[str, dict[str, str]] = field(default_factory=dict)
    """Each service's environment as its component writes it, with the emulator's values."""

    @property
    def jwt_issuer(self) -> str:
        # moto issues tokens with the AWS-form issuer while serving keys locally.
        return f"https://cognito-idp.{LOCAL_REGION}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.endpoint_url}/{self.user_pool_id}/.well-known/jwks.json"

    def aws_env(self, credentials: Mapping[str, str] | None = None) -> dict[str, str]:
        # boto3 reads AWS_DEFAULT_REGION, not AWS_REGION; Lambda sets both, EC2 user data the former.
        return {
            "AWS_REGION": LOCAL_REGION,
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            **(credentials or LOCAL_CREDENTIALS),
        }

    def env_for(
        self, service: str, credentials: Mapping[str, str] | None = None, **overrides: str
    ) -> dict[str, str]:
        """The environment of ``service`` (a key of SERVICE_SETTINGS), AWS variables included.

        The component's own environment, where the local stand-ins differ: the emulator serves
        the pool's keys, the database is SQLite or PostgreSQL without an RDS-managed secret.
        ``overrides`` supplies what only the caller knows (database URL, public URLs), keyed by
        the settings field name.
        """
        settings_class = SERVICE_SETTINGS[service]
        local = {
            "jwks_url": self.jwks_url,
            "database_secret_arn": "",
            # The launcher stands in for the Auto Scaling group: no instance to protect from scale-in.
            "autoscaling_group": "",
            **overrides,
        }
        env = {**self.aws_env(credentials), **self.environments[service]}
        for name in settings_class.model_fields:
            if name in local:
                env[f"{ENV_PREFIX}{name.upper()}"] = str(local[name])
        return env


def client(service: str, endpoint_url: str, credentials: Mapping[str, str] | None = None) -> Any:
    creds = credentials or LOCAL_CREDENTIALS
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=LOCAL_REGION,
        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=creds.get("AWS_SESSION_TOKEN"),
    )


def assume(
    role_arn: str, session_name: str, endpoint_url: str, launcher: Mapping[str, str]
) -> dict[str, str]:
    """Credentials of ``role_arn`` (STS AssumeRole in the emulator, as the launcher), as AWS_* variables."""
    creds = client("sts", endpoint_url, launcher).assume_role(
        RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=43200
    )["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
    }


LOCAL_STACK = "dev"
_ROLES = {
    "reelstack:index:UserService": "users",
    "reelstack:index:BackendService": "backend",
    "reelstack:index:TranscoderFleet": "transcoder",
    "reelstack:index:ProgressService": "progress",
}
_LAUNCHER = "reelstack-local-launcher"
_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@functools.cache
def dev_graph() -> tuple[SynthResource, ...]:
    """The dev stack under Pulumi's mocks: the program ``pulumi up`` runs (synthesized once per process)."""
    return tuple(synthesize(LOCAL_STACK))


def _rename(prefix: str) -> Substitutions:
    stack_prefix = ResourceNames.for_stack(PROJECT, LOCAL_STACK).prefix
    return Substitutions({} if prefix == stack_prefix else {stack_prefix: prefix})


def renamed(graph: tuple[SynthResource, ...], prefix: str) -> list[SynthResource]:
    """``graph`` with the stack's name prefix replaced by ``prefix``, so tests sharing one emulator
    do not share resources. ``reelstack up`` uses the graph as it is."""
    rename = _rename(prefix)
    return [
        dataclasses.replace(r, inputs=rename.apply(r.inputs), computed=rename.apply(r.computed))
        for r in graph
    ]


def bootstrap_launcher(endpoint_url: str) -> dict[str, str]:
    """The launcher's identity in the emulator: a user allowed everything, and its access key.

    Three calls, the ones ``INITIAL_NO_AUTH_ACTION_COUNT`` leaves free when IAM is enforced; every
    later call is checked. Returns AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
    """
    iam = client("iam", endpoint_url)
    iam.create_user(UserName=_LAUNCHER)
    iam.put_user_policy(UserName=_LAUNCHER, PolicyName="launcher", PolicyDocument=json.dumps(_ALL))
    key = iam.create_access_key(UserName=_LAUNCHER)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def _environment(resource: SynthResource, service: str) -> dict[str, str]:
    if resource.type == "aws:lambda/function:Function":
        return dict(resource.inputs["environment"]["variables"])
    return env_from_user_data(resource.inputs["userData"], service)


def provision(
    names: ResourceNames,
    endpoint_url: str,
    credentials: Mapping[str, str] | None = None,
    public_url: str | None = None,
    synthesized: tuple[SynthResource, ...] | None = None,
) -> LocalResources:
    """Create the dev stack's resources (named under ``names``) in the emulation at ``endpoint_url``.

    ``credentials``: the launcher's (``bootstrap_launcher``); by default the ones moto accepts
    without enforcement. ``public_url``: the gateway, standing in for CloudFront's domain.
    ``synthesized``: another synthesis of the dev stack than this process's first.
    """
    creds = dict(credentials or LOCAL_CREDENTIALS)
    iam = client("iam", endpoint_url, creds)
    launcher_arn = str(iam.get_user(UserName=_LAUNCHER)["User"]["Arn"]) if credentials else ""
    graph = renamed(synthesized or dev_graph(), names.prefix)
    stand_ins = {}
    if public_url:
        for r in graph:
            if r.type == "aws:cloudfront/distribution:Distribution":
                stand_ins[f"https://{r.computed['domainName']}"] = public_url
    created = create(
        graph, Emulator(lambda service: client(service, endpoint_url, creds), launcher_arn), stand_ins
    )
    by_urn = {r.urn: r for r in graph}

    def output(resource_type: str, name_suffix: str, key: str) -> str:
        r = next(r for r in graph if r.type == resource_type and r.name.endswith(name_suffix))
        return str(created.outputs[r.urn][key])

    roles: dict[str, str] = {}
    environments: dict[str, dict[str, str]] = {}
    for r in graph:
        component = by_urn.get(r.parent or "")
        service = _ROLES.get(component.type) if component else None
        if service is None:
            continue
        if r.type == "aws:iam/role:Role":
            roles[service] = str(created.outputs[r.urn]["arn"])
        if r.type in ("aws:ec2/launchTemplate:LaunchTemplate", "aws:lambda/function:Function"):
            # User data is base64: read the environment out of it before renaming.
            environments[service] = created.substitutions.apply(
                _rename(names.prefix).apply(_environment(r, service))
            )
    return LocalResources(
        names=names,
        endpoint_url=endpoint_url,
        task_queue_url=output("aws:sqs/queue:Queue", "-tasks", "url"),
        task_dlq_url=output("aws:sqs/queue:Queue", "-tasks-dlq", "url"),
        status_queue_url=output("aws:sqs/queue:Queue", "-status", "url"),
        progress_topic_arn=output("aws:sns/topic:Topic", "-topic", "arn"),
        video_events_topic_arn=output("aws:sns/topic:Topic", "-video-events", "arn"),
        user_pool_id=output("aws:cognito/userPool:UserPool", "-pool", "id"),
        user_pool_client_id=output("aws:cognito/userPoolClient:UserPoolClient", "-client", "id"),
        ticket_secret_arn=output("aws:secretsmanager/secret:Secret", "ticket-key", "arn"),
        uploads_bucket=output("aws:s3/bucket:Bucket", "-uploads", "bucket"),
        media_bucket=output("aws:s3/bucket:Bucket", "-media", "bucket"),
        web_bucket=output("aws:s3/bucket:Bucket", "-web", "bucket"),
        role_arns=roles,
        environments=environments,
    )
