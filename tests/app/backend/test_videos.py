"""Videos: visibility across users, the feed (cursor, search), owner-only changes, deletion, playback URLs, tickets."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from urllib.parse import parse_qs, urlparse

import boto3
import jwt
import pytest
from botocore.exceptions import ClientError
from flask import Flask
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from app.backend.api.render import media_grant_ttl
from app.backend.context import EXTENSION
from app.backend.media_grants import GRANT_WINDOW_SECONDS
from app.backend.status_consumer import record_event
from app.backend.videos import LikeCount, VideoStats, delete_versions, video_stats
from app.contracts.messages import PlayableOutputs, ProgressEventV1, VideoEventType, VideoState
from app.contracts.names import upload_key_prefix
from app.contracts.tickets import (
    MEDIA_GRANT_MAX_SECONDS,
    GrantRevoked,
    verify_events_ticket,
    verify_media_grant,
)
from app.local.provision import LocalResources, client
from infra.backend import backend_policy
from tests.app.backend.conftest import (
    Caller,
    Platform,
    RecordedRevocations,
    put_source,
    ready_event,
    s3,
    video_events_observer,
    video_events_received,
)
from tests.support.iam import iam_enforcement


@pytest.mark.parametrize(
    ("visibility", "bob_sees", "anonymous_sees", "in_feed"),
    [("public", True, True, True), ("unlisted", True, True, False), ("private", False, False, False)],
)
def test_visibility_rules_across_users(
    platform: Platform,
    alice: Caller,
    bob: Caller,
    visibility: str,
    bob_sees: bool,
    anonymous_sees: bool,
    in_feed: bool,
) -> None:
    video_id = platform.ready(alice, visibility=visibility)

    assert platform.http.get(f"/api/videos/{video_id}", headers=alice.headers).status_code == 200
    assert platform.http.get(f"/api/videos/{video_id}", headers=bob.headers).status_code == (
        200 if bob_sees else 404
    )
    assert platform.http.get(f"/api/videos/{video_id}").status_code == (200 if anonymous_sees else 404)
    feed_ids = [item["id"] for item in platform.http.get("/api/videos", headers=bob.headers).json["items"]]
    assert (video_id in feed_ids) is in_feed
    ticket = platform.http.post(f"/api/videos/{video_id}/events-ticket", headers=bob.headers)
    assert ticket.status_code == (200 if bob_sees else 404)
    if not bob_sees:
        assert ticket.json["error"]["code"] == "not_found"


def test_feed_holds_only_public_ready_videos_newest_first(
    platform: Platform, alice: Caller, bob: Caller
) -> None:
    older = platform.ready(alice, "older")
    platform.queue(alice, "still transcoding")
    platform.create(bob, "still uploading")
    newer = platform.ready(bob, "newer")

    items = platform.http.get("/api/videos").json["items"]

    assert [item["id"] for item in items] == [newer, older]
    assert all(item["status"] == "ready" for item in items)


def test_feed_pages_with_an_opaque_cursor_without_gaps_or_repeats(platform: Platform, alice: Caller) -> None:
    made = [platform.ready(alice, f"clip {i}") for i in range(5)]
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        page = platform.http.get("/api/videos", query_string={"limit": 2, "cursor": cursor}).json
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))


def test_search_matches_titles_and_treats_wildcards_literally(platform: Platform, alice: Caller) -> None:
    cats = platform.ready(alice, "Funny Cats")
    percent = platform.ready(alice, "100% real")
    underscore = platform.ready(alice, "snake_case tips")
    platform.ready(alice, "dogs")

    def search(q: str) -> list[str]:
        return [item["id"] for item in platform.http.get("/api/videos", query_string={"q": q}).json["items"]]

    assert search("cats") == [cats]
    assert search("%") == [percent]
    assert search("_") == [underscore]
    assert search("e_c") == [underscore]
    assert search("100%") == [percent]
    assert search("nothing like it") == []


def test_a_pages_likes_views_and_tags_are_read_in_one_query(
    platform: Platform, alice: Caller, bob: Caller, engine: Engine
) -> None:
    """A page's stats cost one round trip to the database (not one per kind), with the same values."""
    liked = platform.ready(alice, "liked", tags=["zebra", "b-side", "apple"])
    quiet = platform.ready(alice, "quiet")
    for caller in (alice, bob):
        assert platform.http.put(f"/api/videos/{liked}/like", headers=caller.headers).status_code == 200
    assert platform.http.post(f"/api/videos/{liked}/views", headers=bob.headers).status_code == 200
    statements: list[str] = []

    def capture(_conn: object, _cur: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    with Session(engine) as session:
        event.listen(engine, "before_cursor_execute", capture)
        try:
            stats = video_stats(session, [uuid.UUID(liked), uuid.UUID(quiet)], bob.sub)
            anonymous = video_stats(session, [uuid.UUID(liked)], None)
        finally:
            event.remove(engine, "before_cursor_execute", capture)

    assert len(statements) == 2, statements
    assert stats == {
        uuid.UUID(liked): VideoStats(LikeCount(2, True), 1, ["apple", "b-side", "zebra"]),
        uuid.UUID(quiet): VideoStats(LikeCount(0, False), 0, []),
    }
    assert anonymous == {uuid.UUID(liked): VideoStats(LikeCount(2, False), 1, ["apple", "b-side", "zebra"])}


def test_my_videos_lists_own_videos_in_every_state(platform: Platform, alice: Caller, bob: Caller) -> None:
    uploading = platform.create(alice, visibility="private")
    queued = platform.queue(alice)
    ready = platform.ready(alice)
    platform.ready(bob)

    page = platform.http.get("/api/me/videos", headers=alice.headers).json

    assert [item["id"] for item in page["items"]] == [ready, queued, uploading]
    assert [item["status"] for item in page["items"]] == ["ready", "queued", "uploading"]


def test_only_the_owner_changes_or_deletes_a_video(platform: Platform, alice: Caller, bob: Caller) -> None:
    video_id = platform.ready(alice, "mine")

    patched = platform.http.patch(f"/api/videos/{video_id}", json={"title": "hacked"}, headers=bob.headers)
    deleted = platform.http.delete(f"/api/videos/{video_id}", headers=bob.headers)

    assert patched.status_code == deleted.status_code == 403
    assert patched.json["error"]["code"] == "forbidden"
    row = platform.row(video_id)
    assert row is not None and row.title == "mine"


def test_owner_patches_title_description_and_visibility(
    platform: Platform, alice: Caller, bob: Caller
) -> None:
    video_id = platform.ready(alice, "draft")

    response = platform.http.patch(
        f"/api/videos/{video_id}",
        json={"title": "final", "description": "about it", "visibility": "private"},
        headers=alice.headers,
    )

    assert response.status_code == 200
    assert (response.json["title"], response.json["description"], response.json["visibility"]) == (
        "final",
        "about it",
        "private",
    )
    assert platform.http.get(f"/api/videos/{video_id}", headers=bob.headers).status_code == 404


def test_delete_removes_the_row_and_every_object_of_the_video(platform: Platform, alice: Caller) -> None:
    video_id = platform.ready(alice)
    other = platform.ready(alice)
    bucket = platform.resources
    client = s3(platform.resources)
    for vid in (video_id, other):
        client.put_object(
            Bucket=bucket.media_bucket, Key=f"videos/{vid}/{uuid.uuid4()}/master.m3u8", Body=b"#EXTM3U"
        )

    response = platform.http.delete(f"/api/videos/{video_id}", headers=alice.headers)

    assert response.status_code == 204
    assert platform.row(video_id) is None
    for bucket_name, prefix in ((bucket.uploads_bucket, ""), (bucket.media_bucket, "videos/")):
        keys = [
            o["Key"] for o in client.list_objects_v2(Bucket=bucket_name, Prefix=prefix).get("Contents", [])
        ]
        assert not [k for k in keys if video_id in k]
        assert [k for k in keys if other in k]
    assert platform.http.get(f"/api/videos/{video_id}", headers=alice.headers).status_code == 404


def test_a_deleted_video_is_announced_on_the_video_events_topic(platform: Platform, alice: Caller) -> None:
    observer = video_events_observer(platform.resources)
    video_id = platform.ready(alice)

    assert platform.http.delete(f"/api/videos/{video_id}", headers=alice.headers).status_code == 204

    [announced] = video_events_received(platform.resources, observer)
    assert (announced.type, str(announced.video_id), announced.owner_id) == (
        VideoEventType.DELETED,
        video_id,
        alice.sub,
    )


def test_a_deletion_stands_when_its_announcement_fails(
    platform: Platform, alice: Caller, app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    video_id = platform.ready(alice)

    class DownSns:
        def publish(self, **_: object) -> None:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "down"}}, "Publish")

    services = app.extensions[EXTENSION]
    app.extensions[EXTENSION] = dataclasses.replace(
        services, aws=dataclasses.replace(services.aws, sns=DownSns())
    )
    assert platform.http.delete(f"/api/videos/{video_id}", headers=alice.headers).status_code == 204
    assert platform.row(video_id) is None
    assert "could not announce the deletion" in caplog.text


