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

from app.contracts.names import ResourceNames
from infra._common import (
    args_of,
    cloudfront_read_statement,
    declared_outputs,
    json_document,
    standard_tags,
    tls_only_bucket_policy,
)


@dataclass(frozen=True)
class MediaStorageArgs:
    """Every knob of the storage."""

    names: ResourceNames
    """Shared physical names; buckets are created with these as prefixes."""
    reader_distribution_arn: pulumi.Input[str] | None = None
    """The CloudFront distribution that may read the web and media buckets
    (``SiteDistribution.distribution_arn``); None: nothing reads them."""
    upload_origins: Sequence[pulumi.Input[str]] = ()
    """Origins browsers may upload from (the site's ``SiteDistribution.web_url``)."""
    raw_upload_expiry_days: int = 7
    """Source uploads are deleted this many days after upload (transcoded media stays)."""
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
    uploads: aws.s3.Bucket
    """The uploads bucket."""
    media: aws.s3.Bucket
    """The media bucket."""
    web: aws.s3.Bucket
    """The web bucket."""

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

        uploads = bucket("uploads", args.names.uploads_bucket, args.version_uploads)
        media = bucket("media", args.names.media_bucket, False)
        web = bucket("web", args.names.web_bucket, False)

        abort_multipart = aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=args.incomplete_multipart_days
        )
        upload_rules = [
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
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-uploads", bucket=uploads.id, rules=upload_rules, opts=child
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-media",
            bucket=media.id,
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

        for role, b, readable in (("uploads", uploads, False), ("media", media, True), ("web", web, True)):
            document = pulumi.Output.all(b.arn, args.reader_distribution_arn, readable).apply(
                lambda v: bucket_policy(v[0], v[1], bool(v[2]))
            )
            aws.s3.BucketPolicy(
                f"{name}-{role}",
                bucket=b.id,
                policy=json_document(document),
                opts=child,
            )

        if args.upload_origins:  # a CORS rule needs at least one origin (and none: no browser uploads)
            aws.s3.BucketCorsConfiguration(
                f"{name}-uploads",
                bucket=uploads.id,
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

        self.uploads_bucket = uploads.bucket
        self.uploads_bucket_arn = uploads.arn
        self.media_bucket = media.bucket
        self.media_bucket_arn = media.arn
        self.web_bucket = web.bucket
        self.web_bucket_arn = web.arn
        self.media_bucket_domain_name = media.bucket_regional_domain_name
        self.web_bucket_domain_name = web.bucket_regional_domain_name
        self.uploads = uploads
        self.media = media
        self.web = web
        self.register_outputs(declared_outputs(self))
