"""The gateway's ``/_s3``: what a browser may do on S3 (presigned POSTs and part uploads), verified
as S3 verifies it; everything else refused as S3 refuses an anonymous caller.

The emulator enforces none of this (LOCAL-AWS.md: no POST policy condition, signature or expiry),
so each rule is tested here, at the gateway. AWS's rules:
- POST signature: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html
- POST policy (expiration, conditions, every field covered):
  https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
- presigned URLs: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
- error codes: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
S3's wire answers (codes, messages) as recorded against S3 by LocalStack's validated POST tests:
https://github.com/localstack/localstack/blob/8b9a79f05846835cf4dff63ab7eefdde9df83783/tests/aws/services/s3/test_s3.py
"""

from __future__ import annotations

import base64
import io
import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder, TestResponse, run_wsgi_app

from app.backend.aws import AwsClients
from app.backend.videos import presigned_post
from app.contracts.settings import BackendSettings
from app.local.gateway import Gateway, create_app
from app.local.provision import LOCAL_REGION, LocalResources, client
from app.local.s3_gate import (
    PostPolicy,
    S3Gate,
    S3Refusal,
    Scope,
    signer_environment,
    signer_from_environment,
)
from tests.app.local.conftest import BACKEND_CREDENTIALS
from tests.support.iam import iam_enforcement

LIMIT = 64 * 1024  # the upload limit the tests' "backend" signs into its policies
PUBLIC = "http://localhost"  # the Flask test client's origin