def test_delete_removes_every_version_of_the_source_from_a_versioned_uploads_bucket(
    platform: Platform, alice: Caller
) -> None:
    """AWS rule: in a versioning-enabled bucket a DELETE without a version id only inserts a
    delete marker, the object stays as a noncurrent version; only a delete naming the version
    id removes it (S3 API Reference, DeleteObject,
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html, and "Deleting object
    versions from a versioning-enabled bucket",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html).
    Prod versions its uploads bucket (versionUploads), so the source would outlive its video
    for the retention period."""
    client = s3(platform.resources)
    bucket = platform.resources.uploads_bucket
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    try:
        video_id = platform.ready(alice)
        other = platform.ready(alice)
        put_source(platform.resources, video_id, platform.sample)  # a second version of the source
        client.delete_object(Bucket=bucket, Key=f"incoming/{video_id}/source")  # and a delete marker
        put_source(platform.resources, video_id, platform.sample)

        response = platform.http.delete(f"/api/videos/{video_id}", headers=alice.headers)

        assert response.status_code == 204
        listing = client.list_object_versions(Bucket=bucket)
        left = [v["Key"] for v in [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]]
        assert not [k for k in left if video_id in k]
        assert [k for k in left if other in k]
    finally:
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})


def test_the_backend_role_deletes_every_version_of_a_source_and_nothing_outside_uploads(
    local_resources: LocalResources, moto_endpoint: str
) -> None:
    """Under the emulator's IAM enforcement, an identity allowed exactly the backend's policy
    removes all versions and delete markers of a video's source, and may not delete a version
    outside ``uploads/`` (the grants are checked on the object, as AWS checks them)."""
    admin = s3(local_resources)
    bucket = f"{local_resources.names.prefix}-versioned"
    admin.create_bucket(Bucket=bucket)
    admin.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    video_id = uuid.uuid4()
    source = f"{upload_key_prefix(video_id)}source"
    for body in (b"first", b"second"):
        admin.put_object(Bucket=bucket, Key=source, Body=body)
    admin.delete_object(Bucket=bucket, Key=source)
    elsewhere = admin.put_object(Bucket=bucket, Key="elsewhere/x", Body=b"x")["VersionId"]
    policy = backend_policy(
        uploads_bucket_arn=f"arn:aws:s3:::{bucket}",
        media_bucket_arn=f"arn:aws:s3:::{local_resources.media_bucket}",
        task_queue_arn="arn:aws:sqs:us-east-1:123456789012:tasks",
        status_queue_arn="arn:aws:sqs:us-east-1:123456789012:status",
        webhook_queue_arn="arn:aws:sqs:us-east-1:123456789012:webhooks",
        secret_arns=["arn:aws:secretsmanager:us-east-1:123456789012:secret:ticket"],
        media_revocation_store_arn="arn:aws:cloudfront::123456789012:key-value-store/grants",
        signout_table_arn="arn:aws:dynamodb:us-east-1:123456789012:table/signouts",
        video_events_topic_arn="arn:aws:sns:us-east-1:123456789012:video-events",
        video_events_key_arn="arn:aws:kms:us-east-1:123456789012:key/video-events",
        user_pool_arn="arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_p",
    )
    iam = client("iam", local_resources.endpoint_url)
    user = f"backend-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="backend", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    as_backend = boto3.client(
        "s3",
        endpoint_url=local_resources.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )

    with iam_enforcement(moto_endpoint):
        delete_versions(as_backend, bucket, upload_key_prefix(video_id))
        with pytest.raises(ClientError) as refused:
            as_backend.delete_object(Bucket=bucket, Key="elsewhere/x", VersionId=elsewhere)

    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    listing = admin.list_object_versions(Bucket=bucket)
    left = [v["Key"] for v in [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]]
    assert left == ["elsewhere/x"]


