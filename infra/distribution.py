"""SiteDistribution: the site's one CloudFront distribution, its media function and key store.

CloudFront serves the web app and the media from their buckets (``MediaStorage``) through
Origin Access Control, so the buckets stay private, and forwards ``/api/*``, ``/auth/*`` and
``/events/*`` to the API gateway, so the whole product is one origin. ``/media/*`` passes a
viewer-request function that lets a request through only with a valid media grant; the
function reads the grant key and each video's revocation epoch from a KeyValueStore the
backend writes.

Every answer carries the site's security headers (``app/contracts/security_headers.py``), added
by two response headers policies: the embeddable player's own document (``/embed.html``, its
own behaviour) may be framed by any site, everything else by none (``frame-ancestors 'none'``,
``X-Frame-Options: DENY``), so no other site can frame the app to steal clicks; both send HSTS,
``nosniff`` and the referrer policy, overriding whatever an origin sends.

The buckets' read grant for this distribution is part of each bucket's one bucket policy,
which ``MediaStorage`` owns (``MediaStorageArgs.reader_distribution_arn``): the stack hands
this distribution's ARN to the storage rather than this component writing policies on
buckets it was handed.
"""

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from app.contracts import security_headers
from app.contracts.names import ResourceNames
from app.contracts.tickets import REVOKED_BEFORE_PREFIX
from infra._common import args_of, declared_outputs, standard_tags
from infra._moves import FormerParent, moved_child
from infra.operations import Graph, Metric, Section

# AWS managed CloudFront policies (fixed ids, documented by AWS).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
GATEWAY_PATHS = ("/api/*", "/auth/*", "/events/*")
MIN_TLS = "TLSv1.2_2021"

# Viewer-request function for /media/*. Media URLs are /media/g/<grant>/videos/<id>/...
# (app/contracts/tickets.py): the grant is an HS256 JWT, audience "reelstack-media", bound
# to one video by its "vid" claim. The function verifies signature, audience, video and
# expiry with the key from the distribution's KeyValueStore, refuses a grant issued at or
# before the video's revocation epoch ("revoked-before:<id>" in the same store, written by
# the backend when the video is made private or deleted; a missing key means never revoked),
# then strips "/media/g/<grant>" so the URI is the media bucket's key. Anything else gets a
# 403 and never reaches S3. The function runs before the cache, so cached copies obey too.
# A function takes one KeyValueStore, hence the key and the epochs share one.
GRANT_KEY_NAME = "media-grant-key"
MEDIA_GRANT_JS = (
    """
import cf from 'cloudfront';
import crypto from 'crypto';

const kvs = cf.kvs();
const AUDIENCE = 'reelstack-media';
const REVOKED_BEFORE = '%s';
const MEDIA_PATH = /^\\/media\\/g\\/([\\w-]+)\\.([\\w-]+)\\.([\\w-]+)(\\/videos\\/([0-9a-f-]{36})\\/[^?#]+)$/;

function forbidden() {
  return { statusCode: 403, statusDescription: 'Forbidden', headers: { 'cache-control': { value: 'no-store' } } };
}

function decodeSegment(segment) {
  return JSON.parse(Buffer.from(segment.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
}

function sameText(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

async function handler(event) {
  const request = event.request;
  const match = MEDIA_PATH.exec(request.uri);
  if (!match || match[4].split('/').indexOf('..') !== -1) return forbidden();
  let key;
  try {
    key = await kvs.get('%s');
  } catch (e) {
    return forbidden();
  }
  const signature = crypto.createHmac('sha256', key).update(match[1] + '.' + match[2]).digest('base64url');
  if (!sameText(signature, match[3])) return forbidden();
  let header, claims;
  try {
    header = decodeSegment(match[1]);
    claims = decodeSegment(match[2]);
  } catch (e) {
    return forbidden();
  }
  if (header.alg !== 'HS256' || claims.aud !== AUDIENCE || claims.vid !== match[5]) return forbidden();
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) return forbidden();
  if (typeof claims.iat !== 'number') return forbidden();
  try {
    const epochKey = REVOKED_BEFORE + match[5];
    // get() throws for a missing key; exists() first, so any other failure refuses.
    if (await kvs.exists(epochKey)) {
      const revokedBefore = Number(await kvs.get(epochKey));
      if (!(Math.round(claims.iat * 1000) > revokedBefore)) return forbidden();
    }
  } catch (e) {
    return forbidden();
  }
  request.uri = match[4];
  return request;
}
""".strip()
    % (REVOKED_BEFORE_PREFIX, GRANT_KEY_NAME)
)