def presigner(credentials: Credentials = BACKEND_CREDENTIALS) -> Any:
    """A client signing as the backend does (AwsClients.s3_presign): SigV4, path-style, the gateway's /_s3."""
    return boto3.client(
        "s3",
        endpoint_url=f"{PUBLIC}/_s3",
        region_name=LOCAL_REGION,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def backend_post(resources: LocalResources, key: str, credentials: Credentials = BACKEND_CREDENTIALS) -> Any:
    """The presigned POST the backend hands a browser for ``key`` (its own function, its own conditions)."""
    aws = cast(AwsClients, SimpleNamespace(s3_presign=presigner(credentials)))
    settings = cast(
        BackendSettings,
        SimpleNamespace(uploads_bucket=resources.uploads_bucket, max_upload_bytes=LIMIT),
    )
    return presigned_post(aws, settings, key)


def post_form(
    http: FlaskClient, post: dict[str, Any], body: bytes, content_type: str = "video/mp4", **changes: str
) -> TestResponse:
    """POST a browser's form for ``post``: its fields, Content-Type, ``changes``, then the file last."""
    form: dict[str, Any] = {**post["fields"], "Content-Type": content_type, **changes}
    form["file"] = (io.BytesIO(body), "clip.mp4", content_type)
    return http.post(post["url"].removeprefix(PUBLIC), data=form)


def s3_error_xml(text: str) -> tuple[str, str]:
    """(Code, Message) of an S3 XML error, as the web app's upload.js reads them."""
    error = ET.fromstring(text)  # noqa: S314 - the gateway's own answer, in a test
    assert error.tag == "Error", text
    return error.findtext("Code") or "", error.findtext("Message") or ""


def s3_error(response: TestResponse) -> tuple[int, str, str]:
    return (response.status_code, *s3_error_xml(response.get_data(as_text=True)))


def stored(resources: LocalResources, key: str) -> bool:
    try:
        client("s3", resources.endpoint_url).head_object(Bucket=resources.uploads_bucket, Key=key)
    except ClientError:
        return False
    return True


def new_key() -> str:
    return f"incoming/{uuid.uuid4()}/source"


# -- what a browser may not do ---------------------------------------------------------------


def test_anonymous_list_get_put_and_delete_are_refused_and_change_nothing(
    http: FlaskClient, local_resources: LocalResources
) -> None:
    """S3 answers an anonymous request on a private bucket 403 AccessDenied "Access Denied"
    (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html): no listing of keys,
    no reading, no writing, no deleting."""
    bucket = local_resources.uploads_bucket
    existing = new_key()
    client("s3", local_resources.endpoint_url).put_object(Bucket=bucket, Key=existing, Body=b"private")
    planted = new_key()
    for method, path in [
        ("GET", "/_s3"),
        ("GET", "/_s3/"),
        ("GET", f"/_s3/{bucket}"),
        ("GET", f"/_s3/{bucket}?list-type=2"),
        ("GET", f"/_s3/{bucket}/{existing}"),
        ("HEAD", f"/_s3/{bucket}/{existing}"),
        ("PUT", f"/_s3/{bucket}/{planted}"),
        ("DELETE", f"/_s3/{bucket}/{existing}"),
        ("POST", f"/_s3/{bucket}?delete"),
        ("POST", f"/_s3/{bucket}/{planted}?uploads"),
        ("PUT", f"/_s3/{bucket}/{planted}?partNumber=1&uploadId=x"),
    ]:
        response = http.open(path, method=method, data=b"planted")
        assert response.status_code == 403, (method, path)
        if method != "HEAD":
            assert s3_error(response) == (403, "AccessDenied", "Access Denied"), (method, path)
        assert existing not in response.get_data(as_text=True)
    assert stored(local_resources, existing)
    assert not stored(local_resources, planted)


# -- presigned POST --------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 4096, LIMIT])
def test_a_valid_presigned_post_stores_the_object_with_its_type(
    http: FlaskClient, local_resources: LocalResources, size: int
) -> None:
    """content-length-range bounds are inclusive (S3 stored 5 and 10 bytes under [5, 10])."""
    key = new_key()
    response = post_form(http, backend_post(local_resources, key), b"\x00" * size)
    assert response.status_code == 204, response.get_data(as_text=True)
    head = client("s3", local_resources.endpoint_url).head_object(
        Bucket=local_resources.uploads_bucket, Key=key
    )
    assert (head["ContentLength"], head["ContentType"]) == (size, "video/mp4")


def _policy_b64(*conditions: Any, expiration: str = "2100-01-01T00:00:00Z") -> str:
    document = {"expiration": expiration, "conditions": list(conditions)}
    return base64.b64encode(json.dumps(document).encode()).decode()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            {"key": "uploads/someone-else/source"},
            (403, "AccessDenied", "Invalid according to Policy: Policy Condition failed: "),
            id="wrong-key",
        ),
        pytest.param(
            {"x-amz-signature": "0" * 64},
            (403, "SignatureDoesNotMatch", "The request signature we calculated does not match"),
            id="bad-signature",
        ),
        pytest.param(
            {"x-amz-signature": "\u00e9" * 64},
            (403, "SignatureDoesNotMatch", "The request signature we calculated does not match"),
            id="non-ascii-signature",
        ),
        pytest.param(
            {"content_type": "text/plain"},
            (
                403,
                "AccessDenied",
                'Invalid according to Policy: Policy Condition failed: ["starts-with", "$Content-Type", "video/"]',
            ),
            id="wrong-type",
        ),
        pytest.param(
            {"x-amz-meta-owner": "mallory"},
            (403, "AccessDenied", "Invalid according to Policy: Extra input fields: x-amz-meta-owner"),
            id="field-the-policy-does-not-cover",
        ),
        pytest.param(
            {"body": b"\x00" * (LIMIT + 1)},
            (400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"),
            id="over-the-limit",
        ),
        pytest.param(
            {"body": b""},
            (400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"),
            id="empty",
        ),
    ],
)
def test_a_presigned_post_that_breaks_its_policy_is_refused_and_nothing_is_stored(
    http: FlaskClient, local_resources: LocalResources, change: dict[str, Any], expected: tuple[int, str, str]
) -> None:
    key = new_key()
    post = backend_post(local_resources, key)
    body = change.pop("body", b"\x00" * 1024)
    content_type = change.pop("content_type", "video/mp4")
    response = post_form(http, post, body, content_type, **change)
    status, code, message = s3_error(response)
    assert (status, code) == expected[:2]
    assert message.startswith(expected[2])
    assert not stored(local_resources, key)
    assert not stored(local_resources, "uploads/someone-else/source")