def test_ready_video_shows_outputs_and_grant_carrying_media_urls(
    platform: Platform, alice: Caller, app: Flask
) -> None:
    video_id = platform.ready(alice)
    task_id = platform.task_id(video_id)

    body = platform.http.get(f"/api/videos/{video_id}").json

    assert body["status"] == "ready" and body["progress"] == 100
    assert body["duration_seconds"] == 10.0
    assert body["renditions"] == [
        {"height": 720, "width": 1280, "bandwidth": 3_000_000},
        {"height": 360, "width": 640, "bandwidth": 800_000},
    ]
    prefix = "http://127.0.0.1:8080/media/g/"
    assert body["playback_url"].startswith(prefix)
    assert body["thumbnail_url"].startswith(prefix)
    grant, key = body["playback_url"].removeprefix(prefix).split("/", 1)
    assert key == f"videos/{video_id}/{task_id}/master.m3u8"
    verify_media_grant(app.extensions[EXTENSION].ticket_key, grant, uuid.UUID(video_id))
    # The seek previews' track, under the same grant: its cues name sprites relative to it.
    assert body["storyboard_url"] == f"{prefix}{grant}/videos/{video_id}/{task_id}/storyboard/storyboard.vtt"


def test_a_video_transcoded_before_storyboards_has_no_storyboard_url(
    platform: Platform, alice: Caller
) -> None:
    video_id = platform.queue(alice)
    event = ready_event(video_id, platform.task_id(video_id), sequence=5)
    assert event.outputs is not None
    older = event.model_copy(update={"outputs": event.outputs.model_copy(update={"storyboard": None})})
    with Session(platform.engine) as session:
        assert record_event(session, older)
    body = platform.http.get(f"/api/videos/{video_id}").json
    assert body["status"] == "ready" and body["playback_url"] and body["storyboard_url"] is None


