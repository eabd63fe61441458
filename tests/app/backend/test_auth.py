"""JWT verification with real moto Cognito tokens: only a valid access token of our client gets in."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient
from moto.utilities.utils import load_resource
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.backend.models import User
from app.contracts.signout_records import record_sign_out
from app.contracts.signouts import RECHECK_SECONDS
from app.local.provision import LocalResources, client
from tests.app.backend.conftest import Caller, Platform, sign_up


def _moto_signing_key() -> Any:
    """moto signs every pool's tokens with this fixed key: tokens made with it pass the signature check."""
    return jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json")).key


def _claims(caller: Caller) -> dict[str, Any]:
    return jwt.decode(caller.access_token, options={"verify_signature": False})


def _token(claims: dict[str, Any], key: Any) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})


def _get_me(http: FlaskClient, token: str) -> Any:
    return http.get("/api/me", headers={"Authorization": f"Bearer {token}"})


def test_a_real_access_token_is_accepted_and_upserts_the_user_once(platform: Platform, alice: Caller) -> None:
    first = _get_me(platform.http, alice.access_token)
    second = _get_me(platform.http, alice.access_token)
    assert first.status_code == second.status_code == 200
    assert (first.json["id"], first.json["email"]) == (alice.sub, alice.email)
    with Session(platform.engine) as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.id == alice.sub)) == 1


def test_an_email_that_could_not_be_read_at_first_is_read_on_a_later_request(
    platform: Platform, alice: Caller
) -> None:
    with Session(platform.engine) as session:
        session.add(User(id=alice.sub, email=""))  # as when Cognito's GetUser failed on the first request
        session.commit()

    assert _get_me(platform.http, alice.access_token).json["email"] == alice.email
    with Session(platform.engine) as session:
        user = session.get(User, alice.sub)
        assert user is not None and user.email == alice.email


def test_a_token_re_signed_with_the_pool_key_is_accepted(http: FlaskClient, alice: Caller) -> None:
    # Guards the cases below: they differ from an accepted token only in what they test.
    assert _get_me(http, _token(_claims(alice), _moto_signing_key())).status_code == 200


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "not-bearer",
        "garbage",
        "forged",
        "expired",
        "wrong-client",
        "wrong-issuer",
        "id-token",
        "alg-none",
    ],
)
def test_bad_tokens_get_401_with_the_error_shape(
    http: FlaskClient, alice: Caller, local_resources: LocalResources, case: str
) -> None:
    claims = _claims(alice)
    pool_key = _moto_signing_key()
    headers: dict[str, str]
    if case == "missing":
        headers = {}
    elif case == "not-bearer":
        headers = {"Authorization": f"Basic {alice.access_token}"}
    elif case == "garbage":
        headers = {"Authorization": "Bearer not.a.jwt"}
    else:
        token = {
            "forged": lambda: _token(claims, rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            "expired": lambda: _token(
                {**claims, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 60}, pool_key
            ),
            "wrong-client": lambda: _token({**claims, "client_id": "someone-else"}, pool_key),
            "wrong-issuer": lambda: _token(
                {**claims, "iss": "https://cognito-idp.us-east-1.amazonaws.com/other"}, pool_key
            ),
            "id-token": lambda: alice.id_token,
            "alg-none": lambda: jwt.encode(claims, None, algorithm="none", headers={"kid": "dummy"}),
        }[case]()
        headers = {"Authorization": f"Bearer {token}"}

    response = http.get("/api/me", headers=headers)

    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.json["error"]["message"]


def test_a_bad_token_on_an_optional_auth_route_is_still_refused(http: FlaskClient) -> None:
    response = http.get("/api/videos", headers={"Authorization": "Bearer not.a.jwt"})
    assert response.status_code == 401


def test_writes_need_a_token(http: FlaskClient) -> None:
    response = http.post("/api/videos", json={"title": "x"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_a_token_issued_before_its_user_signed_out_is_refused_everywhere_a_token_counts(
    http: FlaskClient, local_resources: LocalResources
) -> None:
    """Cognito's GlobalSignOut leaves access tokens valid for JWT verification ("Other requests
    might be valid until your user's token expires",
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GlobalSignOut.html):
    the backend refuses tokens issued at or before the recorded sign-out, on reads, writes and
    ticket requests alike, and lets in one issued after it."""
    carol = sign_up(local_resources, f"carol-{uuid.uuid4().hex[:8]}@example.com")
    claims = _claims(carol)
    assert _get_me(http, carol.access_token).status_code == 200
    record_sign_out(
        client("dynamodb", local_resources.endpoint_url),
        local_resources.names.signout_table,
        sub=carol.sub,
        signed_out_at=claims["iat"],
        expires_at=claims["exp"],
    )
    time.sleep(RECHECK_SECONDS)  # the stated revocation latency of a process that asked before

    video = uuid.uuid4()
    for response in (
        _get_me(http, carol.access_token),
        http.post("/api/videos", json={"title": "x"}, headers=carol.headers),
        http.get("/api/videos", headers=carol.headers),
        http.post(f"/api/videos/{video}/events-ticket", headers=carol.headers),
    ):
        assert response.status_code == 401, response.json
        assert response.json["error"]["code"] == "unauthorized"
        assert "signed out" in response.json["error"]["message"]
    later = _token({**claims, "iat": claims["iat"] + 1}, _moto_signing_key())
    assert _get_me(http, later).status_code == 200


def test_an_events_ticket_carries_the_iat_of_the_token_it_was_issued_for(
    platform: Platform, alice: Caller
) -> None:
    video_id = platform.create(alice, visibility="public")
    answer = platform.http.post(f"/api/videos/{video_id}/events-ticket", headers=alice.headers)
    ticket = jwt.decode(answer.json["ticket"], options={"verify_signature": False})
    assert ticket["tiat"] == _claims(alice)["iat"]
    anonymous = platform.http.post(f"/api/videos/{video_id}/events-ticket")
    assert "tiat" not in jwt.decode(anonymous.json["ticket"], options={"verify_signature": False})
