"""The local platform is the dev stack: every resource of the graph is created in the emulator from
the graph's own inputs, or named with the stand-in that serves it (app/local/stack.py)."""

from __future__ import annotations

import json

import pytest

from app.contracts.roles import Role
from app.local.provision import LocalResources, client, dev_graph
from app.local.stack import (
    STAND_INS,
    TRANSLATIONS,
    Unaccounted,
    emulator_policy,
    how_served,
    local_trust_policy,
)
from pulumi_offline.synth import synthesize


def test_every_resource_of_the_dev_graph_is_served_locally() -> None:
    served = {f"{r.type} {r.name}": how_served(r.type) for r in dev_graph()}
    for line in sorted(f"{resource}: {how}" for resource, how in served.items()):
        print(line)  # the whole graph, with what serves each resource (pytest -s shows it)
    emulated = {r.type for r in dev_graph() if r.type in TRANSLATIONS}
    assert {"aws:s3/bucket:Bucket", "aws:sqs/queue:Queue", "aws:iam/role:Role"} <= emulated
    assert len(served) == len(dev_graph())


def test_every_type_of_the_prod_graph_is_served_locally_too() -> None:
    # A type only prod uses (bucket versioning) must not surprise the next person who runs up on it.
    for resource in synthesize("prod"):
        how_served(resource.type)


def test_a_type_with_neither_translation_nor_stand_in_fails_naming_it() -> None:
    with pytest.raises(Unaccounted, match="aws:ec2/instance:Instance"):
        how_served("aws:ec2/instance:Instance")
    assert not set(TRANSLATIONS) & set(STAND_INS)


def _graph(resource_type: str, suffix: str = "") -> dict:
    return next(r for r in dev_graph() if r.type == resource_type and r.name.endswith(suffix)).inputs


def test_buckets_carry_the_graphs_cors_lifecycle_encryption_and_public_access_block(
    local_resources: LocalResources,
) -> None:
    s3 = client("s3", local_resources.endpoint_url)
    bucket = local_resources.uploads_bucket
    assert bucket.startswith(
        f"{local_resources.names.uploads_bucket}-"
    )  # bucket_prefix + a suffix, as on AWS
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    expected_days = int(
        _graph("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "-uploads")["rules"][0][
            "expiration"
        ]["days"]
    )
    assert [(r["ID"], r["Expiration"]["Days"]) for r in rules] == [("expire-raw-uploads", expected_days)]
    cors = s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]
    assert cors["AllowedMethods"] == ["POST", "PUT", "GET", "HEAD"] and cors["ExposeHeaders"] == ["ETag"]
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=local_resources.media_bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    ownership = s3.get_bucket_ownership_controls(Bucket=local_resources.web_bucket)["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_bucket_policies_are_left_out_because_every_statement_is_conditional(
    local_resources: LocalResources,
) -> None:
    """The emulator evaluates bucket policies without their conditions (measured: the TLS-only Deny
    then denied every request), so only unconditional statements would be applied; there are none."""
    s3 = client("s3", local_resources.endpoint_url)
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=local_resources.uploads_bucket)


def test_queues_carry_the_graphs_attributes_and_redrive(local_resources: LocalResources) -> None:
    sqs = client("sqs", local_resources.endpoint_url)
    graph = _graph("aws:sqs/queue:Queue", "transcoder-tasks")
    attributes = sqs.get_queue_attributes(QueueUrl=local_resources.task_queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    assert attributes["VisibilityTimeout"] == str(int(graph["visibilityTimeoutSeconds"]))
    assert attributes["ReceiveMessageWaitTimeSeconds"] == str(int(graph["receiveWaitTimeSeconds"]))
    assert attributes["MessageRetentionPeriod"] == str(int(graph["messageRetentionSeconds"]))
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f"{local_resources.names.task_dlq}")
    assert int(redrive["maxReceiveCount"]) == json.loads(graph["redrivePolicy"])["maxReceiveCount"]
    status = sqs.get_queue_attributes(QueueUrl=local_resources.status_queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    assert status["VisibilityTimeout"] == str(
        int(_graph("aws:sqs/queue:Queue", "backend-status")["visibilityTimeoutSeconds"])
    )
    assert json.loads(status["Policy"])["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == (
        local_resources.progress_topic_arn
    )


def test_the_topic_is_encrypted_with_the_emulators_key_and_delivers_raw_to_the_status_queue(
    local_resources: LocalResources,
) -> None:
    sns = client("sns", local_resources.endpoint_url)
    topic = sns.get_topic_attributes(TopicArn=local_resources.progress_topic_arn)["Attributes"]
    key_arn = topic["KmsMasterKeyId"]
    key_id = key_arn.rpartition("/")[2]
    assert (
        client("kms", local_resources.endpoint_url).describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
        == key_arn
    )
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=local_resources.progress_topic_arn)[
        "Subscriptions"
    ]
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])[
        "Attributes"
    ]
    assert attributes["RawMessageDelivery"] == "true"
    assert subscription["Endpoint"].endswith(local_resources.names.status_queue)