def test_a_short_videos_media_grant_expires_within_15_minutes_and_a_grant_window(
    platform: Platform, alice: Caller
) -> None:
    # A short lifetime bounds what a leaked grant gives; a video made private cuts it at once.
    # A shared video's grant is reused until the end of its window (app/backend/media_grants.py).
    video_id = platform.ready(alice)  # 10 s long
    issued = time.time()
    url = platform.http.get(f"/api/videos/{video_id}").json["playback_url"]
    grant = url.removeprefix("http://127.0.0.1:8080/media/g/").split("/", 1)[0]
    expires = jwt.decode(grant, options={"verify_signature": False})["exp"]
    assert issued + 15 * 60 - 5 <= expires <= time.time() + 15 * 60 + GRANT_WINDOW_SECONDS


@pytest.mark.parametrize(
    ("duration", "ttl"), [(None, 15 * 60), (10.0, 15 * 60), (3600.0, 3 * 3600), (5 * 3600.0, 6 * 3600)]
)
def test_a_media_grant_outlives_a_viewing_with_pauses_within_bounds(duration: float | None, ttl: int) -> None:
    assert media_grant_ttl(duration) == ttl


def _playable_event(video_id: str, task_id: uuid.UUID, sequence: int, key: str) -> ProgressEventV1:
    return ProgressEventV1(
        task_id=task_id,
        video_id=uuid.UUID(video_id),
        state=VideoState.TRANSCODING,
        percent=20,
        sequence=sequence,
        playable=PlayableOutputs(master_playlist_key=key, heights=[240]),
    )


