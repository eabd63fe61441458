from __future__ import annotations

import re
import secrets
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.contracts.security_headers import csp_directives
from app.contracts.tickets import issue_media_grant
from app.local.gateway import Gateway
from app.local.moto_server import free_port
from app.local.provision import LocalResources, client
from tests.app.local.conftest import EchoServer

PASSWORD = "Sup3rSecret!"


def new_email() -> str:
    return f"u{uuid.uuid4().hex[:10]}@example.com"


def codes(http: FlaskClient, email: str, purpose: str) -> list[str]:
    response = http.get("/_local/outbox", query_string={"email": email})
    assert response.status_code == 200
    return [m["code"] for m in response.get_json() if m["purpose"] == purpose]


def signed_up(http: FlaskClient) -> str:
    email = new_email()
    assert http.post("/auth/signup", json={"email": email, "password": PASSWORD}).status_code == 201
    return email


def test_signup_puts_a_six_digit_code_in_the_outbox(http: FlaskClient) -> None:
    email = signed_up(http)
    [code] = codes(http, email, "confirm")
    assert re.fullmatch(r"\d{6}", code)


def test_confirm_with_another_code_is_rejected_and_the_user_stays_unconfirmed(http: FlaskClient) -> None:
    email = signed_up(http)
    [code] = codes(http, email, "confirm")
    wrong = "000000" if code != "000000" else "111111"
    response = http.post("/auth/confirm", json={"email": email, "code": wrong})
    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": "code_mismatch", "message": "the code is not valid"}}
    login = http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert login.get_json()["error"]["code"] == "user_not_confirmed"


def test_confirm_with_the_outbox_code_lets_the_user_log_in(http: FlaskClient) -> None:
    email = signed_up(http)
    [code] = codes(http, email, "confirm")
    assert http.post("/auth/confirm", json={"email": email, "code": code}).status_code == 200
    login = http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200
    assert set(login.get_json()) == {"access_token", "id_token", "refresh_token", "expires_in"}


def test_resend_issues_a_new_code_and_only_the_newest_is_accepted(
    http: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = iter([111111, 222222])
    monkeypatch.setattr(secrets, "randbelow", lambda _: next(issued))
    email = signed_up(http)
    assert http.post("/auth/resend", json={"email": email}).get_json() == {"sent": True}
    newest, older = codes(http, email, "confirm")
    assert (newest, older) == ("222222", "111111")
    assert http.post("/auth/confirm", json={"email": email, "code": older}).status_code == 400
    assert http.post("/auth/confirm", json={"email": email, "code": newest}).status_code == 200


def test_resend_for_a_confirmed_account_is_a_400_and_for_an_unknown_one_sends_nothing(
    http: FlaskClient,
) -> None:
    email = signed_up(http)
    [code] = codes(http, email, "confirm")
    http.post("/auth/confirm", json={"email": email, "code": code})
    response = http.post("/auth/resend", json={"email": email})
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "invalid_request")
    unknown = new_email()
    assert http.post("/auth/resend", json={"email": unknown}).status_code == 200
    assert codes(http, unknown, "confirm") == []


@pytest.mark.parametrize("body", ["{", '{"email": ' + "[" * 5000 + "]" * 5000 + "}"])
def test_resend_with_a_malformed_or_deeply_nested_body_is_a_400(http: FlaskClient, body: str) -> None:
    response = http.post("/auth/resend", data=body, content_type="application/json")
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "malformed_json")


def test_reset_needs_the_mailed_code_and_the_code_works_once(http: FlaskClient) -> None:
    email = signed_up(http)
    [code] = codes(http, email, "confirm")
    http.post("/auth/confirm", json={"email": email, "code": code})
    assert http.post("/auth/forgot", json={"email": email}).status_code == 200
    [reset_code] = codes(http, email, "reset")
    wrong = "000000" if reset_code != "000000" else "111111"
    body = {"email": email, "password": "N3wPassword!"}
    assert (
        http.post("/auth/reset", json={**body, "code": wrong}).get_json()["error"]["code"] == "code_mismatch"
    )
    assert http.post("/auth/reset", json={**body, "code": reset_code}).status_code == 200
    assert http.post("/auth/reset", json={**body, "code": reset_code}).status_code == 400
    assert http.post("/auth/login", json={"email": email, "password": "N3wPassword!"}).status_code == 200


