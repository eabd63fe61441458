"""MediaStorage: the uploads, media and web buckets, and their policies.

Browsers upload straight to the uploads bucket (presigned POST, CORS); the transcoder
writes the media bucket; the site's CloudFront distribution (``SiteDistribution``) reads
the web and media buckets through Origin Access Control, so the buckets stay private.
A bucket has one bucket policy, so this component, which owns the buckets, writes each
whole: TLS only, plus the read grant of the distribution it is given.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from app.contracts.names import INCOMING_KEY_PREFIX, UPLOADS_KEY_PREFIX, ResourceNames
from infra._common import (
    args_of,
    cloudfront_read_statement,
    declared_outputs,
    json_document,
    standard_tags,
    tls_only_bucket_policy,
)
from infra.types import BucketReference


@dataclass(frozen=True)
class MediaStorageArgs:
    """Every knob of the storage."""

    names: ResourceNames
    """Shared physical names; buckets are created with these as prefixes."""
    reader_distribution_arn: pulumi.Input[str] | None = None
    """The CloudFront distribution that may read the web and media buckets
    (``SiteDistribution.distribution_arn``); None: nothing reads them."""
    existing_uploads_bucket: BucketReference | None = None
    """An existing bucket for source uploads instead of one the component makes (None: it makes
    one). A bucket you bring is yours whole: the component writes none of its settings (policy,
    CORS, lifecycle, encryption, versioning), since S3 keeps one of each per bucket and writing one
    would replace yours; give it what ``upload_origins`` and the lifecycle fields describe."""
    existing_media_bucket: BucketReference | None = None
    """An existing bucket for transcoded media instead of one the component makes; yours whole, as
    ``existing_uploads_bucket`` (its policy must let ``reader_distribution_arn`` read it)."""
    existing_web_bucket: BucketReference | None = None
    """An existing bucket for the web app instead of one the component makes; yours whole, as
    ``existing_uploads_bucket`` (its policy must let ``reader_distribution_arn`` read it)."""
    upload_origins: Sequence[pulumi.Input[str]] = ()
    """Origins browsers may upload from (the site's ``SiteDistribution.web_url``)."""
    raw_upload_expiry_days: int = 7
    """Source uploads are deleted this many days after upload (transcoded media stays); with
    ``keep_sources``, only the uploads never accepted are, and accepted sources are archived then."""
    keep_sources: bool = False
    """Keep every accepted source (``uploads/``) for as long as its video, so it can be transcoded
    again without a new upload (``reelstack retranscode``): moved to S3 Glacier Instant Retrieval
    ``raw_upload_expiry_days`` after upload instead of deleted. Instant Retrieval reads as Standard
    does (no restore), bills at least 90 days and 128 KB an object, and smaller objects stay Standard."""
    incomplete_multipart_days: int = 1
    """Abandoned multipart uploads are aborted after this many days."""
    version_uploads: bool = False
    """Keep versions of source uploads (prod)."""
    protect: bool = False
    """Pulumi ``protect`` on the buckets (prod)."""
    force_destroy: bool = True
    """Let ``pulumi destroy`` delete non-empty buckets (dev only)."""
    owner: str = "platform"
    """The ``owner`` tag."""


def bucket_regional_domain_name(bucket: str, region: str) -> str:
    """The regional virtual-hosted name of a bucket, where CloudFront reaches it as an origin."""
    return f"{bucket}.s3.{region}.amazonaws.com"


KEPT_SOURCE_STORAGE_CLASS = "GLACIER_IR"


def kept_source_rules(
    expiry_days: int,
    abort_multipart: aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs,
) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    """The uploads bucket's rules when sources are kept: what the browser uploaded and no one
    accepted (``incoming/``) expires after ``expiry_days``; accepted sources (``uploads/``) move to
    Glacier Instant Retrieval then, and stay until their video is deleted. Prefixes, because a
    lifecycle filter cannot exclude (and an expiration would win over a transition on one object);
    abandoned multipart uploads are aborted anywhere."""
    rule = aws.s3.BucketLifecycleConfigurationRuleArgs
    by_prefix = aws.s3.BucketLifecycleConfigurationRuleFilterArgs
    return [
        rule(
            id="expire-unaccepted-uploads",
            status="Enabled",
            filter=by_prefix(prefix=INCOMING_KEY_PREFIX),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expiry_days),
        ),
        rule(
            id="archive-kept-sources",
            status="Enabled",
            filter=by_prefix(prefix=UPLOADS_KEY_PREFIX),
            transitions=[
                aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                    days=expiry_days, storage_class=KEPT_SOURCE_STORAGE_CLASS
                )
            ],
        ),
        rule(
            id="abort-incomplete-multipart",
            status="Enabled",
            filter=by_prefix(prefix=""),
            abort_incomplete_multipart_upload=abort_multipart,
        ),
    ]


