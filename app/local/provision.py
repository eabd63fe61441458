"""Creates, in the local AWS emulation, the resources the stacks define, and the settings that name them.

``provision(names, endpoint_url)`` is idempotent and returns a ``LocalResources`` whose
``env_for(service)`` gives exactly the variables that service's settings class reads
(the same ones the Pulumi components set on AWS).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import boto3

from app.contracts.names import (
    STATUS_MAX_RECEIVES,
    TASK_MAX_RECEIVES,
    TASK_VISIBILITY_TIMEOUT_SECONDS,
    ResourceNames,
)
from app.contracts.settings import SERVICE_SETTINGS
from app.contracts.signouts import EXPIRES_AT, KEY

LOCAL_REGION = "us-east-1"
# moto accepts any credentials; these keep boto3 from looking for real ones.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass(frozen=True)
class LocalResources:
    names: ResourceNames
    endpoint_url: str
    task_queue_url: str
    task_dlq_url: str
    status_queue_url: str
    progress_topic_arn: str
    user_pool_id: str
    user_pool_client_id: str
    ticket_secret_arn: str
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def jwt_issuer(self) -> str:
        # moto issues tokens with the AWS-form issuer while serving keys locally.
        return f"https://cognito-idp.{LOCAL_REGION}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.endpoint_url}/{self.user_pool_id}/.well-known/jwks.json"

    def aws_env(self) -> dict[str, str]:
        # boto3 reads AWS_DEFAULT_REGION, not AWS_REGION; Lambda sets both, EC2 user data the former.
        return {
            "AWS_REGION": LOCAL_REGION,
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            **LOCAL_CREDENTIALS,
        }

    def env_for(self, service: str, **overrides: str) -> dict[str, str]:
        """The environment of ``service`` (a key of SERVICE_SETTINGS), AWS variables included.

        ``overrides`` supplies what only the caller knows (database URL, public URLs),
        keyed by the settings field name.
        """
        known: dict[str, str] = {
            "user_pool_id": self.user_pool_id,
            "user_pool_client_id": self.user_pool_client_id,
            "jwt_issuer": self.jwt_issuer,
            "jwks_url": self.jwks_url,
            "ticket_secret_arn": self.ticket_secret_arn,
            "uploads_bucket": self.names.uploads_bucket,
            "media_bucket": self.names.media_bucket,
            "task_queue_url": self.task_queue_url,
            "task_dlq_url": self.task_dlq_url,
            "status_queue_url": self.status_queue_url,
            "progress_topic_arn": self.progress_topic_arn,
            "progress_queue_prefix": self.names.progress_queue_prefix,
            "signout_table": self.names.signout_table,
            **self.extra,
            **overrides,
        }
        settings_class = SERVICE_SETTINGS[service]
        env = self.aws_env()
        for name in settings_class.model_fields:
            if name in known:
                env[f"REELSTACK_{name.upper()}"] = str(known[name])
        return env


def client(service: str, endpoint_url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=LOCAL_REGION,
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def _queue(sqs: Any, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _queue_with_dlq(
    sqs: Any, name: str, dlq_name: str, max_receives: int, visibility: int
) -> tuple[str, str, str]:
    dlq_url, dlq_arn = _queue(sqs, dlq_name, {"MessageRetentionPeriod": "1209600"})
    url, arn = _queue(
        sqs,
        name,
        {
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}
            ),
        },
    )
    return url, arn, dlq_url


def _user_pool(cognito: Any, names: ResourceNames) -> tuple[str, str]:
    # Every page: an emulator shared by many test prefixes holds more pools than one page's 60.
    pages = cognito.get_paginator("list_user_pools").paginate(PaginationConfig={"PageSize": 60})
    pool_id = next(
        (p["Id"] for page in pages for p in page["UserPools"] if p["Name"] == names.user_pool), None
    )
    if pool_id is None:
        pool_id = cognito.create_user_pool(
            PoolName=names.user_pool,
            Policies={
                "PasswordPolicy": {
                    "MinimumLength": 8,
                    "RequireUppercase": True,
                    "RequireLowercase": True,
                    "RequireNumbers": True,
                    "RequireSymbols": False,
                }
            },
            AutoVerifiedAttributes=["email"],
            UsernameAttributes=["email"],
        )["UserPool"]["Id"]
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    client_id = next((c["ClientId"] for c in clients if c["ClientName"] == names.user_pool_client), None)
    if client_id is None:
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName=names.user_pool_client,
            GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


def _ticket_secret(secretsmanager: Any, names: ResourceNames) -> str:
    try:
        return str(secretsmanager.describe_secret(SecretId=names.ticket_secret)["ARN"])
    except secretsmanager.exceptions.ResourceNotFoundException:
        return str(
            secretsmanager.create_secret(Name=names.ticket_secret, SecretString=secrets.token_urlsafe(48))[
                "ARN"
            ]
        )


def _signout_table(dynamodb: Any, names: ResourceNames) -> None:
    try:
        dynamodb.describe_table(TableName=names.signout_table)
        return
    except dynamodb.exceptions.ResourceNotFoundException:
        pass
    dynamodb.create_table(
        TableName=names.signout_table,
        AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=names.signout_table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRES_AT},
    )


def provision(names: ResourceNames, endpoint_url: str) -> LocalResources:
    """Create (or find) every resource of the platform in the emulation at ``endpoint_url``."""
    s3 = client("s3", endpoint_url)
    for bucket in (names.uploads_bucket, names.media_bucket, names.web_bucket):
        s3.create_bucket(Bucket=bucket)

    sqs = client("sqs", endpoint_url)
    task_url, _, task_dlq_url = _queue_with_dlq(
        sqs, names.task_queue, names.task_dlq, TASK_MAX_RECEIVES, TASK_VISIBILITY_TIMEOUT_SECONDS
    )
    status_url, status_arn, _ = _queue_with_dlq(
        sqs, names.status_queue, names.status_dlq, STATUS_MAX_RECEIVES, 30
    )

    sns = client("sns", endpoint_url)
    topic_arn = sns.create_topic(Name=names.progress_topic)["TopicArn"]
    subscribed = {s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]}
    if status_arn not in subscribed:
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=status_arn,
            Attributes={"RawMessageDelivery": "true"},
        )

    pool_id, client_id = _user_pool(client("cognito-idp", endpoint_url), names)
    ticket_arn = _ticket_secret(client("secretsmanager", endpoint_url), names)
    _signout_table(client("dynamodb", endpoint_url), names)
    return LocalResources(
        names=names,
        endpoint_url=endpoint_url,
        task_queue_url=task_url,
        task_dlq_url=task_dlq_url,
        status_queue_url=status_url,
        progress_topic_arn=topic_arn,
        user_pool_id=pool_id,
        user_pool_client_id=client_id,
        ticket_secret_arn=ticket_arn,
    )
