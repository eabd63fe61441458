"""The sign-out table's grants, under the emulator's IAM enforcement: the users Lambda's policy
may record a sign-out and not read one; the backend's and progress's read one and write none.

The emulator checks DynamoDB calls against the resource ``*`` (moto 5.2.5's DynamoDB handler
names no table: ``BaseResponse.call_action`` falls back to ``*``), so a statement on the table's
ARN would deny every call here while AWS allows it. Locally the statements on DynamoDB are
widened to ``*`` (``as_the_emulator_authorizes``): the actions are what this test checks; the
ARN is checked over the policy documents (tests/infra/test_users.py)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from app.contracts.signout_records import record_sign_out
from app.contracts.signouts import SignOuts, SignOutsUnavailable
from app.local.provision import LocalResources, client
from infra.users import signout_reader_statement, users_policy
from tests.support.iam import iam_enforcement


def as_the_emulator_authorizes(policy: dict[str, Any]) -> dict[str, Any]:
    statements = [
        {**s, "Resource": "*"} if all(a.startswith("dynamodb:") for a in s["Action"]) else s
        for s in policy["Statement"]
    ]
    return {**policy, "Statement": statements}


def _identity(resources: LocalResources, policy: dict[str, Any]) -> Any:
    """A DynamoDB client of a new IAM user allowed exactly ``policy``."""
    iam = client("iam", resources.endpoint_url)
    user = f"signouts-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    document = json.dumps(as_the_emulator_authorizes(policy))
    iam.put_user_policy(UserName=user, PolicyName="only", PolicyDocument=document)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return boto3.client(
        "dynamodb",
        endpoint_url=resources.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )


def test_logout_may_only_write_and_the_services_may_only_read_the_signout_table(
    local_resources: LocalResources, moto_endpoint: str
) -> None:
    table = local_resources.names.signout_table
    arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}"
    writer = _identity(local_resources, users_policy("arn:aws:logs:us-east-1:123456789012:log-group:g", arn))
    reader = _identity(
        local_resources, {"Version": "2012-10-17", "Statement": [signout_reader_statement(arn)]}
    )
    with iam_enforcement(moto_endpoint):
        record_sign_out(writer, table, sub="u", signed_out_at=2_000_000_000, expires_at=2_000_003_600)
        assert SignOuts(reader, table).signed_out("u", 2_000_000_000)
        with pytest.raises(ClientError) as refused:
            record_sign_out(reader, table, sub="u", signed_out_at=1, expires_at=2)
        assert "not authorized to perform: dynamodb:PutItem" in str(refused.value)
        with pytest.raises(SignOutsUnavailable):
            SignOuts(writer, table).signed_out("u", 1)
