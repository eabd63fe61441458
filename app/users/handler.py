"""The user service: a Lambda behind API Gateway (REST proxy integration) over a Cognito user pool.

Routes ``POST /auth/{signup,confirm,resend,login,refresh,logout,forgot,reset}``. Bodies are
validated with pydantic; every Cognito error becomes a specific 4xx in the shared error shape.
The Cognito client and the settings are created once per Lambda container (cold start).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, TypeVar

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from botocore.exceptions import ClientError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from app import metrics
from app.contracts import bounded_json, logs
from app.contracts.errors import ApiError, error_body
from app.contracts.roles import Role
from app.contracts.settings import UserServiceSettings, load
from app.contracts.signout_records import record_sign_out

log = logging.getLogger(__name__)

# A pragmatic shape check; Cognito remains the authority on what an address may be.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

# One person, one account: addresses are compared and stored lower-case whatever the pool does.
Email = Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=254), AfterValidator(str.lower)]
Password = Field(min_length=1, max_length=256)
Code = Field(min_length=1, max_length=64, pattern=r"^\S+$")
Token = Field(min_length=1, max_length=8192)


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, str_strip_whitespace=True)


class Credentials(_Body):
    email: Email
    password: str = Password


class EmailOnly(_Body):
    email: Email


class Confirmation(_Body):
    email: Email
    code: str = Code


class PasswordReset(_Body):
    email: Email
    code: str = Code
    password: str = Password


class Refresh(_Body):
    refresh_token: str = Token


# Cognito error code -> (HTTP status, our error code, message for the client).
_THROTTLED = (429, "throttled", "too many requests; try again later")
COGNITO_ERRORS: dict[str, tuple[int, str, str]] = {
    "UsernameExistsException": (409, "user_exists", "an account with this email already exists"),
    "AliasExistsException": (409, "user_exists", "an account with this email already exists"),
    "CodeMismatchException": (400, "code_mismatch", "the code is not valid"),
    "ExpiredCodeException": (400, "code_expired", "the code has expired; ask for a new one"),
    "NotAuthorizedException": (401, "invalid_credentials", "wrong email, password or token"),
    "UserNotFoundException": (401, "invalid_credentials", "wrong email, password or token"),
    "InvalidPasswordException": (400, "weak_password", "the password does not meet the policy"),
    "UserNotConfirmedException": (403, "user_not_confirmed", "confirm the account with the emailed code"),
    "PasswordResetRequiredException": (403, "password_reset_required", "reset the password first"),
    "InvalidParameterException": (400, "invalid_request", "the request is not valid for this account"),
    "TooManyRequestsException": _THROTTLED,
    "LimitExceededException": _THROTTLED,
    "TooManyFailedAttemptsException": _THROTTLED,
    "CodeDeliveryFailureException": (400, "delivery_failed", "the code could not be delivered"),
}
# Outside login, an unknown user is answered as a wrong code would be, so the API does not
# reveal which addresses have accounts (as Cognito's PreventUserExistenceErrors does).
_UNKNOWN_USER_AS_CODE_MISMATCH = COGNITO_ERRORS["CodeMismatchException"]
# Cognito refuses a disabled user (an admin's suspension, AdminDisableUser) with the same
# NotAuthorizedException as a wrong password, told apart only by its message "User is disabled.".
_DISABLED_USER_MESSAGE = "user is disabled"
_SUSPENDED = (
    403,
    "account_suspended",
    "your account is suspended; an administrator suspended it, and only one can lift the suspension",
)

ModelT = TypeVar("ModelT", bound=_Body)


def _json_response(status: int, body: dict[str, Any] | None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body if body is not None else {}),
    )


def _cognito_error(exc: ClientError, unknown_user: tuple[int, str, str] | None = None) -> ApiError:
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    mapped = unknown_user if code == "UserNotFoundException" and unknown_user else COGNITO_ERRORS.get(code)
    if code == "NotAuthorizedException" and is_disabled_user_message(error.get("Message", "")):
        mapped = _SUSPENDED
    if mapped is None:
        log.error("unmapped Cognito error %s: %s", code, exc)
        return ApiError(503, "auth_unavailable", "the account service is unavailable; try again later")
    status, error_code, message = mapped
    return ApiError(status, error_code, message)


def is_disabled_user_message(message: str) -> bool:
    """Whether a NotAuthorizedException's message is Cognito's answer to a disabled user."""
    return message.strip().rstrip(".").lower() == _DISABLED_USER_MESSAGE


def _claims_of_accepted_token(token: str) -> dict[str, Any]:
    """The claims of an access token Cognito has just accepted (so it is Cognito's own, unexpired)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return {"sub": str(claims["sub"]), "iat": int(claims["iat"]), "exp": int(claims["exp"])}
    except (IndexError, KeyError, TypeError, ValueError, binascii.Error):
        raise ApiError(401, "invalid_credentials", "the access token is malformed") from None


def grant_first_admin(cognito_admin: Any, user_pool_id: str, email: str) -> None:
    """Put the stack's configured first admin in the admin group, once their sign-up is confirmed.

    Only a confirmation proves the address: Cognito confirms a sign-up only with the code it
    mailed there, the user name is the address (immutable), and an account confirms once. So no
    one gets the role by signing up with an address they cannot read, nor by changing their email
    later. A failure leaves the account confirmed without the role, for ``reelstack admin grant``.
    """
    try:
        cognito_admin.admin_add_user_to_group(
            UserPoolId=user_pool_id, Username=email, GroupName=Role.ADMIN.value
        )
    except ClientError as exc:
        log.error("could not make the first admin an admin (run `reelstack admin grant`): %s", exc)
        return
    log.info("the first admin's sign-up is confirmed: they are in the admin group")


def create_resolver(settings: UserServiceSettings, cognito: Any, dynamodb: Any) -> APIGatewayRestResolver:
    """The routes of the user service, bound to one pool's app client, a Cognito client, and the
    DynamoDB client that records sign-outs."""
    app = APIGatewayRestResolver()
    client_id = settings.user_pool_client_id

    def body(model: type[ModelT]) -> ModelT:
        raw: str | bytes = app.current_event.body or ""
        try:
            # Decoded here, not with powertools' decoded_body: that assumes UTF-8 and raises otherwise.
            if app.current_event.is_base64_encoded:
                raw = base64.b64decode(raw)
            data = bounded_json.loads(raw)
        except bounded_json.TooDeep as exc:
            raise ApiError(400, "malformed_json", str(exc)) from None
        except ValueError:
            raise ApiError(400, "malformed_json", "the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(422, "validation_error", "the request body must be a JSON object")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            details = [
                {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()
            ]
            raise ApiError(422, "validation_error", "the request body is not valid", details) from None

    def call(
        operation: Callable[..., dict[str, Any]],
        unknown_user: tuple[int, str, str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        try:
            return operation(**kwargs)
        except ClientError as exc:
            raise _cognito_error(exc, unknown_user) from None

    def tokens(result: dict[str, Any]) -> dict[str, Any]:
        if "AuthenticationResult" not in result:
            # A challenge (e.g. NEW_PASSWORD_REQUIRED) that this API does not drive.
            raise ApiError(403, "challenge_required", f"Cognito asks for {result.get('ChallengeName')}")
        auth = result["AuthenticationResult"]
        answer = {
            "access_token": auth["AccessToken"],
            "id_token": auth["IdToken"],
            "expires_in": auth["ExpiresIn"],
        }
        if "RefreshToken" in auth:
            answer["refresh_token"] = auth["RefreshToken"]
        return answer

    @app.post("/auth/signup")
    def signup() -> Response[str]:
        req = body(Credentials)
        result = call(
            cognito.sign_up,
            ClientId=client_id,
            Username=req.email,
            Password=req.password,
            UserAttributes=[{"Name": "email", "Value": req.email}],
        )
        return _json_response(
            201, {"user_sub": result["UserSub"], "confirmed": bool(result.get("UserConfirmed"))}
        )

    @app.post("/auth/confirm")
    def confirm() -> Response[str]:
        req = body(Confirmation)
        call(
            cognito.confirm_sign_up,
            _UNKNOWN_USER_AS_CODE_MISMATCH,
            ClientId=client_id,
            Username=req.email,
            ConfirmationCode=req.code,
        )
        if settings.first_admin_email and req.email == settings.first_admin_email:
            grant_first_admin(cognito, settings.user_pool_id, req.email)
        return _json_response(200, {"confirmed": True})

    def send_code(operation: Callable[..., dict[str, Any]]) -> Response[str]:
        req = body(EmailOnly)
        try:
            operation(ClientId=client_id, Username=req.email)
        except ClientError as exc:
            # An unknown address gets the same answer as a known one: no account enumeration.
            if exc.response.get("Error", {}).get("Code") != "UserNotFoundException":
                raise _cognito_error(exc) from None
        return _json_response(200, {"sent": True})

    @app.post("/auth/resend")
    def resend() -> Response[str]:
        return send_code(cognito.resend_confirmation_code)

    @app.post("/auth/login")
    def login() -> Response[str]:
        req = body(Credentials)
        result = call(
            cognito.initiate_auth,
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": req.email, "PASSWORD": req.password},
        )
        return _json_response(200, tokens(result))

    @app.post("/auth/refresh")
    def refresh() -> Response[str]:
        req = body(Refresh)
        result = call(
            cognito.initiate_auth,
            ClientId=client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": req.refresh_token},
        )
        return _json_response(200, tokens(result))

    @app.post("/auth/logout")
    def logout() -> Response[str]:
        """Signs the user out everywhere: Cognito stops refreshing any of their sessions, and the
        sign-out is recorded so /api and /events refuse every access token issued before it
        (app/contracts/signouts.py)."""
        scheme, _, raw = (app.current_event.headers.get("authorization") or "").partition(" ")
        token = raw.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "missing_token", "send the access token as `Authorization: Bearer <token>`")
        # Cognito checks the token first: nothing is recorded for a forged or revoked one.
        call(cognito.get_user, AccessToken=token)
        claims = _claims_of_accepted_token(token)
        now = int(time.time())
        try:
            # Every token of the user issued until now expires within one token lifetime.
            record_sign_out(
                dynamodb,
                settings.signout_table,
                sub=claims["sub"],
                signed_out_at=now,
                expires_at=now + claims["exp"] - claims["iat"],
            )
        except ClientError as exc:
            log.error("could not record the sign-out: %s", exc)
            raise ApiError(503, "auth_unavailable", "the sign-out could not be recorded; try again") from None
        call(cognito.global_sign_out, AccessToken=token)
        # Token times are whole seconds: answer once this second is over, so a login after the
        # answer is never taken for one before the sign-out.
        time.sleep(max(0.0, now + 1 - time.time()))
        return _json_response(200, {"signed_out": True})

    @app.post("/auth/forgot")
    def forgot() -> Response[str]:
        return send_code(cognito.forgot_password)

    @app.post("/auth/reset")
    def reset() -> Response[str]:
        req = body(PasswordReset)
        call(
            cognito.confirm_forgot_password,
            _UNKNOWN_USER_AS_CODE_MISMATCH,
            ClientId=client_id,
            Username=req.email,
            ConfirmationCode=req.code,
            Password=req.password,
        )
        return _json_response(200, {"reset": True})

    @app.exception_handler(ApiError)
    def api_error(exc: ApiError) -> Response[str]:
        return _json_response(exc.status, exc.body())

    @app.not_found
    def not_found(_: Exception) -> Response[str]:
        return _json_response(404, error_body("not_found", "no such auth route"))

    return app


@cache
def resolver() -> APIGatewayRestResolver:
    """The routes the Lambda entry point serves, built on the first call (the cold start)."""
    settings = load(UserServiceSettings)
    logs.configure("users", settings.log_level)
    return create_resolver(settings, boto3.client("cognito-idp"), boto3.client("dynamodb"))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (``app.users.handler.handler``); each request counted per route
    (``app.metrics``), a 404 (no such auth route) as ``unmatched`` so unknown paths add no metric."""
    started = time.perf_counter()
    response: dict[str, Any] = resolver().resolve(event, context)
    status = int(response["statusCode"])
    route = metrics.route_name(str(event.get("httpMethod", "")), None if status == 404 else event.get("path"))
    metrics.request("users", route, status, time.perf_counter() - started)
    return response