def test_forgot_for_an_unknown_address_answers_200_and_mails_nothing(http: FlaskClient) -> None:
    email = new_email()
    assert http.post("/auth/forgot", json={"email": email}).status_code == 200
    assert codes(http, email, "reset") == []


def test_bad_auth_bodies_are_answered_by_the_handler_in_the_shared_shape(http: FlaskClient) -> None:
    response = http.post("/auth/confirm", data="{not json", content_type="application/json")
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "malformed_json")
    response = http.post("/auth/signup", json={"email": "x@example.com"})
    assert (response.status_code, response.get_json()["error"]["code"]) == (422, "validation_error")
    # Not UTF-8: the event carries it base64-encoded, as API Gateway does with binary bodies.
    response = http.post("/auth/login", data=b"\xff\xfe{", content_type="application/json")
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "malformed_json")


def test_outbox_without_an_email_is_a_422_as_the_backend_answers_bad_queries(http: FlaskClient) -> None:
    assert http.get("/_local/outbox").status_code == 422


def test_the_outbox_lists_mail_newest_first(http: FlaskClient) -> None:
    email = signed_up(http)
    http.post("/auth/resend", json={"email": email})
    mail = http.get("/_local/outbox", query_string={"email": email}).get_json()
    assert len(mail) == 2
    assert mail[0]["sent_at"] >= mail[1]["sent_at"]
    assert mail[0]["email"] == email


def test_api_requests_reach_the_backend_with_method_query_and_body_and_no_hop_by_hop_headers(
    http: FlaskClient,
) -> None:
    response = http.patch(
        "/api/videos/42?fields=a&fields=b",
        data=b'{"title": "x"}',
        headers={"Content-Type": "application/json", "Keep-Alive": "timeout=5", "Authorization": "Bearer t"},
    )
    seen = response.get_json()
    assert seen["method"] == "PATCH"
    assert seen["path"] == "/api/videos/42"
    assert seen["query"] == "fields=a&fields=b"
    assert seen["body"] == '{"title": "x"}'
    assert seen["headers"]["Authorization"] == "Bearer t"
    assert "Keep-Alive" not in seen["headers"]
    assert seen["headers"]["X-Forwarded-Host"] == "localhost"


def test_events_are_spread_round_robin_over_the_progress_instances(http: FlaskClient) -> None:
    served = {http.get("/events/health").get_json()["server"] for _ in range(4)}
    assert served == {"one", "two"}


def test_an_event_reaches_the_client_before_the_upstream_sends_the_next(
    http: FlaskClient, echo_servers: list[EchoServer]
) -> None:
    response = http.get("/events/stream", buffered=False)
    assert response.headers["Content-Type"].startswith("text/event-stream")
    chunks = iter(response.response)
    first = next(chunks)
    assert first == b"data: first\n\n"
    # The upstream holds its second event until the first has been read through the gateway.
    for echo in echo_servers:
        echo.release_second_event.set()
    assert b"".join(chunks) == b"data: second\n\n"
    response.close()


def test_an_unreachable_upstream_is_a_502_in_the_shared_shape(gateway: Gateway) -> None:
    from app.local.gateway import create_app

    gateway.backend_url = f"http://127.0.0.1:{free_port()}"
    response = create_app(gateway).test_client().get("/api/health/live")
    assert (response.status_code, response.get_json()["error"]["code"]) == (502, "upstream_unavailable")


def _media_object(local_resources: LocalResources, name: str, data: bytes) -> tuple[uuid.UUID, str]:
    video_id = uuid.uuid4()
    key = f"videos/{video_id}/{uuid.uuid4()}/{name}"
    client("s3", local_resources.endpoint_url).put_object(
        Bucket=local_resources.media_bucket, Key=key, Body=data
    )
    return video_id, key


