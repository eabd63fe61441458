from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pulumi
import pytest

from app.contracts.names import ResourceNames
from infra.users import UserService, UserServiceArgs, user_pool_arn
from pulumi_offline.graph import Graph, as_list, statements_allowing
from pulumi_offline.synth import run_program

REPO = Path(__file__).resolve().parents[2]
HANDLER = REPO / "app" / "users" / "handler.py"
# The handler's Cognito calls (boto3 method -> operation) that IAM does not authorize. Public
# operations need no authorization at all, token-authorized ones (GetUser, GlobalSignOut) the
# user's access token; for both Cognito evaluates no IAM policy, so a grant of them is dead weight.
OPERATIONS_WITHOUT_IAM = {
    "sign_up": "SignUp",
    "confirm_sign_up": "ConfirmSignUp",
    "resend_confirmation_code": "ResendConfirmationCode",
    "initiate_auth": "InitiateAuth",
    "forgot_password": "ForgotPassword",
    "confirm_forgot_password": "ConfirmForgotPassword",
    "get_user": "GetUser",
    "global_sign_out": "GlobalSignOut",
}
SIGNOUT_TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/reelstack-prod-signouts"


def _cognito_methods_the_handler_uses() -> set[str]:
    tree = ast.parse(HANDLER.read_text())
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "cognito"
    }


def test_lambda_role_grants_no_cognito_action_because_the_handler_calls_none_iam_authorizes(
    dev: Graph,
) -> None:
    """AWS rule: Cognito user pool operations come in three authorization models, IAM-authorized,
    public and token-authorized; "with public (unauthenticated) authentication requests, no
    authorization is required", and for token-authorized ones such as GlobalSignOut "Amazon Cognito
    doesn't evaluate IAM policies in requests for this API operation ... you can't grant IAM
    permissions in policies". Sources: "Authorization models for API and SDK authentication",
    https://docs.aws.amazon.com/cognito/latest/developerguide/user-pools-API-operations.html, and
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GlobalSignOut.html.
    A new call outside that list (an ``admin_*`` one) fails here until it is granted. The dev
    stack names no first admin, so its Lambda makes no IAM-authorized call at all (the one it
    may make, with ``firstAdminEmail``, is the next test's)."""
    used = _cognito_methods_the_handler_uses()
    assert used, "found no Cognito calls in the handler"
    assert used <= OPERATIONS_WITHOUT_IAM.keys(), (
        f"IAM-authorized calls need a grant: {used - OPERATIONS_WITHOUT_IAM.keys()}"
    )
    policy = dev.role_policy("users-policy")
    actions = {a for s in statements_allowing(policy) for a in as_list(s["Action"])}
    assert not {a for a in actions if a.startswith("cognito")}
    log_group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/reelstack-dev-users"
    grants = {
        (a, r)
        for s in statements_allowing(policy)
        for a in as_list(s["Action"])
        for r in as_list(s["Resource"])
    }
    assert grants == {
        ("logs:CreateLogStream", log_group),
        ("logs:CreateLogStream", f"{log_group}:*"),
        ("logs:PutLogEvents", log_group),
        ("logs:PutLogEvents", f"{log_group}:*"),
        ("dynamodb:PutItem", SIGNOUT_TABLE_ARN.replace("-prod-", "-dev-")),
    }


def test_a_first_admin_in_stack_config_reaches_the_lambda_with_the_one_grant_it_needs(
    prod: Graph, dev: Graph
) -> None:
    """``firstAdminEmail`` (prod sets an example) becomes the Lambda's REELSTACK_FIRST_ADMIN_EMAIL,
    and its role may then call AdminAddUserToGroup on its own pool only: an IAM-authorized
    operation ("you must use IAM credentials to authorize requests, and you must grant yourself
    the corresponding IAM permission", on the user pool resource,
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminAddUserToGroup.html,
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncognitouserpools.html).
    Without the key (dev), neither the variable nor the grant."""

    def environment(graph: Graph) -> dict[str, str]:
        return dict(graph.one("aws:lambda/function:Function", "users-fn").inputs["environment"]["variables"])

    def cognito_grants(graph: Graph) -> set[tuple[str, str]]:
        return {
            (a, r)
            for s in statements_allowing(graph.role_policy("users-policy"))
            for a in as_list(s["Action"])
            for r in as_list(s["Resource"])
            if a.startswith("cognito-idp:")
        }

    pool_id = environment(prod)["REELSTACK_USER_POOL_ID"]
    assert environment(prod)["REELSTACK_FIRST_ADMIN_EMAIL"] == "admin@example.com"
    assert cognito_grants(prod) == {
        ("cognito-idp:AdminAddUserToGroup", user_pool_arn("us-east-1", "123456789012", pool_id))
    }
    assert "REELSTACK_FIRST_ADMIN_EMAIL" not in environment(dev)
    assert cognito_grants(dev) == set()


