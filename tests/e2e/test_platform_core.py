"""Issue 3, acceptance 2: accounts, the catalogue and the social features, through the gateway only.

The platform runs without transcoders (`core_platform`), so the task a mark-uploaded sends stays
on the task queue, where the test reads it from the AWS emulation. The tests that read the
emulation are ``local_only``; the others run against a deployed stack too (``make cloud-test``).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import botocore.exceptions
import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from app.contracts.messages import parse_task
from tests.e2e.client import (
    AuthedSession,
    Platform,
    confirmation_code,
    create_video,
    login,
    new_address,
    signup_confirm_login,
    upload_via_presigned_post,
)
from tests.e2e.conftest import RunningPlatform

pytestmark = pytest.mark.e2e
PASSWORD = "Corr3ct-Horse-Battery!"
TIMEOUT = 30


def new_user(platform: Platform) -> AuthedSession:
    return signup_confirm_login(platform, new_address(platform, "user"), PASSWORD)


def drain_task_queue(platform: RunningPlatform) -> list[str]:
    """Every message now on the task queue (left invisible, so each is seen once)."""
    sqs = platform.client("sqs")
    url = sqs.get_queue_url(QueueName=platform.names.task_queue)["QueueUrl"]
    bodies: list[str] = []
    while True:
        received = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=600
        ).get("Messages", [])
        if not received:
            return bodies
        bodies += [m["Body"] for m in received]


@pytest.mark.local_only
def test_signup_to_one_valid_task_message_through_the_gateway(
    core_platform: RunningPlatform, one_second_clip: Path
) -> None:
    base = core_platform.base_url
    owner = new_user(core_platform)
    created = create_video(core_platform, owner)
    assert created["upload"]["url"].startswith(f"{base}/_s3/")

    upload_via_presigned_post(created["upload"], one_second_clip, "video/mp4")
    marked = owner.post(f"{base}/api/videos/{created['id']}/uploaded", timeout=TIMEOUT)
    assert marked.status_code == 202, marked.text
    again = owner.post(f"{base}/api/videos/{created['id']}/uploaded", timeout=TIMEOUT)
    assert again.status_code == 202, again.text

    [body] = drain_task_queue(core_platform)
    task = parse_task(body)
    assert str(task.video_id) == created["id"]
    assert task.source_bucket == core_platform.aws["uploads_bucket"]
    video = owner.get(f"{base}/api/videos/{created['id']}", timeout=TIMEOUT).json()
    assert video["status"] == "queued"


@pytest.mark.local_only
def test_a_multipart_upload_through_presigned_part_urls_is_queued(
    core_platform: RunningPlatform, one_second_clip: Path
) -> None:
    """The browser's large-file path: presigned part PUTs through the gateway's /_s3, then complete."""
    base = core_platform.base_url
    owner = new_user(core_platform)
    video = f"{base}/api/videos/{create_video(core_platform, owner)['id']}"
    started = owner.post(f"{video}/multipart", json={"content_type": "video/mp4"}, timeout=TIMEOUT)
    assert started.status_code == 201, started.text
    [part] = owner.post(f"{video}/multipart/parts", json={"part_numbers": [1]}, timeout=TIMEOUT).json()[
        "parts"
    ]
    assert part["url"].startswith(f"{base}/_s3/")
    put = requests.put(part["url"], data=one_second_clip.read_bytes(), timeout=TIMEOUT)
    assert put.status_code == 200, put.text
    done = [{"part_number": 1, "etag": put.headers["ETag"]}]
    completed = owner.post(f"{video}/multipart/complete", json={"parts": done}, timeout=TIMEOUT)
    assert completed.status_code == 204, completed.text
    marked = owner.post(f"{video}/uploaded", timeout=TIMEOUT)
    assert marked.status_code == 202, marked.text
    assert len(drain_task_queue(core_platform)) == 1


def test_comments_are_edited_and_deleted_only_by_their_authors(core_platform: RunningPlatform) -> None:
    base = core_platform.base_url
    owner, other = new_user(core_platform), new_user(core_platform)
    video_id = create_video(core_platform, owner)["id"]
    comments = f"{base}/api/videos/{video_id}/comments"

    mine = owner.post(comments, json={"body": "first!"}, timeout=TIMEOUT)
    assert mine.status_code == 201, mine.text
    theirs = other.post(comments, json={"body": "nice"}, timeout=TIMEOUT)
    assert theirs.status_code == 201, theirs.text
    mine_url = f"{comments}/{mine.json()['id']}"

    assert other.patch(mine_url, json={"body": "defaced"}, timeout=TIMEOUT).status_code == 403
    assert other.delete(mine_url, timeout=TIMEOUT).status_code == 403
    assert owner.patch(mine_url, json={"body": "first, edited"}, timeout=TIMEOUT).status_code == 200
    listed = [c["body"] for c in requests.get(comments, timeout=TIMEOUT).json()["items"]]
    assert listed == ["first, edited", "nice"]
    assert owner.delete(mine_url, timeout=TIMEOUT).status_code == 204
    assert [c["body"] for c in requests.get(comments, timeout=TIMEOUT).json()["items"]] == ["nice"]


def test_likes_are_idempotent_and_counted(core_platform: RunningPlatform) -> None:
    base = core_platform.base_url
    owner, fan = new_user(core_platform), new_user(core_platform)
    like = f"{base}/api/videos/{create_video(core_platform, owner)['id']}/like"

    assert fan.put(like, timeout=TIMEOUT).json() == {"likes": 1, "liked_by_me": True}
    assert fan.put(like, timeout=TIMEOUT).json() == {"likes": 1, "liked_by_me": True}
    assert owner.put(like, timeout=TIMEOUT).json()["likes"] == 2
    assert fan.delete(like, timeout=TIMEOUT).json() == {"likes": 1, "liked_by_me": False}
    assert fan.delete(like, timeout=TIMEOUT).json() == {"likes": 1, "liked_by_me": False}


def test_playlists_keep_their_order_and_only_the_owner_changes_them(core_platform: RunningPlatform) -> None:
    base = core_platform.base_url
    owner, other = new_user(core_platform), new_user(core_platform)
    first, second = (create_video(core_platform, owner, title=t)["id"] for t in ("one", "two"))
    created = owner.post(
        f"{base}/api/playlists", json={"title": "mix", "visibility": "public"}, timeout=TIMEOUT
    )
    assert created.status_code == 201, created.text
    playlist = f"{base}/api/playlists/{created.json()['id']}"
    for video_id in (first, second):
        added = owner.post(f"{playlist}/items", json={"video_id": video_id}, timeout=TIMEOUT)
        assert added.status_code == 201, added.text

    reordered = owner.put(f"{playlist}/items", json={"video_ids": [second, first]}, timeout=TIMEOUT)
    assert reordered.status_code == 200, reordered.text
    assert [item["id"] for item in owner.get(playlist, timeout=TIMEOUT).json()["items"]] == [second, first]

    assert other.get(playlist, timeout=TIMEOUT).status_code == 200
    assert other.post(f"{playlist}/items", json={"video_id": first}, timeout=TIMEOUT).status_code == 403
    assert (
        other.put(f"{playlist}/items", json={"video_ids": [first, second]}, timeout=TIMEOUT).status_code
        == 403
    )
    assert other.patch(playlist, json={"title": "mine now"}, timeout=TIMEOUT).status_code == 403
    assert other.delete(playlist, timeout=TIMEOUT).status_code == 403
    assert owner.delete(playlist, timeout=TIMEOUT).status_code == 204


def test_a_private_playlist_is_hidden_from_other_users(core_platform: RunningPlatform) -> None:
    base = core_platform.base_url
    owner, other = new_user(core_platform), new_user(core_platform)
    created = owner.post(f"{base}/api/playlists", json={"title": "mine"}, timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    playlist = f"{base}/api/playlists/{created.json()['id']}"
    assert owner.get(playlist, timeout=TIMEOUT).status_code == 200
    assert other.get(playlist, timeout=TIMEOUT).status_code == 404
    assert other.patch(playlist, json={"title": "taken"}, timeout=TIMEOUT).status_code == 404


def test_another_user_cannot_see_or_touch_a_private_video(core_platform: RunningPlatform) -> None:
    base = core_platform.base_url
    owner, other = new_user(core_platform), new_user(core_platform)
    video_id = create_video(
        core_platform, owner, title=f"secret {uuid.uuid4().hex[:6]}", visibility="private"
    )["id"]
    video = f"{base}/api/videos/{video_id}"

    assert owner.get(video, timeout=TIMEOUT).status_code == 200
    for response in (
        other.get(video, timeout=TIMEOUT),
        requests.get(video, timeout=TIMEOUT),
        other.post(f"{video}/comments", json={"body": "hi"}, timeout=TIMEOUT),
        other.put(f"{video}/like", timeout=TIMEOUT),
        other.patch(video, json={"title": "taken"}, timeout=TIMEOUT),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    feed = other.get(f"{base}/api/videos", params={"q": "secret"}, timeout=TIMEOUT).json()
    assert video_id not in [item["id"] for item in feed["items"]]


def test_a_wrong_confirmation_code_is_rejected(core_platform: RunningPlatform) -> None:
    base = core_platform.base_url
    email = new_address(core_platform, "user")
    signup = requests.post(
        f"{base}/auth/signup", json={"email": email, "password": PASSWORD}, timeout=TIMEOUT
    )
    assert signup.status_code == 201
    code = confirmation_code(core_platform, email)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    confirm = requests.post(f"{base}/auth/confirm", json={"email": email, "code": wrong}, timeout=TIMEOUT)
    assert confirm.status_code == 400
    assert confirm.json()["error"]["code"] == "code_mismatch"
    denied = requests.post(f"{base}/auth/login", json={"email": email, "password": PASSWORD}, timeout=TIMEOUT)
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "user_not_confirmed")


def test_logout_revokes_the_session(core_platform: RunningPlatform) -> None:
    base = core_platform.base_url
    session = new_user(core_platform)
    assert session.get(f"{base}/api/me", timeout=TIMEOUT).status_code == 200
    assert session.post(f"{base}/auth/logout", timeout=TIMEOUT).status_code == 200
    refresh = requests.post(
        f"{base}/auth/refresh", json={"refresh_token": session.tokens["refresh_token"]}, timeout=TIMEOUT
    )
    assert (refresh.status_code, refresh.json()["error"]["code"]) == (401, "invalid_credentials")
    # Signing in again starts a new session.
    assert login(base, session.email, PASSWORD).get(f"{base}/api/me", timeout=TIMEOUT).status_code == 200


def test_malformed_json_is_a_400_on_auth_and_api(core_platform: RunningPlatform) -> None:
    base = core_platform.base_url
    session = new_user(core_platform)
    headers = {"Content-Type": "application/json"}
    for response in (
        requests.post(f"{base}/auth/login", data="{oops", headers=headers, timeout=TIMEOUT),
        session.post(f"{base}/api/videos", data="{oops", headers=headers, timeout=TIMEOUT),
    ):
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "malformed_json"


@pytest.mark.local_only
def test_a_non_video_container_is_refused_at_mark_uploaded_deleted_and_never_queued(
    core_platform: RunningPlatform, tmp_path: Path
) -> None:
    # The policy asks only for a video/* Content-Type, so storage takes it; the backend reads the bytes.
    base = core_platform.base_url
    owner = new_user(core_platform)
    created = create_video(core_platform, owner)
    source = tmp_path / "upload.bin"
    content = b"\x00not a video container" * 64
    source.write_bytes(content)
    upload_via_presigned_post(created["upload"], source, "video/mp4")

    s3 = core_platform.client("s3")
    uploaded = {"Bucket": core_platform.aws["uploads_bucket"], "Key": created["upload"]["fields"]["key"]}
    assert s3.head_object(**uploaded)["ContentLength"] == len(content)

    refused = owner.post(f"{base}/api/videos/{created['id']}/uploaded", timeout=TIMEOUT)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "upload_not_video")
    assert drain_task_queue(core_platform) == []
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        s3.head_object(**uploaded)
    assert missing.value.response["Error"]["Code"] == "404"
    video = owner.get(f"{base}/api/videos/{created['id']}", timeout=TIMEOUT).json()
    assert video["status"] == "uploading"


@pytest.mark.local_only
def test_the_same_presigned_post_sent_after_acceptance_changes_neither_the_task_source_nor_the_kept_one(
    core_platform: RunningPlatform, one_second_clip: Path, tmp_path: Path
) -> None:
    """The gateway verifies presigned POSTs as S3 does, so it takes the replay as S3 would (the
    policy holds until it expires); once /uploaded has accepted the source, what the replay
    writes reaches neither the task's source nor the one kept."""
    base = core_platform.base_url
    owner = new_user(core_platform)
    created = create_video(core_platform, owner)
    upload_via_presigned_post(created["upload"], one_second_clip, "video/mp4")
    marked = owner.post(f"{base}/api/videos/{created['id']}/uploaded", timeout=TIMEOUT)
    assert marked.status_code == 202, marked.text

    other = tmp_path / "other.mp4"
    other.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4096)
    upload_via_presigned_post(created["upload"], other, "video/mp4")

    [body] = drain_task_queue(core_platform)
    task = parse_task(body)
    s3 = core_platform.client("s3")
    assert (
        s3.get_object(Bucket=task.source_bucket, Key=task.source_key)["Body"].read()
        == one_second_clip.read_bytes()
    )