def test_a_transcoding_video_plays_once_its_task_published_its_lowest_rung_and_not_once_failed(
    platform: Platform, alice: Caller
) -> None:
    """The worker's progressive publishing: the playback URL names the master playlist the ready
    event will name; a failed task's half-published stream is never offered."""
    video_id = platform.queue(alice)
    task_id = platform.task_id(video_id)
    key = f"videos/{video_id}/{task_id}/master.m3u8"
    with Session(platform.engine) as session:
        assert record_event(session, _playable_event(video_id, task_id, 3, key))
    body = platform.http.get(f"/api/videos/{video_id}").json
    assert body["status"] == "transcoding" and body["progress"] == 20
    assert body["playback_url"].startswith("http://127.0.0.1:8080/media/g/")
    assert body["playback_url"].endswith("/" + key)

    failed = ProgressEventV1(
        task_id=task_id,
        video_id=uuid.UUID(video_id),
        state=VideoState.FAILED,
        percent=30,
        sequence=4,
        error_reason="ffmpeg failed",
    )
    with Session(platform.engine) as session:
        assert record_event(session, failed)
    body = platform.http.get(f"/api/videos/{video_id}").json
    assert body["status"] == "failed" and body["playback_url"] is None


def test_a_transcoding_video_never_plays_a_master_playlist_outside_its_tasks_prefix(
    platform: Platform, alice: Caller
) -> None:
    video_id = platform.queue(alice)
    task_id = platform.task_id(video_id)
    elsewhere = f"videos/{video_id}/{uuid.uuid4()}/master.m3u8"
    with Session(platform.engine) as session:
        assert record_event(session, _playable_event(video_id, task_id, 3, elsewhere))
    body = platform.http.get(f"/api/videos/{video_id}").json
    assert body["status"] == "transcoding" and body["playback_url"] is None


def test_unfinished_video_has_no_playback_url(platform: Platform, alice: Caller) -> None:
    body = platform.http.get(f"/api/videos/{platform.queue(alice)}", headers=alice.headers).json
    assert body["status"] == "queued" and body["playback_url"] is None and body["thumbnail_url"] is None
    assert body["storyboard_url"] is None


def test_events_ticket_carries_the_current_state_for_the_caller(
    platform: Platform, alice: Caller, app: Flask
) -> None:
    video_id = platform.queue(alice)

    body = platform.http.post(f"/api/videos/{video_id}/events-ticket", headers=alice.headers).json

    url = urlparse(body["url"])
    assert url.path == f"/events/videos/{video_id}"
    assert parse_qs(url.query)["ticket"] == [body["ticket"]]
    ticket = verify_events_ticket(app.extensions[EXTENSION].ticket_key, body["ticket"], uuid.UUID(video_id))
    assert ticket.user_id == alice.sub
    # The task, so that progress never answers it with a task a retry replaced.
    task_id = str(platform.task_id(video_id))
    assert ticket.snapshot == {"state": "queued", "percent": 0.0, "sequence": -1, "task_id": task_id}


def test_events_ticket_of_a_ready_video_carries_its_outputs(
    platform: Platform, alice: Caller, app: Flask
) -> None:
    video_id = platform.ready(alice)
    body = platform.http.post(f"/api/videos/{video_id}/events-ticket").json
    ticket = verify_events_ticket(app.extensions[EXTENSION].ticket_key, body["ticket"], uuid.UUID(video_id))
    assert ticket.snapshot["state"] == "ready" and ticket.snapshot["percent"] == 100
    assert ticket.snapshot["outputs"]["master_playlist_key"].endswith("/master.m3u8")


def _grant_of(platform: Platform, video_id: str, caller: Caller | None = None) -> str:
    headers = caller.headers if caller else {}
    url = platform.http.get(f"/api/videos/{video_id}", headers=headers).json["playback_url"]
    return str(url.removeprefix("http://127.0.0.1:8080/media/g/").split("/", 1)[0])


@pytest.mark.parametrize("shared_as", ["public", "unlisted"])
def test_making_a_shared_video_private_cuts_the_grants_already_issued(
    platform: Platform, alice: Caller, app: Flask, revocations: RecordedRevocations, shared_as: str
) -> None:
    """public→private and unlisted→private: a stranger's grant is refused, the owner's new one plays."""
    key = app.extensions[EXTENSION].ticket_key
    video_id = platform.ready(alice, visibility=shared_as)
    strangers_grant = _grant_of(platform, video_id)

    response = platform.http.patch(
        f"/api/videos/{video_id}", json={"visibility": "private"}, headers=alice.headers
    )

    assert response.status_code == 200
    [epoch] = revocations.epochs[uuid.UUID(video_id)]
    with pytest.raises(GrantRevoked):
        verify_media_grant(key, strangers_grant, uuid.UUID(video_id), revoked_before_ms=epoch)
    owners_grant = response.json["playback_url"].removeprefix("http://127.0.0.1:8080/media/g/").split("/")[0]
    verify_media_grant(key, owners_grant, uuid.UUID(video_id), revoked_before_ms=epoch)
    verify_media_grant(
        key, _grant_of(platform, video_id, alice), uuid.UUID(video_id), revoked_before_ms=epoch
    )