def _function_code(graph: Graph) -> dict[str, str]:
    """The synthesized function's code archive: path in the zip -> file on disk."""
    code = graph.one("aws:lambda/function:Function", "users-fn").inputs["code"]
    return {name: asset["path"] for name, asset in code["assets"].items()}


def test_function_code_is_the_handler_and_the_app_modules_it_imports(prod: Graph) -> None:
    code = _function_code(prod)
    assert sorted(code) == [
        "app/__init__.py",
        "app/contracts/__init__.py",
        "app/contracts/bounded_json.py",
        "app/contracts/errors.py",
        "app/contracts/logs.py",
        "app/contracts/metrics.py",
        "app/contracts/roles.py",
        "app/contracts/settings.py",
        "app/contracts/signout_records.py",
        "app/contracts/signouts.py",
        "app/metrics.py",
        "app/users/__init__.py",
        "app/users/handler.py",
    ]
    assert all(Path(path) == REPO / name for name, path in code.items())


def test_function_archive_is_small_and_imports_the_handler_on_its_own(prod: Graph, tmp_path: Path) -> None:
    """The zip holds no web app, node_modules or other services, stays far below Lambda's 50 MB
    direct-upload limit (a few dozen KiB), and the handler imports from it alone (third-party
    packages from the environment, as the layer supplies them on Lambda)."""
    archive = tmp_path / "users.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, path in sorted(_function_code(prod).items()):
            zf.write(path, name)
    assert archive.stat().st_size < 64 * 1024
    unpacked = tmp_path / "code"
    zipfile.ZipFile(archive).extractall(unpacked)
    where = subprocess.run(
        [sys.executable, "-c", "import app.users.handler as h; print(h.__file__)"],
        env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where) == unpacked / "app" / "users" / "handler.py"


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


def test_pool_compares_user_names_case_insensitively(prod: Graph, dev: Graph) -> None:
    """With ``alice@example.com`` registered, ``ALICE@example.com`` signed up as a second account.

    AWS: UsernameConfigurationType.CaseSensitive -- "true ... This is the default value"; for
    most use cases set it to False as a best practice (Cognito API reference,
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UsernameConfigurationType.html);
    the setting is fixed when the pool is created, so it must be right before the first deploy.
    """
    for graph in (prod, dev):
        pool = graph.one("aws:cognito/userPool:UserPool", "users-pool")
        assert pool.inputs["usernameConfiguration"] == {"caseSensitive": False}


def test_the_signout_table_is_on_demand_encrypted_expiring_and_keyed_by_user(prod: Graph, dev: Graph) -> None:
    """DynamoDB TTL deletes an item once the epoch-seconds Number in its TTL attribute has passed,
    in the background, typically within a few days
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html): the
    readers' own expiry check (app/contracts/signouts.py) covers the wait."""
    for graph in (prod, dev):
        table = graph.one("aws:dynamodb/table:Table", "users-signouts")
        inputs = table.inputs
        assert inputs["name"] == ("reelstack-prod-signouts" if graph is prod else "reelstack-dev-signouts")
        assert inputs["billingMode"] == "PAY_PER_REQUEST"
        assert (inputs["hashKey"], inputs["attributes"]) == ("sub", [{"name": "sub", "type": "S"}])
        assert inputs["ttl"] == {"attributeName": "expires_at", "enabled": True}
        assert inputs["serverSideEncryption"] == {"enabled": True}
        assert set(inputs["tags"]) >= {"service", "stack", "owner"}
        assert graph.component_of(table) == graph.one("reelstack:index:UserService", "users")


