from __future__ import annotations

import json
from typing import Any

from app.contracts.names import ResourceNames
from infra.users import COGNITO_ACTIONS, UserService, UserServiceArgs, users_policy
from pulumi_offline.synth import run_program
from tests.infra.graph import Graph

POOL = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc"
LOGS = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x"


def test_lambda_may_call_cognito_on_its_own_pool_only() -> None:
    policy = users_policy(POOL, LOGS)
    cognito = next(s for s in policy["Statement"] if s["Sid"] == "CognitoOnThisPool")
    assert cognito["Resource"] == [POOL]
    assert set(cognito["Action"]) == set(COGNITO_ACTIONS)
    assert not any(a.startswith("cognito-idp:Admin") for a in cognito["Action"])


def test_synthesized_lambda_policy_names_the_synthesized_pool(prod: Graph) -> None:
    policy = prod.role_policy("users-policy")
    pool_arn = next(s for s in policy["Statement"] if s["Sid"] == "CognitoOnThisPool")["Resource"]
    assert pool_arn == [f"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{prod.exports['user_pool_id']}"]


def test_pool_signs_up_by_email_with_a_strong_password_policy(prod: Graph) -> None:
    pool = prod.one("aws:cognito/userPool:UserPool", "users-pool")
    assert pool.inputs["name"] == "reelstack-prod-users"
    assert pool.inputs["usernameAttributes"] == ["email"]
    assert pool.inputs["autoVerifiedAttributes"] == ["email"]
    policy = pool.inputs["passwordPolicy"]
    assert policy["minimumLength"] >= 12 and policy["requireNumbers"] and policy["requireUppercase"]


def test_prod_pool_is_protected_dev_pool_is_not(prod: Graph, dev: Graph) -> None:
    assert prod.one("aws:cognito/userPool:UserPool", "users-pool").protect is True
    assert prod.one("aws:cognito/userPool:UserPool", "users-pool").inputs["deletionProtection"] == "ACTIVE"
    assert dev.one("aws:cognito/userPool:UserPool", "users-pool").protect is False


def test_client_is_public_and_uses_password_and_refresh_flows(prod: Graph) -> None:
    client = prod.one("aws:cognito/userPoolClient:UserPoolClient", "users-client").inputs
    assert client["generateSecret"] is False
    assert set(client["explicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert client["name"] == "reelstack-prod-web"


def test_lambda_has_a_timeout_and_a_log_group_with_retention(prod: Graph, dev: Graph) -> None:
    fn = prod.one("aws:lambda/function:Function", "users-fn").inputs
    assert 0 < fn["timeout"] <= 29
    assert fn["loggingConfig"]["logGroup"] == "/aws/lambda/reelstack-prod-users"
    assert prod.one("aws:cloudwatch/logGroup:LogGroup", "users-logs").inputs["retentionInDays"] == 90
    assert dev.one("aws:cloudwatch/logGroup:LogGroup", "users-logs").inputs["retentionInDays"] == 7


def test_lambda_role_trusts_only_lambda(prod: Graph) -> None:
    trust = json.loads(prod.one("aws:iam/role:Role", "users-role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_user_service_outputs_pool_and_client(prod: Graph) -> None:
    outputs = prod.outputs_of(prod.one("reelstack:index:UserService", "users"))
    assert outputs["user_pool_id"] == prod.exports["user_pool_id"]
    assert outputs["user_pool_client_id"] == prod.exports["user_pool_client_id"]
    assert outputs["jwks_url"] == outputs["jwt_issuer"] + "/.well-known/jwks.json"


def test_function_loads_its_dependencies_from_the_layer_the_stack_publishes(prod: Graph) -> None:
    function = prod.one("aws:lambda/function:Function", "users-fn").inputs
    layer = prod.one("aws:lambda/layerVersion:LayerVersion", "users-deps").inputs
    assert function["layers"] == ["arn:aws:lambda:us-east-1:123456789012:users-deps"]
    assert layer["compatibleRuntimes"] == [function["runtime"]]
    assert layer["compatibleArchitectures"] == function["architectures"]
    assert layer["code"]["path"].endswith("/dist/users-layer.zip")  # images/users-layer.sh writes it


def _pool_inputs(args: UserServiceArgs) -> dict[str, Any]:
    graph = Graph.of(run_program(lambda: UserService("users", args)))
    return graph.one("aws:cognito/userPool:UserPool", "users-pool").inputs


def test_pool_sends_codes_through_ses_when_given_an_identity() -> None:
    identity = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
    names = ResourceNames("reelstack-test")
    with_ses = _pool_inputs(
        UserServiceArgs(names=names, email_source_arn=identity, email_from="no-reply@example.com")
    )
    assert with_ses["emailConfiguration"] == {
        "emailSendingAccount": "DEVELOPER",
        "sourceArn": identity,
        "fromEmailAddress": "no-reply@example.com",
    }
    default = _pool_inputs(UserServiceArgs(names=names))
    assert default["emailConfiguration"] == {"emailSendingAccount": "COGNITO_DEFAULT"}
