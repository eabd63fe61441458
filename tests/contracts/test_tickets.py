import time
import uuid

import jwt
import pytest

from app.contracts import tickets

KEY = b"k" * 48


def test_events_ticket_round_trip_carries_user_and_snapshot() -> None:
    video = uuid.uuid4()
    ticket = tickets.issue_events_ticket(
        KEY,
        user_id="u1",
        video_id=video,
        snapshot={"state": "queued", "percent": 0, "sequence": 0},
        ttl_seconds=60,
    )
    claims = tickets.verify_events_ticket(KEY, ticket, video)
    assert claims.user_id == "u1"
    assert claims.snapshot["state"] == "queued"


@pytest.mark.parametrize("problem", ["other_video", "forged", "expired", "media_grant"])
def test_events_ticket_is_refused_when_wrong(problem: str) -> None:
    video = uuid.uuid4()
    ticket = tickets.issue_events_ticket(KEY, user_id="u", video_id=video, snapshot={}, ttl_seconds=60)
    if problem == "other_video":
        video = uuid.uuid4()
    elif problem == "forged":
        ticket = tickets.issue_events_ticket(
            b"x" * 48, user_id="u", video_id=video, snapshot={}, ttl_seconds=60
        )
    elif problem == "expired":
        ticket = jwt.encode(
            {"aud": "reelstack-events", "vid": str(video), "exp": int(time.time()) - 5},
            KEY,
            algorithm="HS256",
        )
    else:
        ticket = tickets.issue_media_grant(KEY, video_id=video, ttl_seconds=60)
    with pytest.raises(tickets.TicketError):
        tickets.verify_events_ticket(KEY, ticket, video)


def test_media_grant_is_bound_to_its_video() -> None:
    video = uuid.uuid4()
    grant = tickets.issue_media_grant(KEY, video_id=video, ttl_seconds=60)
    tickets.verify_media_grant(KEY, grant, video)
    with pytest.raises(tickets.TicketError):
        tickets.verify_media_grant(KEY, grant, uuid.uuid4())


def test_a_media_grant_is_issued_to_the_millisecond() -> None:
    """Two grants in one second must be told apart from an epoch taken between them: RFC 7519
    section 2 lets a NumericDate be non-integer (https://www.rfc-editor.org/rfc/rfc7519#section-2)."""
    before = time.time_ns() // 1_000_000
    grant = tickets.issue_media_grant(KEY, video_id=uuid.uuid4(), ttl_seconds=60)
    after = time.time_ns() // 1_000_000
    issued_ms = round(jwt.decode(grant, options={"verify_signature": False})["iat"] * 1000)
    assert before <= issued_ms <= after


@pytest.mark.parametrize(("offset_ms", "cut"), [(1, True), (0, True), (-1, False)])
def test_a_grant_at_or_before_its_videos_revocation_epoch_is_refused(offset_ms: int, cut: bool) -> None:
    video = uuid.uuid4()
    grant = tickets.issue_media_grant(KEY, video_id=video, ttl_seconds=60)
    issued_ms = round(jwt.decode(grant, options={"verify_signature": False})["iat"] * 1000)
    epoch = issued_ms + offset_ms
    if cut:
        with pytest.raises(tickets.GrantRevoked):
            tickets.verify_media_grant(KEY, grant, video, revoked_before_ms=epoch)
    else:
        tickets.verify_media_grant(KEY, grant, video, revoked_before_ms=epoch)
    tickets.verify_media_grant(KEY, grant, video, revoked_before_ms=None)


def test_a_revocation_notice_names_its_video_and_epoch_and_nothing_else_passes_for_one() -> None:
    video = uuid.uuid4()
    notice = tickets.issue_revocation_notice(KEY, video_id=video, revoked_before_ms=123)
    assert tickets.verify_revocation_notice(KEY, notice) == (video, 123)
    for wrong in (
        tickets.issue_revocation_notice(b"x" * 48, video_id=video, revoked_before_ms=123),
        tickets.issue_media_grant(KEY, video_id=video, ttl_seconds=60),
    ):
        with pytest.raises(tickets.TicketError):
            tickets.verify_revocation_notice(KEY, wrong)
