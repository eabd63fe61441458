from __future__ import annotations

from typing import Any

import pytest

from app.contracts.names import ResourceNames
from infra._common import tls_only_bucket_policy
from infra.storage import GATEWAY_PATHS, MIN_TLS, MediaStorage, MediaStorageArgs
from pulumi_offline.graph import Graph
from pulumi_offline.synth import run_program

BUCKETS = ("media-uploads", "media-media", "media-web")


@pytest.mark.parametrize("bucket", BUCKETS)
def test_every_bucket_blocks_public_access_and_encrypts(prod: Graph, bucket: str) -> None:
    block = prod.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket).inputs
    assert all(
        block[k] is True
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    sse = prod.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", bucket
    )
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"


@pytest.mark.parametrize("bucket", BUCKETS)
def test_every_bucket_denies_requests_without_tls(prod: Graph, bucket: str) -> None:
    policy = prod.policy("aws:s3/bucketPolicy:BucketPolicy", bucket)
    deny = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_only_the_distribution_reads_web_and_media_and_nobody_reads_uploads(prod: Graph) -> None:
    distribution_arn = "arn:aws:cloudfront::123456789012:distribution/E"
    for bucket in ("media-media", "media-web"):
        allow = [
            s
            for s in prod.policy("aws:s3/bucketPolicy:BucketPolicy", bucket)["Statement"]
            if s["Effect"] == "Allow"
        ]
        assert len(allow) == 1
        assert allow[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert allow[0]["Action"] == "s3:GetObject"
        assert allow[0]["Condition"]["StringEquals"]["AWS:SourceArn"].startswith(distribution_arn)
    uploads = prod.policy("aws:s3/bucketPolicy:BucketPolicy", "media-uploads")
    assert [s["Effect"] for s in uploads["Statement"]] == ["Deny"]


def test_tls_only_policy_covers_the_bucket_and_its_objects() -> None:
    policy = tls_only_bucket_policy("arn:aws:s3:::b")
    assert policy["Statement"][0]["Resource"] == ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]


def test_raw_uploads_expire_and_abandoned_multipart_uploads_are_aborted(prod: Graph, dev: Graph) -> None:
    for graph, days in ((prod, 30), (dev, 3)):
        rules = graph.one(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "media-uploads"
        ).inputs["rules"]
        expiry = next(r for r in rules if r["id"] == "expire-raw-uploads")
        assert expiry["expiration"]["days"] == days
        assert expiry["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 1
    media_rules = prod.one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "media-media"
    ).inputs["rules"]
    assert "expiration" not in media_rules[0]


def test_browsers_may_upload_from_the_web_origin_only(prod: Graph) -> None:
    cors = prod.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration", "media-uploads").inputs[
        "corsRules"
    ][0]
    assert cors["allowedOrigins"] == [prod.exports["web_url"]]
    assert cors["allowedOrigins"][0].endswith(".cloudfront.net")
    assert "POST" in cors["allowedMethods"] and "ETag" in cors["exposeHeaders"]


def test_prod_protects_and_versions_uploads_dev_does_not(prod: Graph, dev: Graph) -> None:
    assert all(b.protect for b in prod.of_type("aws:s3/bucket:Bucket"))
    assert not any(b.protect for b in dev.of_type("aws:s3/bucket:Bucket"))
    assert [v.name for v in prod.of_type("aws:s3/bucketVersioning:BucketVersioning")] == ["media-uploads"]
    assert dev.of_type("aws:s3/bucketVersioning:BucketVersioning") == []
    assert all(b.inputs["forceDestroy"] is False for b in prod.of_type("aws:s3/bucket:Bucket"))


def test_bucket_names_start_with_the_shared_names(prod: Graph) -> None:
    prefixes = sorted(b.inputs["bucketPrefix"] for b in prod.of_type("aws:s3/bucket:Bucket"))
    assert prefixes == ["reelstack-prod-media-", "reelstack-prod-uploads-", "reelstack-prod-web-"]


