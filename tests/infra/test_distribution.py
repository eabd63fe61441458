from __future__ import annotations

from typing import Any

import pytest

from app.contracts.names import ResourceNames
from app.contracts.security_headers import EMBED_PATH, csp_directives
from infra.distribution import GATEWAY_PATHS, MIN_TLS, SiteDistribution, SiteDistributionArgs
from pulumi_offline.graph import Graph
from pulumi_offline.synth import MOCK_REGION, run_program


def test_cloudfront_serves_s3_through_oac_and_forwards_the_api_paths_to_the_gateway(prod: Graph) -> None:
    inputs = prod.one("aws:cloudfront/distribution:Distribution", "site-cdn").inputs
    origins = {o["originId"]: o for o in inputs["origins"]}
    assert (
        origins["web"]["originAccessControlId"] == origins["media"]["originAccessControlId"] == "site-oac-id"
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
    inputs = prod.one("aws:cloudfront/distribution:Distribution", "site-cdn").inputs
    policies = [inputs["defaultCacheBehavior"]["viewerProtocolPolicy"]] + [
        b["viewerProtocolPolicy"] for b in inputs["orderedCacheBehaviors"]
    ]
    assert set(policies) <= {"https-only", "redirect-to-https"}
    assert inputs["viewerCertificate"]["minimumProtocolVersion"] == MIN_TLS
    oac = prod.one("aws:cloudfront/originAccessControl:OriginAccessControl", "site-oac").inputs
    assert oac["signingBehavior"] == "always" and oac["originAccessControlOriginType"] == "s3"


DOMAIN = "video.example.com"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c"


def _args(**args: Any) -> SiteDistributionArgs:
    return SiteDistributionArgs(ResourceNames("reelstack-test"), "key", "web.s3", "media.s3", **args)


def _distribution(**args: Any) -> Graph:
    return Graph.of(run_program(lambda: SiteDistribution("site", _args(**args))))


def test_without_a_domain_the_distribution_keeps_the_default_certificate(prod: Graph) -> None:
    inputs = prod.one("aws:cloudfront/distribution:Distribution", "site-cdn").inputs
    assert inputs["viewerCertificate"]["cloudfrontDefaultCertificate"] is True
    assert "acmCertificateArn" not in inputs["viewerCertificate"]
    assert inputs.get("aliases", []) == []
    assert prod.exports["web_url"] == f"https://{prod.exports['distribution_domain']}"


def test_a_domain_with_its_certificate_is_served_with_sni_and_tls_1_2() -> None:
    graph = _distribution(domain=DOMAIN, certificate_arn=CERTIFICATE)
    inputs = graph.one("aws:cloudfront/distribution:Distribution", "site-cdn").inputs
    assert inputs["aliases"] == [DOMAIN]
    assert inputs["viewerCertificate"] == {
        "acmCertificateArn": CERTIFICATE,
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }


def test_urls_name_the_custom_domain() -> None:
    graph = _distribution(domain=DOMAIN, certificate_arn=CERTIFICATE)
    outputs = graph.outputs_of(graph.one("reelstack:index:SiteDistribution", "site"))
    assert outputs["web_url"] == f"https://{DOMAIN}"
    assert outputs["media_base_url"] == f"https://{DOMAIN}/media"
    assert outputs["domain_name"].endswith(".cloudfront.net")  # where the domain's DNS record points


def test_the_stacks_upload_origin_is_the_sites_url(prod: Graph) -> None:
    cors = prod.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration", "media-uploads").inputs
    assert cors["corsRules"][0]["allowedOrigins"] == [prod.exports["web_url"]]


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
        _args(**args)


def test_the_stack_reads_the_buckets_with_its_own_distribution(prod: Graph) -> None:
    inputs = prod.one("aws:cloudfront/distribution:Distribution", "site-cdn").inputs
    origins = {o["originId"]: o["domainName"] for o in inputs["origins"]}
    media = prod.outputs_of(prod.one("reelstack:index:MediaStorage", "media"))
    assert origins["web"] == media["web_bucket_domain_name"]
    assert origins["media"] == media["media_bucket_domain_name"]
    site = prod.outputs_of(prod.one("reelstack:index:SiteDistribution", "site"))
    for bucket in ("media-media", "media-web"):
        policy = prod.policy("aws:s3/bucketPolicy:BucketPolicy", bucket)
        allow = next(s for s in policy["Statement"] if s["Effect"] == "Allow")
        assert allow["Condition"]["StringEquals"]["AWS:SourceArn"] == site["distribution_arn"]


def test_site_outputs_name_the_distribution_and_its_store(prod: Graph) -> None:
    site = prod.outputs_of(prod.one("reelstack:index:SiteDistribution", "site"))
    assert site["distribution_arn"].startswith("arn:aws:cloudfront::") and site["distribution_id"]
    assert site["grant_store_arn"].startswith("arn:aws:cloudfront::")
    assert site["media_base_url"] == site["web_url"] + "/media"
    assert prod.exports["web_url"] == site["web_url"]


# What MediaStorage "media" held in stacks created before SiteDistribution, as their state names it.
FORMER_URNS = {
    ("aws:cloudfront/distribution:Distribution", "site-cdn"): "Distribution::media-cdn",
    ("aws:cloudfront/originAccessControl:OriginAccessControl", "site-oac"): "OriginAccessControl::media-oac",
    ("aws:cloudfront/function:Function", "site-media-grant"): "Function::media-media-grant",
    ("aws:cloudfront/keyValueStore:KeyValueStore", "site-grant-key"): "KeyValueStore::media-grant-key",
    (
        "aws:cloudfront/keyvaluestoreKey:KeyvaluestoreKey",
        "site-grant-key",
    ): "KeyvaluestoreKey::media-grant-key",
}


@pytest.mark.parametrize(("resource", "former"), FORMER_URNS.items(), ids=lambda v: str(v))
def test_pulumi_up_moves_what_media_storage_held_instead_of_replacing_it(
    prod: Graph, resource: tuple[str, str], former: str
) -> None:
    """Without an alias naming its former URN, a resource whose parent changed is replaced, and a
    replaced distribution gets a new domain (https://www.pulumi.com/docs/iac/concepts/options/aliases/)."""
    type_, name = resource
    module = type_.split(":")[1]
    expected = f"urn:pulumi:prod::reelstack::reelstack:index:MediaStorage$aws:{module}:{former}"
    assert expected in prod.one(type_, name).aliases


def test_a_new_program_declares_no_former_parent() -> None:
    graph = _distribution()
    assert all(not r.aliases for r in graph.resources if r.type.startswith("aws:cloudfront/"))


POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"


def _headers_policies(graph: Graph) -> dict[str, dict[str, Any]]:
    """Each response headers policy's security headers, by the id the behaviours name it with."""
    return {f"{p.name}-id": p.inputs["securityHeadersConfig"] for p in graph.of_type(POLICY)}


def _behaviour_policies(graph: Graph) -> dict[str, str | None]:
    inputs = graph.one("aws:cloudfront/distribution:Distribution", "site-cdn").inputs
    behaviours = {"default": inputs["defaultCacheBehavior"]} | {
        b["pathPattern"]: b for b in inputs["orderedCacheBehaviors"]
    }
    return {path: b.get("responseHeadersPolicyId") for path, b in behaviours.items()}


def test_only_the_embed_document_may_be_framed_and_every_answer_carries_the_security_headers(
    prod: Graph,
) -> None:
    """Clickjacking: nothing set ``X-Frame-Options`` or a CSP ``frame-ancestors``, so any site
    could frame the app and its "Delete" button. AWS rule: a response headers policy attached to
    a cache behaviour makes CloudFront add its headers "to every response that it sends for
    requests that match the cache behavior", and with ``Override`` it replaces what the origin
    sent; the frame option is ``DENY`` or ``SAMEORIGIN`` only ("Understand response headers
    policies", security headers,
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/understanding-response-headers-policies.html;
    https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ResponseHeadersPolicyFrameOptions.html).
    A behaviour's path pattern is matched in order, the default behaviour last
    (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesCacheBehavior.html).
    ``frame-ancestors`` is the CSP level 2 directive browsers obey over ``X-Frame-Options``;
    ``X-Frame-Options: DENY`` is for older ones (MDN, CSP frame-ancestors,
    https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy/frame-ancestors)."""
    policies = _headers_policies(prod)
    by_path = _behaviour_policies(prod)
    assert set(by_path) == {"default", EMBED_PATH, "/media/*", *GATEWAY_PATHS}
    assert all(by_path.values()), f"a behaviour without a response headers policy: {by_path}"
    embed = policies[by_path.pop(EMBED_PATH)]
    assert {
        csp_directives(policies[policy_id]["contentSecurityPolicy"]["contentSecurityPolicy"])[
            "frame-ancestors"
        ]
        for policy_id in by_path.values()
    } == {"'none'"}
    for policy_id in set(by_path.values()):
        assert policies[policy_id]["frameOptions"] == {"frameOption": "DENY", "override": True}
        assert policies[policy_id]["contentSecurityPolicy"]["override"] is True
    assert csp_directives(embed["contentSecurityPolicy"]["contentSecurityPolicy"])["frame-ancestors"] == "*"
    assert embed["contentSecurityPolicy"]["override"] is True
    assert "frameOptions" not in embed  # DENY or SAMEORIGIN would forbid other sites in old browsers
    for config in policies.values():
        assert config["contentTypeOptions"] == {"override": True}
        assert config["referrerPolicy"] == {
            "referrerPolicy": "strict-origin-when-cross-origin",
            "override": True,
        }
        hsts = config["strictTransportSecurity"]
        assert hsts["override"] and hsts["includeSubdomains"] and hsts["accessControlMaxAgeSec"] >= 31_536_000


def test_the_embed_document_is_served_from_the_web_bucket_like_the_app(prod: Graph) -> None:
    inputs = prod.one("aws:cloudfront/distribution:Distribution", "site-cdn").inputs
    embed = next(b for b in inputs["orderedCacheBehaviors"] if b["pathPattern"] == EMBED_PATH)
    default = inputs["defaultCacheBehavior"]
    same = ("targetOriginId", "viewerProtocolPolicy", "allowedMethods", "cachePolicyId", "compress")
    assert {k: embed[k] for k in same} == {k: default[k] for k in same}
    assert EMBED_PATH == "/embed.html"


def test_the_response_headers_policies_are_named_after_the_stack_and_live_in_the_component(
    prod: Graph,
) -> None:
    component = prod.one("reelstack:index:SiteDistribution", "site")
    policies = [r for r in prod.children(component) if r.type == POLICY]
    assert sorted(p.inputs["name"] for p in policies) == ["reelstack-prod-embed", "reelstack-prod-no-framing"]


def test_the_pages_load_code_from_the_site_alone_and_send_data_to_the_site_and_the_uploads_bucket(
    prod: Graph,
) -> None:
    """Cross-site scripting: the pages had no content policy, so any markup that reached one ran.
    Every response headers policy now carries one (CSP level 3, https://www.w3.org/TR/CSP3/):
    scripts from the site plus the pages' own import maps by hash, no plug-ins, no ``<base>``,
    and data sent to the site and to the uploads bucket's Regional endpoint only, the host the
    backend signs browser uploads for. CloudFront refuses a policy whose CSP value is longer than
    its quota (``TooLongCSPInResponseHeadersPolicy``; "Quotas", response headers policies,
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html:
    1,783 characters)."""
    (region,) = {
        call["region"] for call in prod.invoked("aws:index/getRegion:getRegion") if "region" in call
    } or {MOCK_REGION}
    uploads = f"https://{prod.exports['uploads_bucket']}.s3.{region}.amazonaws.com"
    for config in _headers_policies(prod).values():
        value = config["contentSecurityPolicy"]["contentSecurityPolicy"]
        assert len(value) <= 1783
        directives = csp_directives(value)
        assert directives["default-src"] == "'self'"
        assert directives["script-src"].split()[0] == "'self'"
        assert all(source.startswith("'sha256-") for source in directives["script-src"].split()[1:])
        assert "'unsafe-inline'" not in value and "'unsafe-eval'" not in value
        assert directives["connect-src"] == f"'self' {uploads}"
        assert (directives["object-src"], directives["base-uri"]) == ("'none'", "'none'")
