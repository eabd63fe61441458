"""Roles (Cognito groups in the access token), reports, moderation, suspension and the audit log."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from app.admin_cli import find_user_pool, set_role
from app.backend import moderation
from app.contracts.roles import GROUPS_CLAIM, Role, roles_of
from app.contracts.signouts import RECHECK_SECONDS
from app.local.provision import LocalResources, client
from tests.app.backend.conftest import PASSWORD, Caller, Platform, RecordedRevocations, sign_up


def login(resources: LocalResources, email: str) -> Caller:
    cognito = client("cognito-idp", resources.endpoint_url)
    tokens = cognito.initiate_auth(
        ClientId=resources.user_pool_client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    sub = jwt.decode(tokens["AccessToken"], options={"verify_signature": False})["sub"]
    return Caller(sub=sub, email=email, access_token=tokens["AccessToken"], id_token=tokens["IdToken"])


def granted(resources: LocalResources, email: str, role: Role) -> Caller:
    """``email`` given ``role`` as ``reelstack admin grant`` does, then logged in again."""
    cognito = client("cognito-idp", resources.endpoint_url)
    set_role(cognito, find_user_pool(cognito, resources.names.user_pool), email, role, granted=True)
    return login(resources, email)


def refused_within(platform: Platform, caller: Caller, seconds: float) -> int:
    """The status ``/api/me`` answers ``caller`` once it stops being 200 or 403, within ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        status = platform.http.get("/api/me", headers=caller.headers).status_code
        if status not in (200, 403) or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


@pytest.fixture(scope="module")
def admin(backend_resources: LocalResources) -> Caller:
    sign_up(backend_resources, "admin@example.com")
    return granted(backend_resources, "admin@example.com", Role.ADMIN)


@pytest.fixture(scope="module")
def moderator(backend_resources: LocalResources) -> Caller:
    sign_up(backend_resources, "moderator@example.com")
    return granted(backend_resources, "moderator@example.com", Role.MODERATOR)


def test_an_admin_implies_a_moderator_and_other_groups_grant_nothing() -> None:
    assert roles_of(["admin"]) == {Role.ADMIN, Role.MODERATOR}
    assert roles_of(["moderator", "friends"]) == {Role.MODERATOR}
    assert roles_of("admin") == roles_of(None) == frozenset()


def test_the_cli_grant_reaches_the_access_tokens_groups_and_the_backend_verifies_it(
    platform: Platform, admin: Caller, moderator: Caller, alice: Caller
) -> None:
    """moto puts ``cognito:groups`` in access tokens, as Cognito does."""
    assert jwt.decode(admin.access_token, options={"verify_signature": False})[GROUPS_CLAIM] == ["admin"]
    assert platform.http.get("/api/me", headers=admin.headers).json["roles"] == ["admin", "moderator"]
    assert platform.http.get("/api/me", headers=moderator.headers).json["roles"] == ["moderator"]
    assert platform.http.get("/api/me", headers=alice.headers).json["roles"] == []


def test_moderation_and_administration_refuse_callers_without_the_role(
    platform: Platform, alice: Caller, moderator: Caller
) -> None:
    video_id = platform.ready(alice)
    reason = {"reason": "spam"}
    for caller, path, body in [
        (alice, f"/api/moderation/videos/{video_id}/hide", reason),
        (moderator, f"/api/admin/users/{alice.sub}/suspend", reason),
        (moderator, f"/api/admin/users/{moderator.sub}/roles", {"role": "admin", "reason": "me"}),
    ]:
        answer = platform.http.post(path, json=body, headers=caller.headers)
        assert answer.status_code == 403, (path, answer.json)
    assert platform.http.get("/api/moderation/reports", headers=alice.headers).status_code == 403
    assert platform.http.get("/api/admin/audit", headers=moderator.headers).status_code == 403
    assert platform.http.get("/api/moderation/reports").status_code == 401