def test_cloudfront_serves_s3_through_oac_and_forwards_the_api_paths_to_the_gateway(prod: Graph) -> None:
    inputs = prod.one("aws:cloudfront/distribution:Distribution", "media-cdn").inputs
    origins = {o["originId"]: o for o in inputs["origins"]}
    assert (
        origins["web"]["originAccessControlId"] == origins["media"]["originAccessControlId"] == "media-oac-id"
    )
    gateway = origins["gateway"]
    assert gateway["domainName"].endswith(".execute-api.us-east-1.amazonaws.com")
    assert gateway["originPath"] == "/v1"
    assert gateway["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    behaviours = {b["pathPattern"]: b for b in inputs["orderedCacheBehaviors"]}
    for path in GATEWAY_PATHS:
        assert behaviours[path]["targetOriginId"] == "gateway"
        assert behaviours[path]["viewerProtocolPolicy"] == "https-only"
        assert "POST" in behaviours[path]["allowedMethods"]
    assert behaviours["/media/*"]["targetOriginId"] == "media"


def test_cloudfront_never_serves_plain_http_and_requires_tls_1_2(prod: Graph) -> None:
    inputs = prod.one("aws:cloudfront/distribution:Distribution", "media-cdn").inputs
    policies = [inputs["defaultCacheBehavior"]["viewerProtocolPolicy"]] + [
        b["viewerProtocolPolicy"] for b in inputs["orderedCacheBehaviors"]
    ]
    assert set(policies) <= {"https-only", "redirect-to-https"}
    assert inputs["viewerCertificate"]["minimumProtocolVersion"] == MIN_TLS
    oac = prod.one("aws:cloudfront/originAccessControl:OriginAccessControl", "media-oac").inputs
    assert oac["signingBehavior"] == "always" and oac["originAccessControlOriginType"] == "s3"


def test_storage_outputs_name_its_buckets_and_urls(prod: Graph) -> None:
    component = prod.one("reelstack:index:MediaStorage", "media")
    outputs = prod.outputs_of(component)
    buckets = {r.name: r for r in prod.children(component) if r.type == "aws:s3/bucket:Bucket"}
    assert set(buckets) == set(BUCKETS)
    assert outputs["uploads_bucket"].startswith("reelstack-prod-uploads-")
    assert outputs["media_base_url"] == outputs["web_url"] + "/media"
    assert prod.exports["uploads_bucket"] == outputs["uploads_bucket"]
    assert prod.exports["media_bucket"] == outputs["media_bucket"]


DOMAIN = "video.example.com"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c"


def _storage(**args: Any) -> Graph:
    names = ResourceNames("reelstack-test")
    return Graph.of(run_program(lambda: MediaStorage("media", MediaStorageArgs(names, "key", **args))))


def test_without_a_domain_the_distribution_keeps_the_default_certificate(prod: Graph) -> None:
    inputs = prod.one("aws:cloudfront/distribution:Distribution", "media-cdn").inputs
    assert inputs["viewerCertificate"]["cloudfrontDefaultCertificate"] is True
    assert "acmCertificateArn" not in inputs["viewerCertificate"]
    assert inputs.get("aliases", []) == []
    assert prod.exports["web_url"] == f"https://{prod.exports['distribution_domain']}"


def test_a_domain_with_its_certificate_is_served_with_sni_and_tls_1_2() -> None:
    graph = _storage(domain=DOMAIN, certificate_arn=CERTIFICATE)
    inputs = graph.one("aws:cloudfront/distribution:Distribution", "media-cdn").inputs
    assert inputs["aliases"] == [DOMAIN]
    assert inputs["viewerCertificate"] == {
        "acmCertificateArn": CERTIFICATE,
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }


def test_urls_and_upload_origin_name_the_custom_domain() -> None:
    graph = _storage(domain=DOMAIN, certificate_arn=CERTIFICATE)
    outputs = graph.outputs_of(graph.one("reelstack:index:MediaStorage", "media"))
    assert outputs["web_url"] == f"https://{DOMAIN}"
    assert outputs["media_base_url"] == f"https://{DOMAIN}/media"
    assert outputs["domain_name"].endswith(".cloudfront.net")  # where the domain's DNS record points
    cors = graph.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration", "media-uploads").inputs
    assert cors["corsRules"][0]["allowedOrigins"] == [f"https://{DOMAIN}"]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"domain": DOMAIN}, "go together"),
        ({"certificate_arn": CERTIFICATE}, "go together"),
        (
            {"domain": DOMAIN, "certificate_arn": CERTIFICATE.replace("us-east-1", "eu-west-1")},
            "in us-east-1",
        ),
    ],
)
def test_a_domain_needs_a_certificate_from_us_east_1(args: dict[str, str], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        MediaStorageArgs(ResourceNames("reelstack-test"), "key", **args)