def security_headers_config(
    document: security_headers.DocumentHeaders, upload_to: pulumi.Input[str] = ""
) -> aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs:
    """``document``'s headers as a response headers policy's, each overriding the origin's."""
    hsts = security_headers.STRICT_TRANSPORT_SECURITY
    return aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
        content_security_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentSecurityPolicyArgs(
            content_security_policy=pulumi.Output.from_input(upload_to).apply(
                document.content_security_policy
            ),
            override=True,
        ),
        frame_options=(
            aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
                frame_option=document.frame_options, override=True
            )
            if document.frame_options is not None
            else None
        ),
        content_type_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(
            override=True
        ),
        referrer_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
            referrer_policy=security_headers.REFERRER_POLICY, override=True
        ),
        strict_transport_security=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
            access_control_max_age_sec=hsts.max_age_seconds,
            include_subdomains=hsts.include_subdomains,
            preload=hsts.preload,
            override=True,
        ),
    )


CLOUDFRONT_METRICS_REGION = "us-east-1"


@dataclass(frozen=True)
class SiteDistributionArgs:
    """Every knob of the site's CDN."""

    names: ResourceNames
    """Shared physical names; the function, key store and access control are named after ``prefix``."""
    media_grant_key: pulumi.Input[str]
    """HS256 key of media grants (``SigningKey.key``); CloudFront verifies grants with it."""
    web_bucket_domain_name: pulumi.Input[str]
    """Regional domain of the bucket of the web app (``MediaStorage.web_bucket_domain_name``)."""
    media_bucket_domain_name: pulumi.Input[str]
    """Regional domain of the bucket of transcoded media (``MediaStorage.media_bucket_domain_name``)."""
    api_origin_domain: pulumi.Input[str] | None = None
    """Domain of the API gateway (``<id>.execute-api.<region>.amazonaws.com``); None: no API behaviours."""
    api_origin_path: pulumi.Input[str] = ""
    """Path of the gateway stage, e.g. ``/v1``."""
    domain: str | None = None
    """Custom domain the distribution serves and the URLs name (needs ``certificate_arn``)."""
    certificate_arn: str | None = None
    """ACM certificate in us-east-1 for ``domain``; viewers then need TLS 1.2 or newer. None: the
    default *.cloudfront.net certificate, for which AWS ignores the minimum and accepts TLS 1.0."""
    price_class: str = "PriceClass_100"
    """CloudFront price class."""
    web_acl_arn: pulumi.Input[str] | None = None
    """ARN of a CLOUDFRONT-scoped AWS WAF web ACL in front of the whole site (``EdgeProtection``)."""
    uploads_bucket: pulumi.Input[str] | None = None
    """The bucket browsers upload sources to (``MediaStorage.uploads_bucket``): its Regional
    endpoint is the one origin besides the site the pages may send data to (the policy's
    ``connect-src``). None: the pages send data to the site alone."""
    moved_from_storage: str | None = None
    """Name of the ``MediaStorage`` that held this distribution, function and key store in stacks
    created before they had a component of their own: ``pulumi up`` then moves them here instead
    of replacing them (a new distribution would get a new domain). None for a new program."""
    owner: str = "platform"
    """The ``owner`` tag."""

    def __post_init__(self) -> None:
        if (self.domain is None) != (self.certificate_arn is None):
            raise ValueError(
                "domain and certificate_arn go together (stack config domain, certificateArn): "
                "CloudFront serves a custom domain only with a certificate for it"
            )
        if self.certificate_arn is not None and self.certificate_arn.split(":")[3:4] != ["us-east-1"]:
            raise ValueError(
                f"certificate_arn {self.certificate_arn} must be an ACM certificate in us-east-1, "
                "the only region CloudFront takes certificates from"
            )


# How every behaviour that serves the buckets' files answers: reads only, cached, compressed.
_CACHED_READS: dict[str, Any] = {
    "viewer_protocol_policy": "redirect-to-https",
    "allowed_methods": ["GET", "HEAD", "OPTIONS"],
    "cached_methods": ["GET", "HEAD"],
    "cache_policy_id": CACHING_OPTIMIZED,
    "compress": True,
}


