"""Each service runs with its component's role, and the emulator enforces exactly that role's policy:
calls outside it are denied, and the denial names the action and the resource."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import pytest

from app.contracts.names import ResourceNames, upload_key_prefix
from app.contracts.settings import ENV_PREFIX, UserServiceSettings
from app.local import moto_server
from app.local.platform import BOOTSTRAP_CALLS
from app.local.provision import LocalResources, assume, bootstrap_launcher, client, provision
from app.users.handler import create_resolver
from pulumi_offline.synth import SynthResource, synthesize_stack
from tests.app.users.conftest import rest_event


@dataclass
class Enforced:
    resources: LocalResources
    launcher: dict[str, str]

    def as_role(self, service: str, aws_service: str) -> Any:
        credentials = assume(
            self.resources.role_arns[service], service, self.resources.endpoint_url, self.launcher
        )
        return client(aws_service, self.resources.endpoint_url, credentials)

    def as_launcher(self, aws_service: str) -> Any:
        return client(aws_service, self.resources.endpoint_url, self.launcher)


@contextmanager
def enforced_emulator(synthesized: tuple[SynthResource, ...] | None = None) -> Iterator[Enforced]:
    """The emulator as `reelstack up` runs it: three bootstrap calls free, every later one checked;
    the dev stack (or ``synthesized``, another synthesis of it) created in it."""
    port = moto_server.free_port()
    env = {**os.environ, "MOTO_PORT": str(port), "INITIAL_NO_AUTH_ACTION_COUNT": str(BOOTSTRAP_CALLS)}
    process = subprocess.Popen(
        moto_server.moto_command(port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        moto_server.wait_for_http(f"{endpoint}/moto-api/", process=process)
        launcher = bootstrap_launcher(endpoint)
        names = ResourceNames(f"i{uuid.uuid4().hex[:12]}")
        yield Enforced(provision(names, endpoint, launcher, synthesized=synthesized), launcher)
    finally:
        moto_server.stop(process)


@pytest.fixture(scope="module")
def enforced() -> Iterator[Enforced]:
    with enforced_emulator() as emulator:
        yield emulator


def _denied(call: Any, action: str, resource: str | None = None) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        call()
    error = denied.value.response["Error"]
    # SQS answers its denials in XML, which botocore (speaking JSON to SQS) reports as code "403".
    assert error["Code"] in ("AccessDenied", "403"), error
    if resource is not None:  # S3's AccessDenied names neither, as S3's own does not
        assert action in str(denied.value) and resource in str(denied.value)


def test_unknown_credentials_are_refused(enforced: Enforced) -> None:
    with pytest.raises(botocore.exceptions.ClientError):
        client("sqs", enforced.resources.endpoint_url).list_queues()


def test_the_transcoder_reads_sources_but_cannot_delete_them(enforced: Enforced) -> None:
    bucket, key = enforced.resources.uploads_bucket, f"{upload_key_prefix(uuid.uuid4())}source"
    enforced.as_launcher("s3").put_object(Bucket=bucket, Key=key, Body=b"x")
    s3 = enforced.as_role("transcoder", "s3")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"x"
    _denied(lambda: s3.delete_object(Bucket=bucket, Key=key), "s3:DeleteObject")


def test_the_transcoder_publishes_progress_and_the_backend_cannot(enforced: Enforced) -> None:
    topic = enforced.resources.progress_topic_arn
    enforced.as_role("transcoder", "sns").publish(TopicArn=topic, Message="{}")
    backend = enforced.as_role("backend", "sns")
    _denied(lambda: backend.publish(TopicArn=topic, Message="{}"), "sns:Publish", topic)


def test_progress_cannot_read_uploads(enforced: Enforced) -> None:
    bucket, key = enforced.resources.uploads_bucket, f"{upload_key_prefix(uuid.uuid4())}source"
    enforced.as_launcher("s3").put_object(Bucket=bucket, Key=key, Body=b"x")
    s3 = enforced.as_role("progress", "s3")
    _denied(lambda: s3.get_object(Bucket=bucket, Key=key), "s3:GetObject")


def test_progress_creates_queues_under_its_prefix_and_no_other(enforced: Enforced) -> None:
    sqs = enforced.as_role("progress", "sqs")
    names = enforced.resources.names
    sqs.create_queue(QueueName=f"{names.progress_queue_prefix}test-1")
    _denied(
        lambda: sqs.create_queue(QueueName=f"{names.prefix}-elsewhere"),
        "sqs:CreateQueue",
        f"{names.prefix}-elsewhere",
    )


def test_the_backend_sends_tasks_but_cannot_take_them(enforced: Enforced) -> None:
    sqs = enforced.as_role("backend", "sqs")
    queue = enforced.resources.task_queue_url
    sqs.send_message(QueueUrl=queue, MessageBody="{}")
    _denied(
        lambda: sqs.receive_message(QueueUrl=queue), "sqs:ReceiveMessage", enforced.resources.names.task_queue
    )


def test_only_the_services_that_need_it_read_the_ticket_key(enforced: Enforced) -> None:
    secret = enforced.resources.ticket_secret_arn
    assert enforced.as_role("progress", "secretsmanager").get_secret_value(SecretId=secret)["SecretString"]
    transcoder = enforced.as_role("transcoder", "secretsmanager")
    _denied(lambda: transcoder.get_secret_value(SecretId=secret), "secretsmanager:GetSecretValue", secret)


def test_the_user_service_signs_users_up_and_out_without_any_cognito_grant(enforced: Enforced) -> None:
    """Cognito's public and token-authorized operations evaluate no IAM policy
    (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pools-API-operations.html);
    the role's policy has no Cognito grant, and the handler's calls still work."""
    cognito = enforced.as_role("users", "cognito-idp")
    resources = enforced.resources
    email, password = f"{uuid.uuid4().hex[:8]}@example.com", "Correct-Horse-9"
    cognito.sign_up(ClientId=resources.user_pool_client_id, Username=email, Password=password)
    cognito.confirm_sign_up(ClientId=resources.user_pool_client_id, Username=email, ConfirmationCode="000000")
    tokens = cognito.initiate_auth(
        ClientId=resources.user_pool_client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )["AuthenticationResult"]
    cognito.global_sign_out(AccessToken=tokens["AccessToken"])  # moto answered this one 500 unpatched
    _denied(lambda: cognito.admin_get_user(UserPoolId=resources.user_pool_id, Username=email), "AdminGetUser")
    # The dev stack names no first admin (reelstack:firstAdminEmail): its Lambda may not add to groups.
    _denied(
        lambda: cognito.admin_add_user_to_group(
            UserPoolId=resources.user_pool_id, Username=email, GroupName="admin"
        ),
        "AdminAddUserToGroup",
    )


def test_a_batch_is_allowed_by_the_single_actions_grant(enforced: Enforced) -> None:
    """AWS: permissions for DeleteMessageBatch are those of DeleteMessage, and the batch action
    cannot be granted itself (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-batch-api.html);
    the progress poller deletes in batches with only sqs:DeleteMessage."""
    sqs = enforced.as_role("progress", "sqs")
    url = sqs.create_queue(QueueName=f"{enforced.resources.names.progress_queue_prefix}batch")["QueueUrl"]
    enforced.as_launcher("sqs").send_message(QueueUrl=url, MessageBody="{}")
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    deleted = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": "1", "ReceiptHandle": message["ReceiptHandle"]}]
    )
    assert [entry["Id"] for entry in deleted["Successful"]] == ["1"]


def test_a_multi_object_delete_is_checked_key_by_key(enforced: Enforced) -> None:
    """AWS checks s3:DeleteObject on each key of a DeleteObjects request
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html); the backend, granted
    it on the media objects, removes a video's outputs in one request, and the transcoder,
    granted nothing on sources, is refused each key."""
    media, uploads = enforced.resources.media_bucket, enforced.resources.uploads_bucket
    launcher = enforced.as_launcher("s3")
    keys = [f"videos/{uuid.uuid4()}/hls/{n}.ts" for n in range(2)]
    for key in keys:
        launcher.put_object(Bucket=media, Key=key, Body=b"x")
    result = enforced.as_role("backend", "s3").delete_objects(
        Bucket=media, Delete={"Objects": [{"Key": k} for k in keys]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == sorted(keys) and not result.get("Errors")
    source = f"{upload_key_prefix(uuid.uuid4())}source"
    launcher.put_object(Bucket=uploads, Key=source, Body=b"x")
    refused = enforced.as_role("transcoder", "s3").delete_objects(
        Bucket=uploads, Delete={"Objects": [{"Key": source}]}
    )
    assert [e["Code"] for e in refused["Errors"]] == ["AccessDenied"]
    assert launcher.head_object(Bucket=uploads, Key=source)["ContentLength"] == 1


def test_the_sign_out_table_is_written_by_the_user_service_and_the_backend_and_only_read_by_progress(
    enforced: Enforced,
) -> None:
    """The backend writes one when an admin suspends a user or takes a role away."""
    table = enforced.resources.environments["users"]["REELSTACK_SIGNOUT_TABLE"]
    item = {"sub": {"S": str(uuid.uuid4())}, "signed_out_at": {"N": "1"}, "expires_at": {"N": "2"}}
    enforced.as_role("users", "dynamodb").put_item(TableName=table, Item=item)
    enforced.as_role("backend", "dynamodb").put_item(TableName=table, Item=item)
    progress = enforced.as_role("progress", "dynamodb")
    assert progress.get_item(TableName=table, Key={"sub": item["sub"]})["Item"]["sub"] == item["sub"]
    _denied(lambda: progress.put_item(TableName=table, Item=item), "dynamodb:PutItem", f"table/{table}")


def test_the_backend_manages_the_pools_users_and_the_transcoder_cannot(enforced: Enforced) -> None:
    """The backend's pool-scoped grant (AdminDisableUser and the rest) works locally: the emulator
    checks cognito-idp calls against "*" only, so the local platform widens that statement
    (app/local/stack.py emulator_policy); its scope on AWS is tested over the graph."""
    pool = enforced.resources.user_pool_id
    launcher = enforced.as_launcher("cognito-idp")
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    launcher.sign_up(
        ClientId=enforced.resources.user_pool_client_id, Username=email, Password="Passw0rd-long1"
    )
    backend = enforced.as_role("backend", "cognito-idp")
    backend.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName="moderator")
    backend.admin_disable_user(UserPoolId=pool, Username=email)
    backend.admin_enable_user(UserPoolId=pool, Username=email)
    transcoder = enforced.as_role("transcoder", "cognito-idp")
    _denied(
        lambda: transcoder.admin_disable_user(UserPoolId=pool, Username=email), "cognito-idp:AdminDisableUser"
    )


def test_a_first_admin_in_stack_config_becomes_admin_through_the_user_lambda_and_its_role() -> None:
    """The dev stack with ``reelstack:firstAdminEmail``, created in the emulator under IAM
    enforcement: the handler, with the environment the graph gives the Lambda and credentials of
    its role, puts that address's account in the admin group at its confirmation (the role's one
    Cognito grant) and no other account."""
    first_admin = f"boss-{uuid.uuid4().hex[:8]}@example.com"
    graph = tuple(synthesize_stack("dev", overrides={"reelstack:firstAdminEmail": first_admin}).resources)
    with enforced_emulator(graph) as enforced:
        lambda_env = enforced.resources.env_for("users")
        assert lambda_env["REELSTACK_FIRST_ADMIN_EMAIL"] == first_admin
        settings = UserServiceSettings.model_validate(
            {k.removeprefix(ENV_PREFIX).lower(): v for k, v in lambda_env.items() if k.startswith(ENV_PREFIX)}
        )
        resolver = create_resolver(
            settings, enforced.as_role("users", "cognito-idp"), enforced.as_role("users", "dynamodb")
        )
        other = f"other-{uuid.uuid4().hex[:8]}@example.com"
        for email in (first_admin, other):
            for path, body in (
                ("/auth/signup", {"email": email, "password": "Passw0rd-long1"}),
                ("/auth/confirm", {"email": email, "code": "123456"}),
            ):
                answer = resolver.resolve(rest_event("POST", path, json.dumps(body)), None)
                assert answer["statusCode"] in (200, 201), answer["body"]
        launcher_cognito = enforced.as_launcher("cognito-idp")
        pool = enforced.resources.user_pool_id

        def groups(email: str) -> list[str]:
            listed = launcher_cognito.admin_list_groups_for_user(UserPoolId=pool, Username=email)
            return [g["GroupName"] for g in listed["Groups"]]

        assert groups(first_admin) == ["admin"]
        assert groups(other) == []
