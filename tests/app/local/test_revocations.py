"""The local gateway as the media edge's store: the backend cuts a video's grants through it."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from app.backend.revocations import GatewayRevocations, RevocationFailed, now_ms
from app.contracts.tickets import MEDIA_GRANT_MAX_SECONDS, issue_media_grant, issue_revocation_notice
from app.local.gateway import Gateway, RevocationEpochs
from app.local.moto_server import free_port
from app.local.provision import LocalResources, client


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The gateway on a real port, as the backend reaches it on the platform."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


def _playlist(local_resources: LocalResources) -> tuple[uuid.UUID, str]:
    video_id = uuid.uuid4()
    key = f"videos/{video_id}/{uuid.uuid4()}/master.m3u8"
    client("s3", local_resources.endpoint_url).put_object(
        Bucket=local_resources.media_bucket, Key=key, Body=b"#EXTM3U"
    )
    return video_id, key


def test_a_grant_issued_before_the_backend_revokes_its_video_is_refused_at_once(
    http: FlaskClient, gateway: Gateway, local_resources: LocalResources, served: str
) -> None:
    video_id, key = _playlist(local_resources)
    grant = issue_media_grant(gateway.ticket_key, video_id=video_id, ttl_seconds=600)
    assert http.get(f"/media/g/{grant}/{key}").status_code == 200

    GatewayRevocations(f"{served}/_local/revocations", gateway.ticket_key).revoke(video_id, now_ms())

    refused = http.get(f"/media/g/{grant}/{key}")
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "forbidden")
    time.sleep(0.002)
    newer = issue_media_grant(gateway.ticket_key, video_id=video_id, ttl_seconds=600)
    assert http.get(f"/media/g/{newer}/{key}").status_code == 200  # the owner, asking again
    other_id, other_key = _playlist(local_resources)
    other = issue_media_grant(gateway.ticket_key, video_id=other_id, ttl_seconds=600)
    assert http.get(f"/media/g/{other}/{other_key}").status_code == 200


def test_only_the_backend_can_cut_grants(
    http: FlaskClient, gateway: Gateway, local_resources: LocalResources
) -> None:
    """The store takes notices signed with the ticket key: a stranger on the gateway's port cannot
    silence someone else's video."""
    video_id, key = _playlist(local_resources)
    grant = issue_media_grant(gateway.ticket_key, video_id=video_id, ttl_seconds=600)
    forged = issue_revocation_notice(b"x" * 48, video_id=video_id, revoked_before_ms=now_ms() + 10**9)
    grant_as_notice = issue_media_grant(gateway.ticket_key, video_id=video_id, ttl_seconds=600)

    for body in (forged, grant_as_notice, "", "not-a-notice"):
        answer = http.post("/_local/revocations", data=body, content_type="application/jwt")
        assert (answer.status_code, answer.get_json()["error"]["code"]) == (403, "forbidden")

    assert gateway.revocations.epochs == {}
    assert http.get(f"/media/g/{grant}/{key}").status_code == 200


def test_the_backend_is_told_when_the_gateway_does_not_take_the_notice(gateway: Gateway) -> None:
    with pytest.raises(RevocationFailed):
        GatewayRevocations(f"http://127.0.0.1:{free_port()}/_local/revocations", gateway.ticket_key).revoke(
            uuid.uuid4(), now_ms()
        )


def test_epochs_older_than_the_longest_grant_are_dropped_and_a_later_epoch_wins() -> None:
    epochs = RevocationEpochs()
    old, kept = uuid.uuid4(), uuid.uuid4()
    epochs.record(old, now_ms() - MEDIA_GRANT_MAX_SECONDS * 1000 - 1000)
    epochs.record(kept, 2_000_000_000_000)
    epochs.record(kept, 1_000_000_000_000)  # a delayed, older notice does not reopen the window
    assert epochs.revoked_before(old) is None
    assert epochs.revoked_before(kept) == 2_000_000_000_000