def test_a_reported_video_hidden_by_a_moderator_vanishes_for_all_but_its_owner_until_restored(
    platform: Platform,
    alice: Caller,
    bob: Caller,
    moderator: Caller,
    revocations: RecordedRevocations,
) -> None:
    video_id = platform.ready(alice, title="needle in the feed")
    playlist = platform.http.post(
        "/api/playlists", json={"title": "mine", "visibility": "public"}, headers=bob.headers
    ).json["id"]
    platform.http.post(f"/api/playlists/{playlist}/items", json={"video_id": video_id}, headers=bob.headers)
    filed = platform.http.post(
        "/api/reports",
        json={"target_type": "video", "target_id": video_id, "reason": "spam"},
        headers=bob.headers,
    )
    assert filed.status_code == 201 and filed.json["status"] == "open"
    queue = platform.http.get("/api/moderation/reports", headers=moderator.headers).json["items"]
    assert [(r["target_id"], r["target"]["title"]) for r in queue] == [(video_id, "needle in the feed")]

    hidden = platform.http.post(
        f"/api/moderation/videos/{video_id}/hide",
        json={"reason": "spam, per report"},
        headers=moderator.headers,
    )
    assert hidden.status_code == 200 and hidden.json["resolved_reports"] == 1
    assert revocations.epochs[platform.row(video_id).id]  # the grants handed out are cut

    def everywhere(caller: Caller | None) -> list[object]:
        headers = caller.headers if caller else {}
        return [
            [v["id"] for v in platform.http.get("/api/videos", headers=headers).json["items"]],
            [v["id"] for v in platform.http.get("/api/videos?q=needle", headers=headers).json["items"]],
            [v["id"] for v in platform.http.get(f"/api/playlists/{playlist}", headers=headers).json["items"]],
            platform.http.get(f"/api/videos/{video_id}", headers=headers).status_code,
        ]

    assert everywhere(None) == everywhere(bob) == [[], [], [], 404]
    own = platform.http.get(f"/api/videos/{video_id}", headers=alice.headers).json
    assert own["hidden_reason"] == "spam, per report" and own["playback_url"]
    assert platform.http.get("/api/moderation/reports", headers=moderator.headers).json["items"] == []

    restored = platform.http.post(
        f"/api/moderation/videos/{video_id}/restore", json={"reason": "on appeal"}, headers=moderator.headers
    )
    assert restored.status_code == 200
    assert everywhere(bob) == [[video_id], [video_id], [video_id], 200]


