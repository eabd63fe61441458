"""Per-user quotas from the stack's config: videos created per day (429) and bytes of sources kept (413)."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from app.backend import AwsClients, create_app
from app.backend.models import Video, utcnow
from app.local.provision import LocalResources
from tests.app.backend.conftest import Caller, RecordedRevocations, backend_settings, drain, put_source, s3


def _client(
    resources: LocalResources, database_url: str, engine: Engine, aws: AwsClients, **quotas: str
) -> FlaskClient:
    settings = backend_settings(resources, database_url, **quotas)
    return create_app(settings, aws=aws, engine=engine, revocations=RecordedRevocations()).test_client()


def _create(http: FlaskClient, caller: Caller) -> tuple[int, dict[str, object], dict[str, str]]:
    response = http.post("/api/videos", json={"title": "clip"}, headers=caller.headers)
    return response.status_code, response.json or {}, dict(response.headers)


def test_videos_past_the_daily_quota_answer_429_with_retry_after_until_the_oldest_ages_out(
    local_resources: LocalResources,
    database_url: str,
    engine: Engine,
    aws: AwsClients,
    alice: Caller,
    bob: Caller,
) -> None:
    http = _client(local_resources, database_url, engine, aws, videos_per_user_per_day="2")
    assert [_create(http, alice)[0] for _ in range(2)] == [201, 201]
    status, body, headers = _create(http, alice)
    assert status == 429
    assert body["error"]["code"] == "quota_videos_per_day"  # type: ignore[index]
    assert 86000 < int(headers["Retry-After"]) <= 86400
    assert _create(http, bob)[0] == 201  # a quota per user, not per stack

    # Once the older video is 23 h old, one more fits after its last hour; at 25 h, now.
    with Session(engine) as session:
        oldest = session.query(Video).filter(Video.owner_id == alice.sub).order_by(Video.created_at).first()
        assert oldest is not None
        session.execute(
            update(Video).where(Video.id == oldest.id).values(created_at=utcnow() - timedelta(hours=23))
        )
        session.commit()
        status, _, headers = _create(http, alice)
        assert status == 429 and 3500 < int(headers["Retry-After"]) <= 3600
        session.execute(
            update(Video).where(Video.id == oldest.id).values(created_at=utcnow() - timedelta(hours=25))
        )
        session.commit()
    assert _create(http, alice)[0] == 201


def test_an_upload_past_the_storage_quota_is_refused_413_deleted_and_left_uploading(
    local_resources: LocalResources,
    database_url: str,
    engine: Engine,
    aws: AwsClients,
    alice: Caller,
    sample_mp4: bytes,
) -> None:
    size = len(sample_mp4)
    http = _client(
        local_resources, database_url, engine, aws, stored_bytes_per_user=str(2 * size + size // 2)
    )
    ids = []
    for _ in range(3):
        _, body, _ = _create(http, alice)
        ids.append(str(body["id"]))
        put_source(local_resources, ids[-1], sample_mp4)
    assert [http.post(f"/api/videos/{i}/uploaded", headers=alice.headers).status_code for i in ids[:2]] == [
        202,
        202,
    ]

    refused = http.post(f"/api/videos/{ids[2]}/uploaded", headers=alice.headers)
    assert refused.status_code == 413
    assert refused.json["error"]["code"] == "quota_storage"
    assert f"take {2 * size} of your {2 * size + size // 2} bytes" in refused.json["error"]["message"]
    assert http.get(f"/api/videos/{ids[2]}", headers=alice.headers).json["status"] == "uploading"
    listing = s3(local_resources).list_objects_v2(Bucket=local_resources.uploads_bucket)
    assert not [o["Key"] for o in listing.get("Contents", []) if ids[2] in o["Key"]]
    assert len(drain(local_resources, local_resources.task_queue_url)) == 2

    # Deleting a video frees its bytes: the same file then fits.
    assert http.delete(f"/api/videos/{ids[0]}", headers=alice.headers).status_code == 204
    put_source(local_resources, ids[2], sample_mp4)
    assert http.post(f"/api/videos/{ids[2]}/uploaded", headers=alice.headers).status_code == 202


def test_both_quotas_are_documented_in_the_openapi_document(http: FlaskClient) -> None:
    paths = http.get("/api/openapi.json").json["paths"]
    assert "429" in paths["/api/videos"]["post"]["responses"]
    assert "413" in paths["/api/videos/{video_id}/uploaded"]["post"]["responses"]
    assert "quota_videos_per_day" in paths["/api/videos"]["post"]["description"]
    assert "quota_storage" in paths["/api/videos/{video_id}/uploaded"]["post"]["description"]
