"""S3: public access blocked, default encryption, TLS-only bucket policy, versioned uploads.

A bucket's public access block, encryption, policy and versioning are separate resources
that point at the bucket, so these are stack policies: they follow each companion's ``bucket``
input back to the bucket it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._support import as_list, companions, document, is_true, known, matches, of_type, settings

BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
ENCRYPTION_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")


def _public_access_blocked(args: StackValidationArgs, report: ReportViolation) -> None:
    blocks = companions(args, PUBLIC_ACCESS_BLOCK, "bucket")
    for bucket in of_type(args, BUCKET):
        attached = blocks.get(bucket.urn, [])
        if not attached:
            report(f"bucket {bucket.name} has no BucketPublicAccessBlock", bucket.urn)
    for block in of_type(args, PUBLIC_ACCESS_BLOCK):
        off = [flag for flag in BLOCK_FLAGS if not is_true(known(block.props, flag))]
        if off:
            report(f"public access block {block.name} leaves {', '.join(off)} off", block.urn)


def _encryption_rules(props: Mapping[str, Any]) -> list[Any]:
    return [r.get("applyServerSideEncryptionByDefault") or {} for r in as_list(known(props, "rules"))]


def _encrypted(args: StackValidationArgs, report: ReportViolation) -> None:
    configs = companions(args, ENCRYPTION, "bucket")
    for bucket in of_type(args, BUCKET):
        inline = known(bucket.props, "serverSideEncryptionConfiguration") or {}
        algorithms = [
            rule.get("sseAlgorithm")
            for config in configs.get(bucket.urn, [])
            for rule in _encryption_rules(config.props)
        ]
        algorithms += [
            (rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")
            for rule in as_list(inline.get("rules") if isinstance(inline, Mapping) else None)
        ]
        if not any(a in ENCRYPTION_ALGORITHMS for a in algorithms):
            report(
                f"bucket {bucket.name} has no default server-side encryption "
                f"(one of {', '.join(ENCRYPTION_ALGORITHMS)})",
                bucket.urn,
            )


def _denies_insecure_transport(statement: Mapping[str, Any]) -> bool:
    condition = statement.get("Condition") or {}
    secure = (condition.get("Bool") or {}).get("aws:SecureTransport")
    actions = as_list(statement.get("Action"))
    principal = statement.get("Principal")
    everyone = principal == "*" or (isinstance(principal, Mapping) and principal.get("AWS") == "*")
    return (
        statement.get("Effect") == "Deny"
        and everyone
        and str(secure).lower() == "false"
        and any(a in ("s3:*", "*") for a in actions)
    )


def _tls_only(args: StackValidationArgs, report: ReportViolation) -> None:
    policies = companions(args, BUCKET_POLICY, "bucket")
    for bucket in of_type(args, BUCKET):
        documents = [document(known(p.props, "policy")) for p in policies.get(bucket.urn, [])]
        statements = [s for d in documents if d for s in as_list(d.get("Statement"))]
        if not any(isinstance(s, Mapping) and _denies_insecure_transport(s) for s in statements):
            report(
                f"bucket {bucket.name} has no bucket policy denying s3:* when aws:SecureTransport is false",
                bucket.urn,
            )


VERSIONING_SCHEMA = PolicyConfigSchema(
    properties={
        "bucketPatterns": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["*uploads*"],
            "description": "glob patterns over a bucket's logical name or bucket/bucketPrefix that must be versioned",
        }
    }
)


def _bucket_labels(bucket: PolicyResource) -> list[str]:
    return [
        bucket.name,
        *(str(known(bucket.props, k)) for k in ("bucket", "bucketPrefix") if known(bucket.props, k)),
    ]


def _uploads_versioned(args: StackValidationArgs, report: ReportViolation) -> None:
    patterns = settings(args, VERSIONING_SCHEMA)["bucketPatterns"]
    versionings = companions(args, VERSIONING, "bucket")
    for bucket in of_type(args, BUCKET):
        if not any(matches(label, patterns) for label in _bucket_labels(bucket)):
            continue
        statuses = [
            (known(v.props, "versioningConfiguration") or {}).get("status")
            for v in versionings.get(bucket.urn, [])
        ]
        inline = known(bucket.props, "versioning") or {}
        if "Enabled" not in statuses and not is_true(inline.get("enabled")):
            report(f"bucket {bucket.name} holds uploads and is not versioned", bucket.urn)


POLICIES = [
    StackValidationPolicy(
        name="s3-public-access-blocked",
        description="Every S3 bucket has a public access block with all four settings on.",
        validate=_public_access_blocked,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name="s3-encryption",
        description="Every S3 bucket encrypts objects at rest by default (SSE-S3 or SSE-KMS).",
        validate=_encrypted,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name="s3-tls-only",
        description="Every S3 bucket's policy denies any request not made over TLS.",
        validate=_tls_only,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name="s3-uploads-versioned",
        description="Buckets that hold uploads are versioned, so an overwrite or delete can be undone.",
        validate=_uploads_versioned,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=VERSIONING_SCHEMA,
    ),
]