def test_one_open_report_per_user_and_target_and_a_limit_per_hour(
    platform: Platform, alice: Caller, bob: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(moderation, "REPORTS_PER_HOUR", 2)
    first, second = platform.ready(alice), platform.ready(alice)
    body = {"target_type": "video", "target_id": first, "reason": "spam"}
    assert platform.http.post("/api/reports", json=body, headers=bob.headers).status_code == 201
    again = platform.http.post("/api/reports", json=body, headers=bob.headers)
    assert again.status_code == 409 and again.json["error"]["code"] == "already_reported"
    body["target_id"] = second
    assert platform.http.post("/api/reports", json=body, headers=bob.headers).status_code == 201
    comment = platform.http.post(f"/api/videos/{first}/comments", json={"body": "x"}, headers=alice.headers)
    limited = platform.http.post(
        "/api/reports",
        json={"target_type": "comment", "target_id": comment.json["id"], "reason": "rude"},
        headers=bob.headers,
    )
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    private = platform.ready(alice, visibility="private")
    body["target_id"] = private
    assert platform.http.post("/api/reports", json=body, headers=alice.headers).status_code == 201
    assert platform.http.post("/api/reports", json=body, headers=bob.headers).status_code == 404


def test_a_hidden_comment_shows_only_to_its_author_with_the_reason(
    platform: Platform, alice: Caller, bob: Caller, moderator: Caller
) -> None:
    video_id = platform.ready(alice)
    base = f"/api/videos/{video_id}/comments"
    comment = platform.http.post(base, json={"body": "rude words"}, headers=bob.headers).json["id"]
    answer = platform.http.post(
        f"/api/moderation/comments/{comment}/hide", json={"reason": "abusive"}, headers=moderator.headers
    )
    assert answer.status_code == 200
    assert platform.http.get(base).json["items"] == []
    assert platform.http.get(base, headers=alice.headers).json["items"] == []
    (own,) = platform.http.get(base, headers=bob.headers).json["items"]
    assert own["hidden_reason"] == "abusive"


def test_an_admin_grants_and_revokes_roles_and_a_revoked_token_stops_working(
    platform: Platform, backend_resources: LocalResources, admin: Caller
) -> None:
    carol = sign_up(backend_resources, f"carol-{uuid.uuid4().hex[:8]}@example.com")
    platform.http.get("/api/me", headers=carol.headers)  # her row, made on her first request
    found = platform.http.get(f"/api/admin/users?email={carol.email.upper()}", headers=admin.headers)
    assert found.status_code == 200 and found.json["id"] == carol.sub
    grant = platform.http.post(
        f"/api/admin/users/{carol.sub}/roles",
        json={"role": "moderator", "reason": "new hire"},
        headers=admin.headers,
    )
    assert grant.status_code == 200
    carol = login(backend_resources, carol.email)
    assert platform.http.get("/api/moderation/reports", headers=carol.headers).status_code == 200
    revoke = platform.http.post(
        f"/api/admin/users/{carol.sub}/roles/moderator/revoke", json={"reason": "left"}, headers=admin.headers
    )
    assert revoke.status_code == 200
    # The sign-out reaches each process within RECHECK_SECONDS (app/contracts/signouts.py).
    assert refused_within(platform, carol, RECHECK_SECONDS + 1) == 401
    audit = platform.http.get("/api/admin/audit", headers=admin.headers).json["items"]
    assert [(e["action"], e["actor_id"], e["reason"]) for e in audit[:2]] == [
        ("revoke_role", admin.sub, "moderator: left"),
        ("grant_role", admin.sub, "moderator: new hire"),
    ]


def test_a_suspended_user_is_signed_out_refused_sign_in_and_their_content_hidden(
    platform: Platform,
    backend_resources: LocalResources,
    admin: Caller,
    bob: Caller,
    revocations: RecordedRevocations,
) -> None:
    dan = sign_up(backend_resources, f"dan-{uuid.uuid4().hex[:8]}@example.com")
    video_id = platform.ready(dan)
    platform.http.post(f"/api/videos/{video_id}/comments", json={"body": "hi"}, headers=dan.headers)
    suspended = platform.http.post(
        f"/api/admin/users/{dan.sub}/suspend", json={"reason": "repeated spam"}, headers=admin.headers
    )
    assert suspended.status_code == 200 and suspended.json["suspended_reason"] == "repeated spam"
    # At once by the suspension itself, then by the sign-out (app/contracts/signouts.py).
    assert platform.http.get("/api/me", headers=dan.headers).status_code in (401, 403)
    assert refused_within(platform, dan, RECHECK_SECONDS + 1) == 401
    cognito = client("cognito-idp", backend_resources.endpoint_url)
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        login(backend_resources, dan.email)
    assert platform.http.get(f"/api/videos/{video_id}", headers=bob.headers).status_code == 404
    assert platform.http.get("/api/videos", headers=bob.headers).json["items"] == []
    assert revocations.epochs[platform.row(video_id).id]
    self_suspend = platform.http.post(
        f"/api/admin/users/{admin.sub}/suspend", json={"reason": "oops"}, headers=admin.headers
    )
    assert self_suspend.status_code == 409

    lifted = platform.http.post(
        f"/api/admin/users/{dan.sub}/unsuspend", json={"reason": "appeal granted"}, headers=admin.headers
    )
    assert lifted.status_code == 200 and lifted.json["suspended_at"] is None
    assert login(backend_resources, dan.email).access_token
    assert platform.http.get(f"/api/videos/{video_id}", headers=bob.headers).status_code == 200
    actions = [
        e["action"] for e in platform.http.get("/api/admin/audit", headers=admin.headers).json["items"]
    ]
    assert actions[:2] == ["unsuspend", "suspend"]
