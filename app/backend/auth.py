"""Cognito access-token verification against the user pool's JWKS (PyJWT, keys cached)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from app.contracts.errors import ApiError
from app.contracts.roles import GROUPS_CLAIM, Role, roles_of
from app.contracts.signouts import SignOuts, SignOutsUnavailable

_JWKS_CACHE_SECONDS = 3600


@dataclass(frozen=True)
class Identity:
    sub: str
    email: str
    issued_at: int
    """The token's ``iat``: an events ticket carries it, so progress can refuse it after a sign-out."""
    roles: frozenset[Role] = frozenset()
    """The roles of the token's ``cognito:groups`` claim, implied ones included."""


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


class TokenVerifier:
    """Verifies signature (RS256), issuer, client id, ``token_use == access``, expiry, and that
    the user has not signed out since the token was issued."""

    def __init__(self, *, jwks_url: str, issuer: str, client_id: str, signouts: SignOuts) -> None:
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=_JWKS_CACHE_SECONDS)
        self._issuer = issuer
        self._client_id = client_id
        self._signouts = signouts

    def verify(self, token: str) -> Identity:
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise ApiError(
                503, "auth_unavailable", "the user pool's signing keys cannot be fetched"
            ) from None
        except (jwt.PyJWKClientError, jwt.DecodeError):
            raise _unauthorized("the access token is malformed or signed by an unknown key") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=self._issuer,
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("the access token has expired") from None
        except jwt.PyJWTError:
            raise _unauthorized("the access token is not valid") from None
        # Access tokens carry the app client in `client_id` (id tokens carry it in `aud`).
        if claims["token_use"] != "access":  # noqa: S105 - a claim value, not a password
            raise _unauthorized("an access token is required")
        if claims.get("client_id") != self._client_id:
            raise _unauthorized("the access token was issued to another client")
        sub, issued_at = str(claims["sub"]), int(claims["iat"])
        try:
            signed_out = self._signouts.signed_out(sub, issued_at)
        except SignOutsUnavailable:
            raise ApiError(
                503, "auth_unavailable", "sign-outs cannot be checked; try again shortly"
            ) from None
        if signed_out:
            raise _unauthorized("the session has been signed out; log in again")
        # Cognito access tokens carry no email; the user's first request looks it up (context.py).
        return Identity(
            sub=sub,
            email=str(claims.get("email", "")),
            issued_at=issued_at,
            roles=roles_of(claims.get(GROUPS_CLAIM)),
        )


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None when absent; 401 when malformed."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("use `Authorization: Bearer <access token>`")
    return token.strip()
