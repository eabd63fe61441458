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
