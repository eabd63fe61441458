from __future__ import annotations

from typing import Any

import pulumi
import pytest

from app.contracts.names import INCOMING_KEY_PREFIX, UPLOADS_KEY_PREFIX, ResourceNames
from infra._common import tls_only_bucket_policy
from infra.storage import MediaStorage, MediaStorageArgs
from infra.types import BucketReference
from pulumi_offline.graph import Graph
from pulumi_offline.synth import run_program, synthesize_stack

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


def _upload_rules(graph: Graph) -> dict[str, dict[str, Any]]:
    rules = graph.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "media-uploads")
    return {r["id"]: r for r in rules.inputs["rules"]}


def test_raw_uploads_expire_and_abandoned_multipart_uploads_are_aborted(prod: Graph, dev: Graph) -> None:
    expiry = _upload_rules(dev)["expire-raw-uploads"]  # dev keeps no source
    assert expiry["filter"] == {"prefix": ""}
    assert expiry["expiration"]["days"] == 3
    assert expiry["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 1
    abort = _upload_rules(prod)["abort-incomplete-multipart"]
    assert abort["filter"] == {"prefix": ""}
    assert abort["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 1
    media_rules = prod.one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "media-media"
    ).inputs["rules"]
    assert "expiration" not in media_rules[0]


def test_kept_sources_move_to_glacier_instant_retrieval_and_only_unaccepted_uploads_expire(
    prod: Graph, dev: Graph
) -> None:
    """``keepSources`` (prod on, dev off; each overridden the other way): accepted sources
    (``uploads/``) transition to GLACIER_IR after ``rawUploadExpiryDays`` and never expire, while
    what the browser uploaded and nobody accepted (``incoming/``) expires then. AWS rules:
    a lifecycle transition's Days for GLACIER_IR may be 0 or more (STANDARD_IA and ONEZONE_IA need
    more than 30), https://docs.aws.amazon.com/AmazonS3/latest/API/API_Transition.html; objects in
    S3 Glacier Instant Retrieval "are immediately available using GET" (no RestoreObject, which
    Flexible Retrieval and Deep Archive need),
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/restoring-objects-retrieval-options.html;
    its minimum storage duration is 90 days (an earlier delete is billed the rest),
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/glacier-storage-classes.html; and by
    default (TransitionDefaultMinimumObjectSize all_storage_classes_128K) objects under 128 KB do
    not transition, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-s3-bucket-lifecycleconfig.html.
    An expiration and a transition of one object cannot be told apart by a filter (none excludes),
    so the two live under two prefixes."""
    kept_prod = _upload_rules(prod)
    kept_dev = _upload_rules(Graph.of(synthesize_stack("dev", overrides={"reelstack:keepSources": "true"})))
    for rules, days in ((kept_prod, 30), (kept_dev, 3)):
        archive = rules["archive-kept-sources"]
        assert archive["filter"] == {"prefix": UPLOADS_KEY_PREFIX}
        assert archive["transitions"] == [{"days": days, "storageClass": "GLACIER_IR"}]
        assert "expiration" not in archive
        expire = rules["expire-unaccepted-uploads"]
        assert expire["filter"] == {"prefix": INCOMING_KEY_PREFIX}
        assert expire["expiration"] == {"days": days}
        # Nothing else expires a current object: the kept sources stay as long as their videos.
        assert [r for r in rules.values() if "expiration" in r] == [expire]
    assert "expire-old-versions" in kept_prod  # prod is versioned: old versions still expire
    for rules in (
        _upload_rules(dev),
        _upload_rules(Graph.of(synthesize_stack("prod", overrides={"reelstack:keepSources": "false"}))),
    ):
        assert "archive-kept-sources" not in rules
        assert rules["expire-raw-uploads"]["filter"] == {"prefix": ""}
        assert not any("transitions" in r for r in rules.values())


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


def test_storage_outputs_name_its_buckets(prod: Graph) -> None:
    component = prod.one("reelstack:index:MediaStorage", "media")
    outputs = prod.outputs_of(component)
    buckets = {r.name: r for r in prod.children(component) if r.type == "aws:s3/bucket:Bucket"}
    assert set(buckets) == set(BUCKETS)
    assert outputs["uploads_bucket"].startswith("reelstack-prod-uploads-")
    assert outputs["media_bucket_domain_name"].startswith(outputs["media_bucket"] + ".s3.")
    assert prod.exports["uploads_bucket"] == outputs["uploads_bucket"]
    assert prod.exports["media_bucket"] == outputs["media_bucket"]


def test_storage_holds_only_the_buckets_and_their_settings(prod: Graph) -> None:
    """The distribution, its function and its key store are SiteDistribution's, not the storage's."""
    children = {r.type for r in prod.children(prod.one("reelstack:index:MediaStorage", "media"))}
    assert all(t.startswith("aws:s3/") for t in children)


def _storage(**args: Any) -> Graph:
    return Graph.of(
        run_program(lambda: MediaStorage("media", MediaStorageArgs(ResourceNames("reelstack-test"), **args)))
    )


def test_without_a_reader_the_buckets_grant_no_read_and_take_no_browser_uploads() -> None:
    """A CORS rule needs at least one allowed origin ("AllowedOrigins ... Required: Yes",
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-s3-bucket-corsrule.html),
    so with no origin none is written."""
    graph = _storage()
    for bucket in BUCKETS:
        assert [
            s["Effect"] for s in graph.policy("aws:s3/bucketPolicy:BucketPolicy", bucket)["Statement"]
        ] == ["Deny"]
    assert graph.of_type("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration") == []


def test_the_given_distribution_reads_and_the_given_origins_upload() -> None:
    distribution_arn = "arn:aws:cloudfront::123456789012:distribution/EXAMPLE"
    graph = _storage(reader_distribution_arn=distribution_arn, upload_origins=("https://video.example.com",))
    web = graph.policy("aws:s3/bucketPolicy:BucketPolicy", "media-web")
    allow = [s for s in web["Statement"] if s["Effect"] == "Allow"]
    assert allow[0]["Condition"]["StringEquals"]["AWS:SourceArn"] == distribution_arn
    cors = graph.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration", "media-uploads").inputs
    assert cors["corsRules"][0]["allowedOrigins"] == ["https://video.example.com"]


def test_a_brought_bucket_is_used_as_it_is_and_nothing_is_made_for_it() -> None:
    """S3 keeps one policy, one CORS and one lifecycle configuration per bucket, so writing any of
    them to a bucket the caller brought would replace the caller's: the component makes nothing for
    it, and makes (and configures) the buckets it was not given. A brought bucket's origin name is
    its regional virtual-hosted name, ``bucket-name.s3.region-code.amazonaws.com`` (AWS: "Virtual
    hosting of general purpose buckets",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html)."""
    outputs: dict[str, Any] = {}

    def program() -> None:
        storage = MediaStorage(
            "media",
            MediaStorageArgs(
                ResourceNames("reelstack-test"),
                reader_distribution_arn="arn:aws:cloudfront::123456789012:distribution/E1",
                upload_origins=("https://example.org",),
                existing_uploads_bucket=BucketReference(name="lab-sources", arn="arn:aws:s3:::lab-sources"),
                existing_media_bucket=BucketReference(
                    name="lab-renditions", arn="arn:aws:s3:::lab-renditions"
                ),
            ),
        )
        assert storage.uploads is None and storage.media is None and storage.web is not None
        pulumi.Output.all(
            uploads=storage.uploads_bucket,
            uploads_arn=storage.uploads_bucket_arn,
            media=storage.media_bucket,
            media_domain=storage.media_bucket_domain_name,
        ).apply(outputs.update)

    graph = Graph.of(run_program(program))
    made = [r for r in graph.resources if r.type.startswith("aws:s3/")]
    assert {r.name for r in made} == {"media-web"}
    assert sorted(r.type.rsplit(":", 1)[1] for r in made) == [
        "Bucket",
        "BucketOwnershipControls",
        "BucketPolicy",
        "BucketPublicAccessBlock",
        "BucketServerSideEncryptionConfiguration",
    ]
    assert outputs == {
        "uploads": "lab-sources",
        "uploads_arn": "arn:aws:s3:::lab-sources",
        "media": "lab-renditions",
        "media_domain": "lab-renditions.s3.us-east-1.amazonaws.com",
    }