def test_media_with_a_grant_for_the_video_is_served_with_its_content_type(
    http: FlaskClient, gateway: Gateway, local_resources: LocalResources
) -> None:
    for name, content_type in [
        ("master.m3u8", "application/vnd.apple.mpegurl"),
        ("720p/seg_00001.ts", "video/mp2t"),
        ("720p/seg_00001.m4s", "video/iso.segment"),
        ("poster.jpg", "image/jpeg"),
    ]:
        video_id, key = _media_object(local_resources, name, b"media bytes")
        grant = issue_media_grant(gateway.ticket_key, video_id=video_id, ttl_seconds=60)
        response = http.get(f"/media/g/{grant}/{key}")
        assert response.status_code == 200, name
        assert response.headers["Content-Type"] == content_type
        assert response.data == b"media bytes"


def test_media_keeps_the_disposition_stored_with_the_object_as_cloudfront_does(
    http: FlaskClient, gateway: Gateway, local_resources: LocalResources
) -> None:
    """The MP4 download is stored with ``Content-Disposition: attachment``; CloudFront forwards the
    S3 origin's response headers to the viewer, but for the few it removes or updates, a list
    without Content-Disposition (CloudFront Developer Guide, "Request and response behavior for
    Amazon S3 origins",
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/RequestAndResponseBehaviorS3Origin.html)."""
    video_id = uuid.uuid4()
    key = f"videos/{video_id}/{uuid.uuid4()}/download.mp4"
    s3 = client("s3", local_resources.endpoint_url)
    s3.put_object(
        Bucket=local_resources.media_bucket,
        Key=key,
        Body=b"mp4 bytes",
        ContentDisposition='attachment; filename="video.mp4"',
    )
    grant = issue_media_grant(gateway.ticket_key, video_id=video_id, ttl_seconds=60)
    response = http.get(f"/media/g/{grant}/{key}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="video.mp4"'
    poster = f"videos/{video_id}/posters/{uuid.uuid4()}.jpg"
    s3.put_object(Bucket=local_resources.media_bucket, Key=poster, Body=b"jpeg")
    shown = http.get(f"/media/g/{grant}/{poster}")
    assert shown.status_code == 200 and "Content-Disposition" not in shown.headers


class _RecordingS3:
    """The gateway's S3 client, keeping the bodies of the objects it fetched."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3
        self.bodies: list[Any] = []

    def get_object(self, **kwargs: Any) -> Any:
        obj = self._s3.get_object(**kwargs)
        self.bodies.append(obj["Body"])
        return obj

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_media_bodies_are_closed_after_a_get_or_a_head(
    gateway: Gateway, local_resources: LocalResources, method: str
) -> None:
    from app.local.gateway import create_app

    recording = gateway.s3 = _RecordingS3(gateway.s3)
    video_id, key = _media_object(local_resources, "poster.jpg", b"jpeg bytes")
    grant = issue_media_grant(gateway.ticket_key, video_id=video_id, ttl_seconds=60)

    response = create_app(gateway).test_client().open(f"/media/g/{grant}/{key}", method=method)
    response.close()

    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(b"jpeg bytes"))
    [body] = recording.bodies
    assert body._raw_stream.closed  # its connection is back in the pool, not held by a body nobody reads


def test_media_byte_ranges_are_answered_with_206_and_bad_ranges_with_416(
    http: FlaskClient, gateway: Gateway, local_resources: LocalResources
) -> None:
    video_id, key = _media_object(local_resources, "720p.mp4", bytes(range(100)))
    grant = issue_media_grant(gateway.ticket_key, video_id=video_id, ttl_seconds=60)
    partial = http.get(f"/media/g/{grant}/{key}", headers={"Range": "bytes=10-19"})
    assert partial.status_code == 206
    assert partial.data == bytes(range(10, 20))
    assert partial.headers["Content-Range"] == "bytes 10-19/100"
    outside = http.get(f"/media/g/{grant}/{key}", headers={"Range": "bytes=500-600"})
    assert (outside.status_code, outside.get_json()["error"]["code"]) == (416, "invalid_range")


def test_media_with_a_grant_for_another_video_or_a_forged_grant_is_a_403(
    http: FlaskClient, gateway: Gateway, local_resources: LocalResources
) -> None:
    _, key = _media_object(local_resources, "master.m3u8", b"#EXTM3U")
    other = issue_media_grant(gateway.ticket_key, video_id=uuid.uuid4(), ttl_seconds=60)
    forged = issue_media_grant(b"k" * 32, video_id=uuid.UUID(key.split("/")[1]), ttl_seconds=60)
    for grant in (other, forged, "not-a-grant"):
        response = http.get(f"/media/g/{grant}/{key}")
        assert (response.status_code, response.get_json()["error"]["code"]) == (403, "forbidden")


def test_media_that_does_not_exist_or_is_outside_a_video_is_a_404(
    http: FlaskClient, gateway: Gateway
) -> None:
    video_id = uuid.uuid4()
    grant = issue_media_grant(gateway.ticket_key, video_id=video_id, ttl_seconds=60)
    assert http.get(f"/media/g/{grant}/videos/{video_id}/t/master.m3u8").status_code == 404
    assert http.get(f"/media/g/{grant}/other/{video_id}/x.jpg").status_code == 404
    assert http.get(f"/media/g/{grant}/videos/not-a-uuid/x.jpg").status_code == 404


def test_an_unexpected_failure_is_a_500_in_the_shared_shape(gateway: Gateway) -> None:
    from app.local.gateway import create_app

    gateway.media_bucket = "no-such-bucket"
    video_id = uuid.uuid4()
    grant = issue_media_grant(gateway.ticket_key, video_id=video_id, ttl_seconds=60)
    response = create_app(gateway).test_client().get(f"/media/g/{grant}/videos/{video_id}/t/master.m3u8")
    assert (response.status_code, response.get_json()["error"]["code"]) == (500, "internal_error")


def test_the_web_app_is_served_at_the_root(http: FlaskClient) -> None:
    response = http.get("/")
    assert response.status_code == 200
    assert b"<title>reelstack</title>" in response.data
    assert http.get("/missing.js").get_json()["error"]["code"] == "not_found"


def test_only_the_embed_document_may_be_framed_by_another_site(http: FlaskClient, web_dir: Path) -> None:
    """Clickjacking: the gateway sent no framing headers, so any site could frame the app and
    its "Delete" button. It sends what CloudFront's response headers policies send
    (tests/infra/test_distribution.py), HSTS aside: RFC 6797, section 7.2, "An HSTS Host MUST
    NOT include the STS header field in HTTP responses conveyed over non-secure transport"
    (https://www.rfc-editor.org/rfc/rfc6797#section-7.2), and the gateway is plain HTTP."""
    (web_dir / "embed.html").write_text("<!doctype html><title>player</title>")
    baseline = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin"}
    for path in ("/", "/index.html", "/missing.js", "/api/videos", "/embed.html/"):
        response = http.get(path)
        assert csp_directives(response.headers["Content-Security-Policy"])["frame-ancestors"] == "'none'", (
            path
        )
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert {k: response.headers.get(k) for k in baseline} == baseline, path
        assert "Strict-Transport-Security" not in response.headers
    embed = http.get("/embed.html", query_string={"video": str(uuid.uuid4())})
    assert (embed.status_code, embed.data) == (200, b"<!doctype html><title>player</title>")
    assert csp_directives(embed.headers["Content-Security-Policy"])["frame-ancestors"] == "*"
    assert "X-Frame-Options" not in embed.headers
    assert {k: embed.headers.get(k) for k in baseline} == baseline


def test_without_a_web_app_the_root_is_a_404(gateway: Gateway, tmp_path: Path) -> None:
    from app.local.gateway import create_app

    gateway.web_dir = tmp_path / "absent"
    assert create_app(gateway).test_client().get("/").status_code == 404


def test_a_405_names_the_allowed_methods_and_options_has_no_html(http: FlaskClient) -> None:
    """The gateway's 405 had no Allow header."""
    refused = http.delete("/_local/outbox?email=a@example.com")
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (405, "method_not_allowed")
    assert "GET" in refused.headers["Allow"]
    options = http.options("/_local/outbox")
    assert options.status_code == 204 and "text/html" not in options.headers.get("Content-Type", "")
