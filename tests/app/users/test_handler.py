from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from botocore.stub import Stubber

from app.contracts.settings import UserServiceSettings
from app.local.provision import LocalResources, client
from app.users import handler as users_handler
from app.users.handler import create_resolver
from tests.app.users.conftest import Invoke, rest_event
from tests.support.emf import metric_lines

PASSWORD = "Sup3rSecret!"


def new_email() -> str:
    return f"u{uuid.uuid4().hex[:10]}@example.com"


def confirmed_user(invoke: Invoke) -> str:
    email = new_email()
    assert invoke("/auth/signup", {"email": email, "password": PASSWORD})[0] == 201
    assert invoke("/auth/confirm", {"email": email, "code": "123456"})[0] == 200
    return email


def test_signup_answers_201_with_an_unconfirmed_user(invoke: Invoke) -> None:
    status, body = invoke("/auth/signup", {"email": new_email(), "password": PASSWORD})
    assert status == 201
    assert body["confirmed"] is False
    assert uuid.UUID(body["user_sub"])


def test_signup_twice_with_one_email_is_a_409_user_exists(invoke: Invoke) -> None:
    email = new_email()
    invoke("/auth/signup", {"email": email, "password": PASSWORD})
    status, body = invoke("/auth/signup", {"email": email, "password": PASSWORD})
    assert (status, body["error"]["code"]) == (409, "user_exists")


def test_weak_password_is_a_400_weak_password(invoke: Invoke) -> None:
    status, body = invoke("/auth/signup", {"email": new_email(), "password": "short"})
    assert (status, body["error"]["code"]) == (400, "weak_password")


def test_login_before_confirmation_is_a_403_user_not_confirmed(invoke: Invoke) -> None:
    email = new_email()
    invoke("/auth/signup", {"email": email, "password": PASSWORD})
    status, body = invoke("/auth/login", {"email": email, "password": PASSWORD})
    assert (status, body["error"]["code"]) == (403, "user_not_confirmed")


def test_login_after_confirmation_returns_the_pool_tokens(
    invoke: Invoke, local_resources: LocalResources
) -> None:
    email = confirmed_user(invoke)
    status, body = invoke("/auth/login", {"email": email, "password": PASSWORD})
    assert status == 200
    assert set(body) == {"access_token", "id_token", "refresh_token", "expires_in"}
    access = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert access["token_use"] == "access"
    assert access["client_id"] == local_resources.user_pool_client_id
    identity = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert identity["email"] == email


def test_login_of_a_suspended_user_is_a_403_account_suspended_not_wrong_credentials(
    invoke: Invoke, cognito: Any, local_resources: LocalResources
) -> None:
    """An admin's suspension disables the user at the pool (AdminDisableUser: "A deactivated user
    can't sign in", https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminDisableUser.html);
    Cognito then answers InitiateAuth with NotAuthorizedException "User is disabled."
    (https://github.com/aws-amplify/amplify-js/issues/5503, https://github.com/getmoto/moto/issues/6552),
    the code of a wrong password: the message tells them apart, and the user is told why."""
    email = confirmed_user(invoke)
    cognito.admin_disable_user(UserPoolId=local_resources.user_pool_id, Username=email)
    status, body = invoke("/auth/login", {"email": email, "password": PASSWORD})
    assert (status, body["error"]["code"]) == (403, "account_suspended")
    assert "suspended" in body["error"]["message"]
    cognito.admin_enable_user(UserPoolId=local_resources.user_pool_id, Username=email)
    assert invoke("/auth/login", {"email": email, "password": PASSWORD})[0] == 200


def test_the_configured_first_admin_becomes_admin_when_their_sign_up_is_confirmed_and_no_one_else(
    local_resources: LocalResources, cognito: Any, dynamodb: Any
) -> None:
    """``firstAdminEmail``: the account of that address joins the admin group at its confirmation
    (Cognito confirms only with the code mailed to the address), so its tokens carry the role;
    signing up alone gives nothing, and another address confirmed alike gets nothing."""
    first_admin, other = new_email(), new_email()
    settings = UserServiceSettings(
        user_pool_id=local_resources.user_pool_id,
        user_pool_client_id=local_resources.user_pool_client_id,
        signout_table=local_resources.names.signout_table,
        first_admin_email=first_admin.upper(),  # addresses compare lower-case
    )
    resolver = create_resolver(settings, cognito, dynamodb)

    def post(path: str, body: dict[str, str]) -> tuple[int, dict[str, Any]]:
        result = resolver.resolve(rest_event("POST", path, json.dumps(body)), None)
        return result["statusCode"], json.loads(result["body"])

    def groups(email: str) -> list[str]:
        listed = cognito.admin_list_groups_for_user(UserPoolId=local_resources.user_pool_id, Username=email)
        return [g["GroupName"] for g in listed["Groups"]]

    for email in (first_admin, other):
        assert post("/auth/signup", {"email": email, "password": PASSWORD})[0] == 201
    assert groups(first_admin) == []
    for email in (first_admin, other):
        assert post("/auth/confirm", {"email": email, "code": "123456"})[0] == 200
    assert groups(first_admin) == ["admin"]
    assert groups(other) == []
    status, tokens = post("/auth/login", {"email": first_admin, "password": PASSWORD})
    assert status == 200
    access = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert access["cognito:groups"] == ["admin"]