def test_the_prod_signout_table_is_protected_and_recoverable_dev_is_not(prod: Graph, dev: Graph) -> None:
    table = prod.one("aws:dynamodb/table:Table", "users-signouts")
    assert table.protect is True
    assert table.inputs["deletionProtectionEnabled"] is True
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    table = dev.one("aws:dynamodb/table:Table", "users-signouts")
    assert table.protect is False
    assert table.inputs["pointInTimeRecovery"] == {"enabled": False}


@pytest.mark.parametrize("service", ["backend", "progress"])
def test_the_readers_may_get_one_item_of_the_signout_table_and_the_backend_put_one(
    prod: Graph, service: str
) -> None:
    """Least privilege: GetItem on the table's ARN (resource type ``table``,
    arn:aws:dynamodb:<region>:<account>:table/<name>, per the Service Authorization Reference,
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html)."""
    policy = prod.role_policy(f"{service}-policy")
    on_dynamodb = [
        (a, r)
        for s in statements_allowing(policy)
        for a in as_list(s["Action"])
        for r in as_list(s["Resource"])
        if a.startswith("dynamodb:") or ":dynamodb:" in r
    ]
    # The backend also records a sign-out when an admin suspends a user or takes a role away.
    writes = [("dynamodb:PutItem", SIGNOUT_TABLE_ARN)] if service == "backend" else []
    assert on_dynamodb == [("dynamodb:GetItem", SIGNOUT_TABLE_ARN), *writes]


def test_a_brought_user_pool_is_served_and_no_pool_is_made() -> None:
    """With ``user_pool_id`` the component makes no pool: it adds its client to the one given, and
    its function, issuer and outputs name that pool."""
    existing = "eu-west-1_Existing1"
    outputs: dict[str, Any] = {}

    def program() -> None:
        users = UserService("users", UserServiceArgs(names=ResourceNames("lab-test"), user_pool_id=existing))
        assert users.user_pool is None
        pulumi.Output.all(
            pool_id=users.user_pool_id, pool_arn=users.user_pool_arn, issuer=users.jwt_issuer
        ).apply(outputs.update)

    graph = Graph.of(run_program(program))
    assert graph.of_type("aws:cognito/userPool:UserPool") == []
    assert (
        graph.one("aws:cognito/userPoolClient:UserPoolClient", "users-client").inputs["userPoolId"]
        == existing
    )
    env = graph.one("aws:lambda/function:Function", "users-fn").inputs["environment"]["variables"]
    assert env["REELSTACK_USER_POOL_ID"] == existing
    assert outputs == {
        "pool_id": existing,
        "pool_arn": f"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{existing}",
        "issuer": f"https://cognito-idp.us-east-1.amazonaws.com/{existing}",
    }


def test_user_pool_arn_is_built_as_aws_writes_it() -> None:
    """AWS: a user pool ARN is ``arn:<partition>:cognito-idp:<region>:<12-digit account>:userpool/
    <region>_<id>`` (pattern of CognitoUserPoolConfiguration.UserPoolArn,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-verifiedpermissions-identitysource-cognitouserpoolconfiguration.html)."""
    arn = user_pool_arn("us-east-1", "123456789012", "us-east-1_1a2b3c4d5")
    assert arn == "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_1a2b3c4d5"
    assert re.fullmatch(
        r"arn:[a-zA-Z0-9-]+:cognito-idp:(([a-zA-Z0-9-]+:\d{12}:userpool/[\w-]+_[0-9a-zA-Z]+))", arn
    )


def test_the_pool_has_one_group_per_role_parented_to_the_component(prod: Graph) -> None:
    """Roles are Cognito groups: Cognito names a user's groups in the ``cognito:groups`` claim of
    the access token (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html)."""
    groups = [r for r in prod.resources if r.type == "aws:cognito/userGroup:UserGroup"]
    component = next(r for r in prod.resources if r.type == "reelstack:index:UserService")
    assert sorted(g.inputs["name"] for g in groups) == ["admin", "moderator"]
    assert {g.parent for g in groups} == {component.urn}
    assert {int(g.inputs["precedence"]) for g in groups} == {0, 1}