@pytest.mark.parametrize(
    "change", [{"title": "renamed"}, {"visibility": "unlisted"}, {"visibility": "public"}]
)
def test_changes_that_leave_the_video_shared_cut_no_grant(
    platform: Platform, alice: Caller, revocations: RecordedRevocations, change: dict[str, str]
) -> None:
    """Unlisted still plays for whoever has the link: public→unlisted hides it from the feed only."""
    video_id = platform.ready(alice)
    assert (
        platform.http.patch(f"/api/videos/{video_id}", json=change, headers=alice.headers).status_code == 200
    )
    assert revocations.epochs == {}


def test_deleting_a_video_cuts_every_grant_including_those_issued_while_it_is_deleted(
    platform: Platform, alice: Caller, app: Flask, revocations: RecordedRevocations
) -> None:
    key = app.extensions[EXTENSION].ticket_key
    video_id = platform.ready(alice)
    grant = _grant_of(platform, video_id)

    assert platform.http.delete(f"/api/videos/{video_id}", headers=alice.headers).status_code == 204

    [epoch] = revocations.epochs[uuid.UUID(video_id)]
    with pytest.raises(GrantRevoked):
        verify_media_grant(key, grant, uuid.UUID(video_id), revoked_before_ms=epoch)
    assert epoch >= (time.time() + MEDIA_GRANT_MAX_SECONDS - 5) * 1000  # no grant issued until then survives


class _UnavailableStore:
    def revoke(self, video_id: uuid.UUID, revoked_before_ms: int) -> None:
        from app.backend.revocations import RevocationFailed

        raise RevocationFailed("the store is down")


def test_when_grants_cannot_be_cut_the_owner_is_told_and_can_send_it_again(
    platform: Platform, alice: Caller, app: Flask, revocations: RecordedRevocations
) -> None:
    video_id = platform.ready(alice)
    services = app.extensions[EXTENSION]
    app.extensions[EXTENSION] = dataclasses.replace(services, revocations=_UnavailableStore())

    made_private = platform.http.patch(
        f"/api/videos/{video_id}", json={"visibility": "private"}, headers=alice.headers
    )
    deleted = platform.http.delete(f"/api/videos/{video_id}", headers=alice.headers)

    assert (made_private.status_code, made_private.json["error"]["code"]) == (503, "revocation_unavailable")
    assert (deleted.status_code, deleted.json["error"]["code"]) == (503, "revocation_unavailable")
    row = platform.row(video_id)
    assert row is not None and row.visibility.value == "private"  # kept; nothing deleted
    app.extensions[EXTENSION] = services
    again = platform.http.patch(
        f"/api/videos/{video_id}", json={"visibility": "private"}, headers=alice.headers
    )
    assert again.status_code == 200 and len(revocations.epochs[uuid.UUID(video_id)]) == 1


def test_a_title_with_a_tab_at_either_end_is_refused_as_its_documented_pattern_says(
    platform: Platform, alice: Caller
) -> None:
    """The schema's title pattern refuses control characters anywhere; the tab at the end used to
    be stripped before the check and the title accepted (schemathesis's negative mode found it)."""
    video_id = platform.create(alice)
    for title in ("clip\t", "\tclip"):
        response = platform.http.patch(
            f"/api/videos/{video_id}", json={"title": title}, headers=alice.headers
        )
        assert response.status_code == 422, (title, response.json)
    spaced = platform.http.patch(f"/api/videos/{video_id}", json={"title": "  clip  "}, headers=alice.headers)
    assert (spaced.status_code, spaced.json["title"]) == (200, "clip")