def test_wrong_password_and_unknown_user_get_the_same_401(invoke: Invoke) -> None:
    email = confirmed_user(invoke)
    wrong = invoke("/auth/login", {"email": email, "password": "Wr0ngPassword"})
    unknown = invoke("/auth/login", {"email": new_email(), "password": PASSWORD})
    assert wrong == unknown
    assert wrong[0] == 401
    assert wrong[1]["error"]["code"] == "invalid_credentials"


def test_refresh_returns_a_new_access_token(invoke: Invoke) -> None:
    email = confirmed_user(invoke)
    tokens = invoke("/auth/login", {"email": email, "password": PASSWORD})[1]
    status, body = invoke("/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert status == 200
    assert body["access_token"]
    assert body["expires_in"] > 0


def test_logout_revokes_the_access_and_refresh_tokens(invoke: Invoke, cognito: Any) -> None:
    email = confirmed_user(invoke)
    tokens = invoke("/auth/login", {"email": email, "password": PASSWORD})[1]
    assert cognito.get_user(AccessToken=tokens["access_token"])["Username"]
    status, _ = invoke("/auth/logout", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert status == 200
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        cognito.get_user(AccessToken=tokens["access_token"])
    status, body = invoke("/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert (status, body["error"]["code"]) == (401, "invalid_credentials")


def test_logout_records_the_sign_out_until_the_last_token_issued_before_it_expires(
    invoke: Invoke, dynamodb: Any, local_resources: LocalResources
) -> None:
    """GlobalSignOut alone leaves access tokens valid for a JWT-verifying API ("Other requests
    might be valid until your user's token expires",
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GlobalSignOut.html):
    the sign-out is recorded for the backend and progress to check."""
    email = confirmed_user(invoke)
    tokens = invoke("/auth/login", {"email": email, "password": PASSWORD})[1]
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    before = int(time.time())
    assert invoke("/auth/logout", headers={"Authorization": f"Bearer {tokens['access_token']}"})[0] == 200
    item = dynamodb.get_item(
        TableName=local_resources.names.signout_table, Key={"sub": {"S": claims["sub"]}}, ConsistentRead=True
    )["Item"]
    signed_out_at, expires_at = int(item["signed_out_at"]["N"]), int(item["expires_at"]["N"])
    assert before <= signed_out_at <= int(time.time())
    assert expires_at == signed_out_at + claims["exp"] - claims["iat"]


def test_a_login_right_after_logout_is_not_caught_by_the_sign_out(
    invoke: Invoke, dynamodb: Any, local_resources: LocalResources
) -> None:
    """Tokens carry whole seconds (``iat``): a token of the sign-out's second counts as before it,
    so logout answers only once that second is over."""
    email = confirmed_user(invoke)
    tokens = invoke("/auth/login", {"email": email, "password": PASSWORD})[1]
    assert invoke("/auth/logout", headers={"Authorization": f"Bearer {tokens['access_token']}"})[0] == 200
    again = invoke("/auth/login", {"email": email, "password": PASSWORD})[1]
    claims = jwt.decode(again["access_token"], options={"verify_signature": False})
    item = dynamodb.get_item(
        TableName=local_resources.names.signout_table, Key={"sub": {"S": claims["sub"]}}, ConsistentRead=True
    )["Item"]
    assert claims["iat"] > int(item["signed_out_at"]["N"])


def test_logout_with_a_token_cognito_refuses_records_nothing(
    invoke: Invoke, dynamodb: Any, local_resources: LocalResources
) -> None:
    email = confirmed_user(invoke)
    tokens = invoke("/auth/login", {"email": email, "password": PASSWORD})[1]
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    forged = jwt.encode(
        {**claims, "iat": claims["iat"] + 1}, "not the pool key, but long enough for HS256", algorithm="HS256"
    )
    status, body = invoke("/auth/logout", headers={"Authorization": f"Bearer {forged}"})
    assert (status, body["error"]["code"]) == (401, "invalid_credentials")
    found = dynamodb.get_item(
        TableName=local_resources.names.signout_table, Key={"sub": {"S": claims["sub"]}}, ConsistentRead=True
    )
    assert "Item" not in found


def test_logout_without_a_bearer_token_is_a_401(invoke: Invoke) -> None:
    status, body = invoke("/auth/logout", headers={"Authorization": "Basic abc"})
    assert (status, body["error"]["code"]) == (401, "missing_token")


def test_forgot_then_reset_sets_a_new_password(invoke: Invoke) -> None:
    email = confirmed_user(invoke)
    assert invoke("/auth/forgot", {"email": email}) == (200, {"sent": True})
    # moto accepts any code without its own prefix (LOCAL-AWS.md); the gateway's outbox checks codes.
    status, _ = invoke("/auth/reset", {"email": email, "code": "654321", "password": "N3wPassword!"})
    assert status == 200
    assert invoke("/auth/login", {"email": email, "password": "N3wPassword!"})[0] == 200
    assert invoke("/auth/login", {"email": email, "password": PASSWORD})[0] == 401


def test_reset_with_a_code_cognito_calls_expired_is_a_400_code_expired(invoke: Invoke) -> None:
    email = confirmed_user(invoke)
    invoke("/auth/forgot", {"email": email})
    status, body = invoke(
        "/auth/reset",
        {"email": email, "code": "moto-confirmation-code:000000", "password": "N3wPassword!"},
    )
    # moto answers a stale code of its own form with ExpiredCodeException.
    assert (status, body["error"]["code"]) == (400, "code_expired")


def test_forgot_for_an_unknown_address_answers_as_for_a_known_one(invoke: Invoke) -> None:
    assert invoke("/auth/forgot", {"email": new_email()}) == (200, {"sent": True})


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ("{not json", 400, "malformed_json"),
        ("", 400, "malformed_json"),
        # Well-formed JSON that breaks the schema: 422, as the backend answers it.
        ("[1, 2]", 422, "validation_error"),
        ('{"email": "a@example.com"}', 422, "validation_error"),
        ('{"email": "not-an-email", "password": "Sup3rSecret!"}', 422, "validation_error"),
        ('{"email": "a@example.com", "password": 12345678}', 422, "validation_error"),
        ('{"email": ["a@example.com"], "password": "Sup3rSecret!"}', 422, "validation_error"),
    ],
)
def test_bad_signup_bodies_are_a_4xx_in_the_shared_shape(
    invoke: Invoke, raw: str, status: int, code: str
) -> None:
    answered, body = invoke("/auth/signup", raw=raw)
    assert answered == status
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_validation_errors_name_the_field(invoke: Invoke) -> None:
    _, body = invoke("/auth/confirm", {"email": "a@example.com", "code": 123456})
    assert [d["field"] for d in body["error"]["details"]] == ["code"]


def test_a_base64_encoded_body_is_decoded(
    local_resources: LocalResources, cognito: Any, dynamodb: Any
) -> None:
    settings = UserServiceSettings(
        user_pool_id=local_resources.user_pool_id,
        user_pool_client_id=local_resources.user_pool_client_id,
        signout_table=local_resources.names.signout_table,
    )
    body = json.dumps({"email": new_email(), "password": PASSWORD})
    event = rest_event("POST", "/auth/signup", body, base64_body=True)
    assert create_resolver(settings, cognito, dynamodb).resolve(event, None)["statusCode"] == 201


@pytest.mark.parametrize("encoded", [base64.b64encode(b"\xff\xfe{").decode(), "not base64!"])
def test_a_base64_body_that_is_not_utf8_json_is_a_400_malformed_json(
    local_resources: LocalResources, cognito: Any, dynamodb: Any, encoded: str
) -> None:
    settings = UserServiceSettings(
        user_pool_id=local_resources.user_pool_id,
        user_pool_client_id=local_resources.user_pool_client_id,
        signout_table=local_resources.names.signout_table,
    )
    event = {**rest_event("POST", "/auth/signup", "", base64_body=True), "body": encoded}
    result = create_resolver(settings, cognito, dynamodb).resolve(event, None)
    assert (result["statusCode"], json.loads(result["body"])["error"]["code"]) == (400, "malformed_json")


def test_an_unknown_route_is_a_404_in_the_shared_shape(invoke: Invoke) -> None:
    status, body = invoke("/auth/nope", {})
    assert (status, body["error"]["code"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("operation", "path", "payload", "cognito_code", "status", "code"),
    [
        ("confirm_sign_up", "/auth/confirm", {"code": "1"}, "ExpiredCodeException", 400, "code_expired"),
        ("confirm_sign_up", "/auth/confirm", {"code": "1"}, "CodeMismatchException", 400, "code_mismatch"),
        ("confirm_sign_up", "/auth/confirm", {"code": "1"}, "UserNotFoundException", 400, "code_mismatch"),
        ("initiate_auth", "/auth/login", {"password": "x"}, "TooManyRequestsException", 429, "throttled"),
        ("initiate_auth", "/auth/login", {"password": "x"}, "LimitExceededException", 429, "throttled"),
        ("resend_confirmation_code", "/auth/resend", {}, "LimitExceededException", 429, "throttled"),
        ("resend_confirmation_code", "/auth/resend", {}, "InvalidParameterException", 400, "invalid_request"),
        ("forgot_password", "/auth/forgot", {}, "InternalErrorException", 503, "auth_unavailable"),
    ],
)
def test_cognito_errors_moto_cannot_produce_are_mapped(
    operation: str, path: str, payload: dict[str, str], cognito_code: str, status: int, code: str
) -> None:
    cognito, dynamodb = client("cognito-idp", "http://127.0.0.1:9"), client("dynamodb", "http://127.0.0.1:9")
    settings = UserServiceSettings(
        user_pool_id="us-east-1_x", user_pool_client_id="client", signout_table="t"
    )
    resolver = create_resolver(settings, cognito, dynamodb)
    with Stubber(cognito) as stubber:
        stubber.add_client_error(operation, service_error_code=cognito_code, http_status_code=400)
        event = rest_event("POST", path, json.dumps({"email": "a@example.com", **payload}))
        result = resolver.resolve(event, None)
        stubber.assert_no_pending_responses()
    assert result["statusCode"] == status
    assert json.loads(result["body"])["error"]["code"] == code


def test_resend_for_an_unknown_address_answers_as_for_a_known_one() -> None:
    cognito, dynamodb = client("cognito-idp", "http://127.0.0.1:9"), client("dynamodb", "http://127.0.0.1:9")
    settings = UserServiceSettings(
        user_pool_id="us-east-1_x", user_pool_client_id="client", signout_table="t"
    )
    with Stubber(cognito) as stubber:
        stubber.add_client_error("resend_confirmation_code", service_error_code="UserNotFoundException")
        event = rest_event("POST", "/auth/resend", json.dumps({"email": "nobody@example.com"}))
        result = create_resolver(settings, cognito, dynamodb).resolve(event, None)
    assert (result["statusCode"], json.loads(result["body"])) == (200, {"sent": True})


def test_the_lambda_entry_point_reads_its_settings_from_the_environment(
    local_resources: LocalResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in local_resources.env_for("users").items():
        monkeypatch.setenv(key, value)
    users_handler.resolver.cache_clear()
    try:
        body = json.dumps({"email": new_email(), "password": PASSWORD})
        result = users_handler.handler(rest_event("POST", "/auth/signup", body), None)
    finally:
        users_handler.resolver.cache_clear()
    assert result["statusCode"] == 201


def test_a_deeply_nested_body_is_a_400_malformed_json_not_a_lambda_error(invoke: Invoke) -> None:
    """A few thousand brackets made Python's json parser raise RecursionError: on AWS, a 502."""
    answered, body = invoke("/auth/signup", raw='{"email": ' + "[" * 5000 + "]" * 5000 + "}")
    assert (answered, body["error"]["code"]) == (400, "malformed_json")


def test_an_email_in_other_case_is_the_same_account(invoke: Invoke) -> None:
    """Cognito in the emulator compares user names case-sensitively, as AWS does by default."""
    email = confirmed_user(invoke)
    shouted = email.upper()
    status, body = invoke("/auth/signup", {"email": shouted, "password": PASSWORD})
    assert (status, body["error"]["code"]) == (409, "user_exists")
    status, _ = invoke("/auth/login", {"email": shouted, "password": PASSWORD})
    assert status == 200


def test_the_entry_point_counts_each_request_per_route_and_unknown_paths_as_one_route(
    local_resources: LocalResources, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in local_resources.env_for("users").items():
        monkeypatch.setenv(key, value)
    users_handler.resolver.cache_clear()
    try:
        users_handler.handler(rest_event("POST", "/auth/signup", json.dumps({"email": "x"})), None)
        users_handler.handler(rest_event("POST", f"/auth/{uuid.uuid4()}", "{}"), None)
    finally:
        users_handler.resolver.cache_clear()

    signup, unknown = metric_lines(capsys.readouterr().out, "users")
    assert (signup.dimensions["route"], signup.values["Errors4xx"], signup.values["Errors5xx"]) == (
        "POST /auth/signup",
        [1],
        [0],
    )
    assert signup.units["Latency"] == "Milliseconds" and signup.values["Requests"] == [1]
    assert unknown.dimensions["route"] == "POST unmatched"