@dataclass(frozen=True)
class _StoredBucket:
    """One of the three buckets, made here (``made``) or brought by the Args."""

    name: pulumi.Input[str]
    arn: pulumi.Input[str]
    regional_domain_name: pulumi.Input[str]
    made: aws.s3.Bucket | None


class MediaStorage(pulumi.ComponentResource):
    """Three private, encrypted, TLS-only buckets."""

    uploads_bucket: pulumi.Output[str]
    uploads_bucket_arn: pulumi.Output[str]
    media_bucket: pulumi.Output[str]
    media_bucket_arn: pulumi.Output[str]
    web_bucket: pulumi.Output[str]
    web_bucket_arn: pulumi.Output[str]
    media_bucket_domain_name: pulumi.Output[str]
    web_bucket_domain_name: pulumi.Output[str]
    uploads: aws.s3.Bucket | None
    """The uploads bucket; None when the Args brought one (``existing_uploads_bucket``)."""
    media: aws.s3.Bucket | None
    """The media bucket; None when the Args brought one (``existing_media_bucket``)."""
    web: aws.s3.Bucket | None
    """The web bucket; None when the Args brought one (``existing_web_bucket``)."""

    def __init__(self, name: str, args: MediaStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = args_of(MediaStorageArgs, args)
        super().__init__("reelstack:index:MediaStorage", name, None, opts)
        tags = standard_tags("storage", args.owner)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect)

        def bucket(role: str, physical_prefix: str, versioned: bool) -> aws.s3.Bucket:
            b = aws.s3.Bucket(
                f"{name}-{role}",
                bucket_prefix=f"{physical_prefix}-",
                force_destroy=args.force_destroy,
                tags={**tags, "Name": physical_prefix},
                opts=stateful,
            )
            aws.s3.BucketPublicAccessBlock(
                f"{name}-{role}",
                bucket=b.id,
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
                opts=child,
            )
            aws.s3.BucketOwnershipControls(
                f"{name}-{role}",
                bucket=b.id,
                rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
                opts=child,
            )
            aws.s3.BucketServerSideEncryptionConfiguration(
                f"{name}-{role}",
                bucket=b.id,
                rules=[
                    aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                        apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                            sse_algorithm="AES256"
                        ),
                        bucket_key_enabled=True,
                    )
                ],
                opts=child,
            )
            if versioned:
                aws.s3.BucketVersioning(
                    f"{name}-{role}",
                    bucket=b.id,
                    versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                        status="Enabled"
                    ),
                    opts=child,
                )
            return b

        brought = (args.existing_uploads_bucket, args.existing_media_bucket, args.existing_web_bucket)
        region = (
            aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
            if any(b is not None for b in brought)
            else None
        )

        def stored(
            role: str, physical_prefix: str, versioned: bool, existing: BucketReference | None
        ) -> _StoredBucket:
            if existing is None or region is None:  # region is known whenever a bucket is brought
                made = bucket(role, physical_prefix, versioned)
                return _StoredBucket(made.bucket, made.arn, made.bucket_regional_domain_name, made)
            domain_name = pulumi.Output.all(existing.name, region).apply(
                lambda v: bucket_regional_domain_name(v[0], v[1])
            )
            return _StoredBucket(existing.name, existing.arn, domain_name, None)

        uploads = stored(
            "uploads", args.names.uploads_bucket, args.version_uploads, args.existing_uploads_bucket
        )
        media = stored("media", args.names.media_bucket, False, args.existing_media_bucket)
        web = stored("web", args.names.web_bucket, False, args.existing_web_bucket)

        abort_multipart = aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=args.incomplete_multipart_days
        )
        upload_rules = (
            kept_source_rules(args.raw_upload_expiry_days, abort_multipart)
            if args.keep_sources
            else [
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-raw-uploads",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=args.raw_upload_expiry_days
                    ),
                    abort_incomplete_multipart_upload=abort_multipart,
                )
            ]
        )
        if args.version_uploads:
            upload_rules.append(
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-old-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.raw_upload_expiry_days
                    ),
                )
            )
        if uploads.made:
            aws.s3.BucketLifecycleConfiguration(
                f"{name}-uploads", bucket=uploads.made.id, rules=upload_rules, opts=child
            )
        if media.made:
            aws.s3.BucketLifecycleConfiguration(
                f"{name}-media",
                bucket=media.made.id,
                rules=[
                    aws.s3.BucketLifecycleConfigurationRuleArgs(
                        id="abort-incomplete-multipart",
                        status="Enabled",
                        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                        abort_incomplete_multipart_upload=abort_multipart,
                    )
                ],
                opts=child,
            )

        def bucket_policy(bucket_arn: str, reader_arn: str | None, readable: bool) -> dict[str, Any]:
            extra = [cloudfront_read_statement(bucket_arn, reader_arn)] if readable and reader_arn else []
            return tls_only_bucket_policy(bucket_arn, extra)

        for role, b, readable in (
            ("uploads", uploads.made, False),
            ("media", media.made, True),
            ("web", web.made, True),
        ):
            if b is None:
                continue
            document = pulumi.Output.all(b.arn, args.reader_distribution_arn, readable).apply(
                lambda v: bucket_policy(v[0], v[1], bool(v[2]))
            )
            aws.s3.BucketPolicy(
                f"{name}-{role}",
                bucket=b.id,
                policy=json_document(document),
                opts=child,
            )

        # A CORS rule needs at least one origin (and none: no browser uploads).
        if uploads.made and args.upload_origins:
            aws.s3.BucketCorsConfiguration(
                f"{name}-uploads",
                bucket=uploads.made.id,
                cors_rules=[
                    aws.s3.BucketCorsConfigurationCorsRuleArgs(
                        allowed_methods=["POST", "PUT", "GET", "HEAD"],
                        allowed_origins=list(args.upload_origins),
                        allowed_headers=["*"],
                        expose_headers=["ETag"],
                        max_age_seconds=3600,
                    )
                ],
                opts=child,
            )

        self.uploads_bucket = pulumi.Output.from_input(uploads.name)
        self.uploads_bucket_arn = pulumi.Output.from_input(uploads.arn)
        self.media_bucket = pulumi.Output.from_input(media.name)
        self.media_bucket_arn = pulumi.Output.from_input(media.arn)
        self.web_bucket = pulumi.Output.from_input(web.name)
        self.web_bucket_arn = pulumi.Output.from_input(web.arn)
        self.media_bucket_domain_name = pulumi.Output.from_input(media.regional_domain_name)
        self.web_bucket_domain_name = pulumi.Output.from_input(web.regional_domain_name)
        self.uploads = uploads.made
        self.media = media.made
        self.web = web.made
        self.register_outputs(declared_outputs(self))
