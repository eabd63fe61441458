"""The backend's AWS clients, as they are built on AWS (no endpoint override)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from app.backend.aws import AwsClients
from app.contracts.settings import BackendSettings

UPLOADS_BUCKET = "reelstack-prod-uploads-1a2b3c"


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-4"])
def test_browser_uploads_are_signed_for_the_buckets_regional_endpoint(
    region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The browser sends its upload to the URL the backend signs. AWS's "Why does Amazon S3
    return a 307 Temporary Redirect?" (https://repost.aws/knowledge-center/s3-http-307-response):
    for up to 24 hours after a bucket is created, requests to an endpoint outside its Region get
    307 Temporary Redirect ("send requests only to the Regional endpoint that's in the same Region
    as your S3 bucket"); a browser's CORS preflight does not follow a redirect. And "Request
    routing" (https://docs.aws.amazon.com/AmazonS3/latest/API/UsingRouting.html): in Regions
    launched after March 20, 2019 (ap-southeast-4 is one), a request arriving at the wrong
    location gets 400 Bad Request. botocore signs for the global s3.amazonaws.com unless told."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.setenv("AWS_REGION", region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    # On AWS no public endpoint is set: browsers reach S3 itself.
    settings = BackendSettings.model_construct(s3_public_endpoint_url="")
    presign = AwsClients.from_settings(settings).s3_presign
    regional = f"{UPLOADS_BUCKET}.s3.{region}.amazonaws.com"

    post = presign.generate_presigned_post(Bucket=UPLOADS_BUCKET, Key="incoming/v/source")
    part = presign.generate_presigned_url(
        "upload_part",
        Params={"Bucket": UPLOADS_BUCKET, "Key": "incoming/v/source", "UploadId": "u", "PartNumber": 1},
    )
    assert urlsplit(post["url"]).hostname == regional
    assert urlsplit(part).hostname == regional