def test_the_user_pool_has_the_components_password_policy_and_client_settings(
    local_resources: LocalResources,
) -> None:
    """The hand-written pool accepted 8-character passwords while the component requires 12."""
    cognito = client("cognito-idp", local_resources.endpoint_url)
    pool = cognito.describe_user_pool(UserPoolId=local_resources.user_pool_id)["UserPool"]
    graph = _graph("aws:cognito/userPool:UserPool")
    assert (
        pool["Policies"]["PasswordPolicy"]["MinimumLength"]
        == int(graph["passwordPolicy"]["minimumLength"])
        == 12
    )
    app = cognito.describe_user_pool_client(
        UserPoolId=local_resources.user_pool_id, ClientId=local_resources.user_pool_client_id
    )["UserPoolClient"]
    client_graph = _graph("aws:cognito/userPoolClient:UserPoolClient")
    assert app["ExplicitAuthFlows"] == client_graph["explicitAuthFlows"]
    assert app["AccessTokenValidity"] == int(client_graph["accessTokenValidity"])
    assert app["TokenValidityUnits"]["RefreshToken"] == client_graph["tokenValidityUnits"]["refreshToken"]
    with pytest.raises(cognito.exceptions.InvalidPasswordException):
        cognito.sign_up(
            ClientId=local_resources.user_pool_client_id, Username="a@example.com", Password="Short1Aa"
        )


def test_the_user_pool_has_one_group_per_role_as_the_graph_describes_them(
    local_resources: LocalResources,
) -> None:
    cognito = client("cognito-idp", local_resources.endpoint_url)
    groups = {
        g["GroupName"]: g for g in cognito.list_groups(UserPoolId=local_resources.user_pool_id)["Groups"]
    }
    graph = [r.inputs for r in dev_graph() if r.type == "aws:cognito/userGroup:UserGroup"]
    assert sorted(groups) == sorted(g["name"] for g in graph) == sorted(r.value for r in Role)
    for inputs in graph:
        assert groups[inputs["name"]]["Description"] == inputs["description"]
        assert groups[inputs["name"]]["Precedence"] == int(inputs["precedence"])


def test_the_ticket_secret_holds_a_fresh_random_key_of_the_graphs_length(
    local_resources: LocalResources,
) -> None:
    value = client("secretsmanager", local_resources.endpoint_url).get_secret_value(
        SecretId=local_resources.ticket_secret_arn
    )["SecretString"]
    graph = next(
        r
        for r in dev_graph()
        if r.type == "random:index/randomPassword:RandomPassword" and r.name.endswith("ticket-key")
    )
    assert len(value) == int(graph.inputs["length"]) and value.isalnum()
    assert value != graph.computed["result"]  # not the mocks' made-up value


def test_each_service_role_has_its_components_policy_with_the_emulators_arns(
    local_resources: LocalResources,
) -> None:
    iam = client("iam", local_resources.endpoint_url)
    role = local_resources.role_arns["backend"].rpartition("/")[2]
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    resources = {arn for s in document["Statement"] for arn in s["Resource"]}
    assert local_resources.ticket_secret_arn in resources  # the emulator's ARN, not the mocks'
    assert f"arn:aws:s3:::{local_resources.uploads_bucket}/*" in resources
    assert set(local_resources.role_arns) == {"users", "backend", "transcoder", "progress"}


def test_the_local_trust_policy_changes_only_the_service_principal() -> None:
    generated = _graph("aws:iam/role:Role", "transcoder-role")["assumeRolePolicy"]
    launcher = "arn:aws:iam::123456789012:user/reelstack-local-launcher"
    local = json.loads(local_trust_policy(generated, launcher))
    original = json.loads(generated)
    assert local["Statement"][0].pop("Principal") == {"AWS": launcher}
    assert original["Statement"][0].pop("Principal") == {"Service": "ec2.amazonaws.com"}
    assert local == original


def test_each_service_environment_is_its_components_with_the_emulators_values(
    local_resources: LocalResources,
) -> None:
    env = local_resources.env_for("transcoder")
    assert env["REELSTACK_TASK_QUEUE_URL"] == local_resources.task_queue_url
    assert env["REELSTACK_UPLOADS_BUCKET"] == local_resources.uploads_bucket
    assert env["REELSTACK_AUTOSCALING_GROUP"] == ""  # off EC2 the worker refuses to start with one
    assert env["REELSTACK_VISIBILITY_TIMEOUT_SECONDS"] == str(
        int(_graph("aws:sqs/queue:Queue", "transcoder-tasks")["visibilityTimeoutSeconds"])
    )
    backend = local_resources.env_for("backend", database_url="sqlite://")
    assert backend["REELSTACK_JWKS_URL"].startswith(
        local_resources.endpoint_url
    )  # the emulator serves the keys
    assert backend["REELSTACK_JWT_ISSUER"] == local_resources.jwt_issuer
    assert backend["REELSTACK_DATABASE_SECRET_ARN"] == ""  # no RDS-managed secret locally


def test_only_cognito_statements_name_every_resource_for_the_emulator() -> None:
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["cognito-idp:AdminDisableUser"], "Resource": ["arn:pool"]},
                {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]},
            ],
        }
    )
    statements = json.loads(emulator_policy(document))["Statement"]
    assert [s["Resource"] for s in statements] == [["*"], ["arn:aws:s3:::b/*"]]