class SiteDistribution(pulumi.ComponentResource):
    """One CloudFront distribution (web app, media, API), its media-grant function and key store."""

    distribution_id: pulumi.Output[str]
    distribution_arn: pulumi.Output[str]
    grant_store_arn: pulumi.Output[str]
    domain_name: pulumi.Output[str]
    web_url: pulumi.Output[str]
    media_base_url: pulumi.Output[str]
    distribution: aws.cloudfront.Distribution
    """The site's CloudFront distribution."""
    media_grant_function: aws.cloudfront.Function
    """The viewer-request function of ``/media/*``."""
    grant_store: aws.cloudfront.KeyValueStore
    """The key store of the grant key and the videos' revocation epochs."""
    no_framing_headers: aws.cloudfront.ResponseHeadersPolicy
    """The security headers of every answer but the embed document's: no site may frame it."""
    embed_headers: aws.cloudfront.ResponseHeadersPolicy
    """The security headers of the embed document (``/embed.html``): any site may frame it."""

    def __init__(
        self, name: str, args: SiteDistributionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = args_of(SiteDistributionArgs, args)
        super().__init__("reelstack:index:SiteDistribution", name, None, opts)
        tags = standard_tags("edge", args.owner)
        former = (
            FormerParent("reelstack:index:MediaStorage", args.moved_from_storage)
            if args.moved_from_storage
            else None
        )

        def moved(role: str) -> pulumi.ResourceOptions:
            # Same role suffixes as in MediaStorage, so the former name is the former parent's + role.
            return moved_child(self, former, f"{args.moved_from_storage}-{role}")

        oac = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            name=f"{args.names.prefix}-s3",
            description="CloudFront reads the web and media buckets",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=moved("oac"),
        )
        grant_keys = aws.cloudfront.KeyValueStore(
            f"{name}-grant-key",
            name=f"{args.names.prefix}-media-grant",
            comment="the key CloudFront verifies media grants with, and each video's revocation epoch",
            tags=dict(tags),
            opts=moved("grant-key"),
        )
        aws.cloudfront.KeyvaluestoreKey(
            f"{name}-grant-key",
            key_value_store_arn=grant_keys.arn,
            key=GRANT_KEY_NAME,
            value=pulumi.Output.secret(args.media_grant_key),
            opts=moved("grant-key"),
        )
        media_grant = aws.cloudfront.Function(
            f"{name}-media-grant",
            name=f"{args.names.prefix}-media-grant",
            runtime="cloudfront-js-2.0",
            comment="verify the media grant in the path, then strip it to the bucket key",
            code=MEDIA_GRANT_JS,
            key_value_store_associations=[grant_keys.arn],
            publish=True,
            tags=dict(tags),
            opts=moved("media-grant"),
        )
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        upload_to: pulumi.Input[str] = (
            pulumi.Output.all(args.uploads_bucket, region).apply(
                lambda v: security_headers.upload_origin(v[0], v[1])
            )
            if args.uploads_bucket is not None
            else ""
        )
        headers_policies = {
            document.name: aws.cloudfront.ResponseHeadersPolicy(
                f"{name}-{document.name}",
                name=f"{args.names.prefix}-{document.name}",
                comment=f"CSP (frame-ancestors {document.frame_ancestors}), HSTS, nosniff, referrer policy",
                security_headers_config=security_headers_config(document, upload_to),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for document in (security_headers.NO_FRAMING, security_headers.ANY_SITE_MAY_FRAME)
        }
        no_framing = headers_policies[security_headers.NO_FRAMING.name]
        embed = headers_policies[security_headers.ANY_SITE_MAY_FRAME.name]

        origins = [
            aws.cloudfront.DistributionOriginArgs(
                origin_id="web",
                domain_name=args.web_bucket_domain_name,
                origin_access_control_id=oac.id,
            ),
            aws.cloudfront.DistributionOriginArgs(
                origin_id="media",
                domain_name=args.media_bucket_domain_name,
                origin_access_control_id=oac.id,
            ),
        ]
        behaviours = [
            # The one answer other sites may frame; the rest of the web bucket is the default's.
            aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                path_pattern=security_headers.EMBED_PATH,
                target_origin_id="web",
                **_CACHED_READS,
                response_headers_policy_id=embed.id,
            ),
            aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                path_pattern="/media/*",
                target_origin_id="media",
                **_CACHED_READS,
                response_headers_policy_id=no_framing.id,
                function_associations=[
                    aws.cloudfront.DistributionOrderedCacheBehaviorFunctionAssociationArgs(
                        event_type="viewer-request", function_arn=media_grant.arn
                    )
                ],
            ),
        ]
        if args.api_origin_domain is not None:
            origins.append(
                aws.cloudfront.DistributionOriginArgs(
                    origin_id="gateway",
                    domain_name=args.api_origin_domain,
                    origin_path=args.api_origin_path,
                    custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
                        http_port=80,
                        https_port=443,
                        origin_protocol_policy="https-only",
                        origin_ssl_protocols=["TLSv1.2"],
                        origin_read_timeout=60,
                        origin_keepalive_timeout=60,
                    ),
                )
            )
            behaviours += [
                aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                    path_pattern=pattern,
                    target_origin_id="gateway",
                    viewer_protocol_policy="https-only",
                    allowed_methods=["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"],
                    cached_methods=["GET", "HEAD"],
                    cache_policy_id=CACHING_DISABLED,
                    origin_request_policy_id=ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy_id=no_framing.id,
                    compress=pattern != "/events/*",
                )
                for pattern in GATEWAY_PATHS
            ]

        if args.certificate_arn:
            certificate = aws.cloudfront.DistributionViewerCertificateArgs(
                acm_certificate_arn=args.certificate_arn,
                ssl_support_method="sni-only",
                minimum_protocol_version=MIN_TLS,
            )
        else:
            # AWS ignores the minimum with the default certificate; only a custom domain enforces it.
            certificate = aws.cloudfront.DistributionViewerCertificateArgs(
                cloudfront_default_certificate=True, minimum_protocol_version=MIN_TLS
            )

        distribution = aws.cloudfront.Distribution(
            f"{name}-cdn",
            enabled=True,
            comment=f"{args.names.prefix}: web app, media and API",
            aliases=[args.domain] if args.domain else [],
            default_root_object="index.html",
            http_version="http2and3",
            is_ipv6_enabled=True,
            price_class=args.price_class,
            origins=origins,
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id="web",
                **_CACHED_READS,
                response_headers_policy_id=no_framing.id,
            ),
            ordered_cache_behaviors=behaviours,
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                    restriction_type="none"
                )
            ),
            viewer_certificate=certificate,
            web_acl_id=args.web_acl_arn,  # WAFv2 web ACLs are given by ARN, not by id
            tags=dict(tags),
            opts=moved("cdn"),
        )

        site = pulumi.Output.from_input(args.domain) if args.domain else distribution.domain_name
        self.distribution_id = distribution.id
        self.distribution_arn = distribution.arn
        self.grant_store_arn = grant_keys.arn
        self.domain_name = distribution.domain_name
        self.web_url = site.apply(lambda d: f"https://{d}")
        self.media_base_url = site.apply(lambda d: f"https://{d}/media")
        self.distribution = distribution
        self.media_grant_function = media_grant
        self.grant_store = grant_keys
        self.no_framing_headers = no_framing
        self.embed_headers = embed
        self.register_outputs(declared_outputs(self))

    def widgets(self) -> Section:
        """Requests and the error rates viewers see. CloudFront's metrics live in us-east-1,
        with the dimension ``Region`` always ``Global``."""

        def metric(name: str, stat: str, label: str) -> Metric:
            dimensions: dict[str, pulumi.Input[str]] = {
                "DistributionId": self.distribution.id,
                "Region": "Global",
            }
            return Metric(
                "AWS/CloudFront",
                name,
                dimensions,
                stat,
                period=300,
                label=label,
                region=CLOUDFRONT_METRICS_REGION,
            )

        return Section(
            "Site (CloudFront)",
            [
                Graph(
                    "site requests",
                    {"requests": metric("Requests", "Sum", "requests")},
                    region=CLOUDFRONT_METRICS_REGION,
                ),
                Graph(
                    "site error rates (%)",
                    {
                        "client": metric("4xxErrorRate", "Average", "4xx %"),
                        "server": metric("5xxErrorRate", "Average", "5xx %"),
                    },
                    region=CLOUDFRONT_METRICS_REGION,
                ),
            ],
        )
