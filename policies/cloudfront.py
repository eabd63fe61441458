"""CloudFront: HTTPS to viewers and origins, S3 origins through Origin Access Control, TLS 1.2 or
newer, an AWS WAF web ACL in front."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from ._support import as_list, is_true, known

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
HTTPS_VIEWER_POLICIES = ("https-only", "redirect-to-https")
# CloudFront security policies that refuse anything older than TLS 1.2.
CLOUDFRONT_WEB_ACL_ARN_PREFIX = "arn:aws:wafv2:us-east-1:"
TLS12_POLICIES = ("TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025")


def _behaviors(props: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    default = known(props, "defaultCacheBehavior") or {}
    ordered = as_list(known(props, "orderedCacheBehaviors"))
    return [("default", default)] + [(str(b.get("pathPattern", "?")), b) for b in ordered]


def _https_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DISTRIBUTION:
        return
    for path, behavior in _behaviors(args.props):
        if behavior.get("viewerProtocolPolicy") not in HTTPS_VIEWER_POLICIES:
            report(f"{args.name}: cache behavior {path} allows plain HTTP to viewers", None)
    for origin in as_list(known(args.props, "origins")):
        custom = origin.get("customOriginConfig")
        if custom is not None and custom.get("originProtocolPolicy") != "https-only":
            report(f"{args.name}: origin {origin.get('originId')} is reached without HTTPS", None)


def _origin_access_control(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DISTRIBUTION:
        return
    for origin in as_list(known(args.props, "origins")):
        if origin.get("customOriginConfig") is not None:
            continue
        identity = (origin.get("s3OriginConfig") or {}).get("originAccessIdentity")
        if not origin.get("originAccessControlId"):
            report(f"{args.name}: S3 origin {origin.get('originId')} has no Origin Access Control", None)
        elif identity:
            report(
                f"{args.name}: S3 origin {origin.get('originId')} still uses a legacy access identity", None
            )


def _tls_version(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DISTRIBUTION:
        return
    certificate = known(args.props, "viewerCertificate") or {}
    version = certificate.get("minimumProtocolVersion")
    if version not in TLS12_POLICIES:
        report(f"{args.name}: minimumProtocolVersion {version} accepts TLS older than 1.2", None)
    for origin in as_list(known(args.props, "origins")):
        custom = origin.get("customOriginConfig")
        old = [
            p for p in as_list((custom or {}).get("originSslProtocols")) if p in ("SSLv3", "TLSv1", "TLSv1.1")
        ]
        if old:
            report(f"{args.name}: origin {origin.get('originId')} allows {', '.join(old)}", None)


def _custom_certificate(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DISTRIBUTION:
        return
    certificate = known(args.props, "viewerCertificate") or {}
    if is_true(certificate.get("cloudfrontDefaultCertificate")):
        report(
            f"{args.name} serves the default *.cloudfront.net certificate, for which CloudFront "
            "still accepts TLS 1.0; give the distribution a domain and an ACM certificate",
            None,
        )


def _web_acl(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DISTRIBUTION:
        return
    try:
        acl = args.props.get("webAclId")
    except UnknownValueError:
        return  # the ARN of a web ACL created in the same update: set, known once it exists
    if not acl:
        report(
            f"{args.name} has no AWS WAF web ACL, so nothing limits request rates per client or "
            "filters known exploits at the edge; give it an EdgeProtection's web_acl_arn "
            "(SiteDistributionArgs.web_acl_arn)",
            None,
        )
    elif not (str(acl).startswith(CLOUDFRONT_WEB_ACL_ARN_PREFIX) and ":global/webacl/" in str(acl)):
        # CloudFront takes WAFv2 web ACLs by ARN, of scope CLOUDFRONT, which live in us-east-1.
        report(
            f"{args.name}: web ACL {acl} is not a CLOUDFRONT-scoped WAFv2 web ACL "
            f"({CLOUDFRONT_WEB_ACL_ARN_PREFIX}<account>:global/webacl/<name>/<id>)",
            None,
        )


POLICIES = [
    ResourceValidationPolicy(
        name="cloudfront-https-only",
        description="CloudFront serves viewers over HTTPS only and reaches custom origins over HTTPS only.",
        validate=_https_only,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="cloudfront-origin-access-control",
        description="CloudFront reads S3 origins through Origin Access Control, not public buckets or legacy OAI.",
        validate=_origin_access_control,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="cloudfront-tls-1-2",
        description="CloudFront's viewer security policy and origin protocols are TLS 1.2 or newer.",
        validate=_tls_version,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="cloudfront-custom-certificate",
        description="CloudFront uses an ACM certificate, so its TLS 1.2 minimum is enforced (the default certificate allows TLS 1.0).",
        validate=_custom_certificate,
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
    ResourceValidationPolicy(
        name="cloudfront-web-acl",
        description="CloudFront is behind a CLOUDFRONT-scoped AWS WAF web ACL (rate limits per client, managed rules).",
        validate=_web_acl,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