@pytest.mark.local_only
def test_storage_refuses_what_the_upload_policy_does_not_allow_and_anything_anonymous(
    core_platform: RunningPlatform,
) -> None:
    """As S3 does: a file of another type than the policy's video/* is refused at the upload
    (403 AccessDenied, https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html),
    and an anonymous caller can neither list, read nor write the buckets."""
    base = core_platform.base_url
    owner = new_user(core_platform)
    created = create_video(core_platform, owner)
    upload = created["upload"]
    wrong_type = requests.post(
        upload["url"],
        data={**upload["fields"], "Content-Type": "text/plain"},
        files={"file": ("notes.txt", b"just some text\n", "text/plain")},
        timeout=TIMEOUT,
    )
    assert wrong_type.status_code == 403 and "<Code>AccessDenied</Code>" in wrong_type.text
    bucket = core_platform.aws["uploads_bucket"]
    key = upload["fields"]["key"]
    for method, url in [
        ("GET", f"{base}/_s3/{bucket}"),
        ("GET", f"{base}/_s3/{bucket}/{key}"),
        ("PUT", f"{base}/_s3/{bucket}/{key}"),
    ]:
        anonymous = requests.request(method, url, data=b"planted", timeout=TIMEOUT)
        assert anonymous.status_code == 403 and "<Code>AccessDenied</Code>" in anonymous.text, (method, url)
    with pytest.raises(botocore.exceptions.ClientError):
        core_platform.client("s3").head_object(Bucket=bucket, Key=key)


def test_forged_and_garbage_tokens_are_a_401_in_the_shared_shape(core_platform: RunningPlatform) -> None:
    base = core_platform.base_url
    session = new_user(core_platform)
    claims = jwt.decode(session.tokens["access_token"], options={"verify_signature": False})
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "dummy"})
    for token in (forged, "not.a.jwt"):
        response = requests.get(
            f"{base}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
        )
        assert response.status_code == 401, response.text
        assert set(response.json()["error"]) >= {"code", "message"}