def test_an_expired_policy_is_refused(
    http: FlaskClient, gateway: Gateway, local_resources: LocalResources
) -> None:
    """An expired policy: 403 AccessDenied "Invalid according to Policy: Policy expired." """
    key = new_key()
    post = backend_post(local_resources, key)
    gateway.s3_gate.clock = lambda: datetime.now(UTC) + timedelta(hours=2)  # the backend signs for one hour
    response = (
        create_app(gateway)
        .test_client()
        .post(
            post["url"].removeprefix(PUBLIC),
            data={**post["fields"], "Content-Type": "video/mp4", "file": (io.BytesIO(b"\x00" * 10), "c.mp4")},
        )
    )
    assert s3_error(response) == (403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    assert not stored(local_resources, key)


def test_a_post_signed_by_anyone_but_a_known_signer_is_refused(
    http: FlaskClient, local_resources: LocalResources
) -> None:
    """Signed with credentials the gateway does not know: 403 InvalidAccessKeyId; signed with
    a known access key but another secret: 403 SignatureDoesNotMatch."""
    stranger = Credentials("AKIASTRANGER00000000", "stranger-secret")
    impostor = Credentials(BACKEND_CREDENTIALS.access_key, "not-the-backend-secret")
    for credentials, code in [(stranger, "InvalidAccessKeyId"), (impostor, "SignatureDoesNotMatch")]:
        key = new_key()
        response = post_form(http, backend_post(local_resources, key, credentials), b"\x00" * 10)
        assert s3_error(response)[:2] == (403, code)
        assert not stored(local_resources, key)


def test_a_post_without_a_policy_is_anonymous_and_one_without_its_signature_is_a_400(
    http: FlaskClient, local_resources: LocalResources
) -> None:
    bucket_path = f"/_s3/{local_resources.uploads_bucket}"
    key = new_key()
    anonymous = http.post(bucket_path, data={"key": key, "file": (io.BytesIO(b"x"), "c.mp4")})
    assert s3_error(anonymous) == (403, "AccessDenied", "Access Denied")
    fields = dict(backend_post(local_resources, key)["fields"])
    del fields["x-amz-signature"]
    unsigned = http.post(bucket_path, data={**fields, "file": (io.BytesIO(b"x"), "c.mp4")})
    assert s3_error(unsigned)[:2] == (400, "InvalidArgument")
    not_a_form = http.post(bucket_path, data=b"key=x", content_type="application/x-www-form-urlencoded")
    assert s3_error(not_a_form)[:2] == (412, "PreconditionFailed")
    assert not stored(local_resources, key)


def test_fields_before_the_file_over_20_kib_are_refused(
    http: FlaskClient, local_resources: LocalResources
) -> None:
    """ "The form data and boundaries (excluding the contents of the file) cannot exceed 20KB":
    400 MaxPostPreDataLengthExceeded (sigv4-HTTPPOSTForms; S3's answer names 20480 bytes)."""
    key = new_key()
    response = post_form(
        http, backend_post(local_resources, key), b"\x00" * 10, **{"x-ignore-pad": "p" * 30_000}
    )
    assert s3_error(response)[:2] == (400, "MaxPostPreDataLengthExceeded")
    assert not stored(local_resources, key)


class CountingBody(io.RawIOBase):
    """A request body made on demand: ``head``, ``size`` zero bytes, ``tail``; counts what was read."""

    def __init__(self, head: bytes, size: int, tail: bytes) -> None:
        self._parts: Iterator[bytes] = iter([head, *([b"\x00" * 65536] * (size // 65536)), tail])
        self._pending = b""
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            self._pending = next(self._parts, b"")
            if not self._pending:
                return 0
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self.read_bytes += count
        return count


def test_an_upload_over_the_limit_is_refused_at_the_limit_without_reading_the_rest(
    app: Flask, local_resources: LocalResources
) -> None:
    """The size is counted as the file streams in; reading stops once it passes the policy's
    maximum, so a huge upload is neither buffered nor read to its end."""
    key = new_key()
    post = backend_post(local_resources, key)
    boundary = "reelstack-test-boundary"
    fields = {**post["fields"], "Content-Type": "video/mp4"}
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n'.encode()
    )
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = 64 * 1024 * 1024
    body = CountingBody(head, size, tail)
    # As a server hands it over: a stream read as the client sends, never seekable.
    environ = EnvironBuilder(
        path=post["url"].removeprefix(PUBLIC),
        method="POST",
        content_type=f"multipart/form-data; boundary={boundary}",
    ).get_environ()
    environ["wsgi.input"] = io.BufferedReader(body)
    environ["CONTENT_TYPE"] = f"multipart/form-data; boundary={boundary}"
    environ["CONTENT_LENGTH"] = str(len(head) + size + len(tail))
    answer, status, _ = run_wsgi_app(app, environ)
    assert (status, *s3_error_xml(b"".join(answer).decode())[:1]) == ("400 BAD REQUEST", "EntityTooLarge")
    assert body.read_bytes < len(head) + LIMIT + 2 * 65536
    assert not stored(local_resources, key)


def test_post_policy_conditions_match_as_s3_matches_them() -> None:
    """Field names compare case-insensitively, values case-sensitively; a starts-with on
    Content-Type checks each value of a comma-separated list; a condition on an absent field
    fails; x-ignore- fields need no condition (sigv4-HTTPPOSTConstructPolicy)."""
    now = datetime(2030, 1, 1, tzinfo=UTC)
    policy = PostPolicy.decode(
        _policy_b64({"bucket": "b"}, ["starts-with", "$Content-Type", "video/"], ["eq", "$Key", "k"])
    )
    policy.check({"bucket": "b", "content-type": "video/mp4,video/webm", "key": "k", "x-ignore-me": "1"}, now)
    for fields in (
        {"bucket": "b", "content-type": "video/mp4,text/plain", "key": "k"},
        {"bucket": "b", "content-type": "video/mp4", "key": "K"},
        {"bucket": "b", "key": "k"},
        {"bucket": "other", "content-type": "video/mp4", "key": "k"},
    ):
        with pytest.raises(S3Refusal) as refused:
            policy.check(fields, now)
        assert (refused.value.status, refused.value.code) == (403, "AccessDenied")
    for document, message in [
        ("bm90IGpzb24=", "Invalid Policy: Invalid JSON."),
        (_policy_b64({"bucket": "b", "key": "k"}), "Invalid Policy: Invalid Simple-Condition"),
        (_policy_b64(["ends-with", "$key", "k"]), "Invalid Policy: Invalid Condition: unknown operation"),
        (_policy_b64(expiration="2030-01-01 00:00:00 UTC"), "Invalid Policy: Invalid 'expiration' value"),
    ]:
        with pytest.raises(S3Refusal) as invalid:
            PostPolicy.decode(document)
        assert (invalid.value.status, invalid.value.code) == (400, "InvalidPolicyDocument")
        assert invalid.value.message.startswith(message)


def test_a_credential_of_another_region_or_service_or_malformed_is_a_400() -> None:
    """S3 answers a credential scope for another region 400 InvalidArgument "the region 'x' is
    wrong; expecting 'y'" (the signature is valid only within its scope,
    https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-post-example.html)."""
    assert Scope.parse("AKIA1/20300101/us-east-1/s3/aws4_request", "us-east-1").access_key == "AKIA1"
    for credential in (
        "AKIA1/20300101/eu-west-1/s3/aws4_request",
        "AKIA1/20300101/us-east-1/sqs/aws4_request",
        "AKIA1/20300101/us-east-1/s3",
        "/20300101/us-east-1/s3/aws4_request",
    ):
        with pytest.raises(S3Refusal) as refused:
            Scope.parse(credential, "us-east-1")
        assert (refused.value.status, refused.value.code) == (400, "InvalidArgument"), credential


# -- presigned multipart part uploads ---------------------------------------------------------


def _multipart(resources: LocalResources) -> tuple[str, str]:
    key = new_key()
    upload = client("s3", resources.endpoint_url).create_multipart_upload(
        Bucket=resources.uploads_bucket, Key=key, ContentType="video/mp4"
    )
    return key, upload["UploadId"]


def part_url(
    resources: LocalResources, key: str, upload_id: str, credentials: Credentials = BACKEND_CREDENTIALS
) -> str:
    """A part URL as the backend's ``part_urls`` presigns it."""
    url: str = presigner(credentials).generate_presigned_url(
        "upload_part",
        Params={"Bucket": resources.uploads_bucket, "Key": key, "UploadId": upload_id, "PartNumber": 1},
        ExpiresIn=3600,
    )
    return url.removeprefix(PUBLIC)


def test_a_presigned_part_upload_is_stored_and_completes(
    http: FlaskClient, local_resources: LocalResources
) -> None:
    key, upload_id = _multipart(local_resources)
    response = http.put(part_url(local_resources, key, upload_id), data=b"\x01" * 2048)
    assert response.status_code == 200, response.get_data(as_text=True)
    etag = response.headers["ETag"]
    client("s3", local_resources.endpoint_url).complete_multipart_upload(
        Bucket=local_resources.uploads_bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert stored(local_resources, key)


def test_a_part_upload_with_a_bad_expired_or_stranger_signature_is_refused(
    http: FlaskClient, gateway: Gateway, local_resources: LocalResources
) -> None:
    """Presigned URL checks: the signature over method, path, query and host
    (403 SignatureDoesNotMatch), a signer S3 knows (403 InvalidAccessKeyId), the expiry
    (403 AccessDenied "Request has expired")."""
    key, upload_id = _multipart(local_resources)
    url = part_url(local_resources, key, upload_id)
    stranger = Credentials("AKIASTRANGER00000000", "stranger-secret")
    cases = [
        (url.replace("partNumber=1", "partNumber=2"), "SignatureDoesNotMatch"),
        (url.replace(key, new_key()), "SignatureDoesNotMatch"),
        (part_url(local_resources, key, upload_id, stranger), "InvalidAccessKeyId"),
    ]
    for tampered, code in cases:
        assert s3_error(http.put(tampered, data=b"\x01" * 16))[:2] == (403, code)
    gateway.s3_gate.clock = lambda: datetime.now(UTC) + timedelta(hours=2)
    expired = create_app(gateway).test_client().put(url, data=b"\x01" * 16)
    assert s3_error(expired) == (403, "AccessDenied", "Request has expired")
    parts = client("s3", local_resources.endpoint_url).list_parts(
        Bucket=local_resources.uploads_bucket, Key=key, UploadId=upload_id
    )
    assert parts.get("Parts", []) == []


def test_a_part_over_5_gib_is_refused_before_its_body_is_read(
    app: Flask, local_resources: LocalResources
) -> None:
    """ "Part size: 5 MiB to 5 GiB" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html):
    a larger Content-Length is 400 EntityTooLarge, answered before a byte of the body is read."""
    key, upload_id = _multipart(local_resources)
    body = CountingBody(b"", 0, b"\x01" * 16)
    environ = EnvironBuilder(path=part_url(local_resources, key, upload_id), method="PUT").get_environ()
    environ["wsgi.input"] = io.BufferedReader(body)
    environ["CONTENT_LENGTH"] = str(5 * 1024**3 + 1)
    answer, status, _ = run_wsgi_app(app, environ)
    assert (status, s3_error_xml(b"".join(answer).decode())[0]) == ("400 BAD REQUEST", "EntityTooLarge")
    assert body.read_bytes == 0


# -- the gateway's own credentials --------------------------------------------------------------


def test_the_signer_is_handed_to_the_gateway_through_its_environment() -> None:
    backend_env = {"AWS_ACCESS_KEY_ID": "ASIAROLE", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}
    signer = signer_from_environment({"PATH": "/bin", **signer_environment(backend_env)})
    assert signer is not None
    assert (signer.access_key, signer.secret_key, signer.token) == ("ASIAROLE", "s", "t")
    assert signer_from_environment({"AWS_ACCESS_KEY_ID": "mine", "AWS_SECRET_ACCESS_KEY": "mine"}) is None


def test_under_iam_enforcement_uploads_are_forwarded_with_the_gateways_own_credentials(
    gateway: Gateway, local_resources: LocalResources, moto_endpoint: str
) -> None:
    """Under enforcement the emulator answers a presigned POST with a 500 whatever signed it
    (LOCAL-AWS.md); the gateway verifies it itself and sends it on signed as its own IAM
    identity, which the emulator then authorizes."""
    bucket = local_resources.uploads_bucket
    iam = client("iam", local_resources.endpoint_url)
    user = f"gateway-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="uploads",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:PutObject",
                        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    }
                ],
            }
        ),
    )
    key_pair = iam.create_access_key(UserName=user)["AccessKey"]
    gateway.s3_gate = S3Gate(
        endpoint_url=local_resources.endpoint_url,
        signers=[BACKEND_CREDENTIALS],
        credentials=Credentials(key_pair["AccessKeyId"], key_pair["SecretAccessKey"]),
    )
    http = create_app(gateway).test_client()
    key, direct_key = new_key(), new_key()
    direct, through = backend_post(local_resources, direct_key), backend_post(local_resources, key)
    part_key, upload_id = _multipart(local_resources)
    with iam_enforcement(moto_endpoint):
        straight_to_the_emulator = requests.post(
            f"{moto_endpoint}/{bucket}",
            data={**direct["fields"], "Content-Type": "video/mp4"},
            files={"file": ("clip.mp4", b"\x00" * 10, "video/mp4")},
            timeout=10,
        )
        through_the_gateway = post_form(http, through, b"\x00" * 10)
        part = http.put(part_url(local_resources, part_key, upload_id), data=b"\x01" * 16)
    assert straight_to_the_emulator.status_code == 500
    assert part.status_code == 200, part.get_data(as_text=True)
    assert through_the_gateway.status_code == 204, through_the_gateway.get_data(as_text=True)
    assert stored(local_resources, key)
