"""infra/edge_protection.py: the web ACL in front of CloudFront, under Pulumi's mocks and in the stacks."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pulumi
import pytest

from app.backend.schemas import MultipartComplete, PlaylistReorder
from app.contracts.errors import error_body
from app.contracts.names import ResourceNames
from app.contracts.rate_limits import RateLimits
from infra.edge_protection import BODY_SIZE_RULE, EdgeProtection, EdgeProtectionArgs
from pulumi_offline.graph import Graph
from pulumi_offline.synth import run_program, synthesize_stack

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
LIMITS = RateLimits(per_ip=1500, auth_per_ip=50, window_seconds=120)


def web_acl(region: str = "eu-west-1", limits: RateLimits = LIMITS) -> dict[str, Any]:
    def program() -> None:
        edge = EdgeProtection(
            "edge",
            EdgeProtectionArgs(names=ResourceNames("reelstack-test"), rate_limits=limits, owner="team"),
        )
        pulumi.export("arn", edge.web_acl_arn)

    synthesis = run_program(program, config={"aws:region": region})
    (acl,) = [r for r in synthesis.resources if r.type == WEB_ACL]
    return {"inputs": acl.inputs, "arn": synthesis.exports["arn"]}


def rule(inputs: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in inputs["rules"] if r["name"] == name)
    return found


def test_a_cloudfront_web_acl_is_created_in_us_east_1_even_for_a_stack_in_another_region() -> None:
    """AWS rule: "For Amazon CloudFront distributions, this is set to US East (N. Virginia)": a web
    ACL for CloudFront has scope CLOUDFRONT and is created in us-east-1. Source:
    https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html
    """
    acl = web_acl(region="eu-west-1")
    assert acl["inputs"]["scope"] == "CLOUDFRONT"
    assert acl["inputs"]["region"] == "us-east-1"
    assert acl["arn"].startswith("arn:aws:wafv2:us-east-1:") and ":global/webacl/" in acl["arn"]
    assert acl["inputs"]["defaultAction"] == {"allow": {}}
    assert acl["inputs"]["tags"] == {"service": "edge", "owner": "team", "stack": "test"}


def test_auth_gets_a_stricter_per_ip_rate_rule_scoped_down_to_auth_paths_evaluated_first() -> None:
    """AWS rule: a rate-based rule counts requests per IP over an evaluation window of 60, 120, 300
    or 600 s, limit at least 10; a scope-down statement narrows what it counts. Source:
    https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html
    """
    inputs = web_acl()["inputs"]
    auth, site = rule(inputs, "auth-rate"), rule(inputs, "ip-rate")
    assert auth["priority"] < site["priority"]
    auth_rate = auth["statement"]["rateBasedStatement"]
    assert auth_rate["limit"] == 50
    assert auth_rate["aggregateKeyType"] == "IP"
    assert auth_rate["evaluationWindowSec"] == 120
    match = auth_rate["scopeDownStatement"]["byteMatchStatement"]
    assert match["fieldToMatch"] == {"uriPath": {}}
    assert (match["positionalConstraint"], match["searchString"]) == ("STARTS_WITH", "/auth/")
    site_rate = site["statement"]["rateBasedStatement"]
    assert (site_rate["limit"], site_rate["evaluationWindowSec"]) == (1500, 120)
    assert "scopeDownStatement" not in site_rate


def test_rate_limited_requests_get_a_429_in_the_shared_error_shape_with_retry_after() -> None:
    inputs = web_acl()["inputs"]
    (body,) = inputs["customResponseBodies"]
    assert body["contentType"] == "APPLICATION_JSON"
    assert json.loads(body["content"])["error"]["code"] == "rate_limited"
    assert json.loads(body["content"]).keys() == error_body("x", "y").keys()
    for name in ("auth-rate", "ip-rate"):
        response = rule(inputs, name)["action"]["block"]["customResponse"]
        assert response["responseCode"] == 429
        assert response["customResponseBodyKey"] == body["key"]
        assert response["responseHeaders"] == [{"name": "Retry-After", "value": "120"}]


def test_the_aws_managed_common_and_known_bad_inputs_rule_groups_apply_after_the_rate_rules() -> None:
    inputs = web_acl()["inputs"]
    groups = {
        r["statement"]["managedRuleGroupStatement"]["name"]: r
        for r in inputs["rules"]
        if "managedRuleGroupStatement" in r["statement"]
    }
    assert set(groups) == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    for group in groups.values():
        assert group["statement"]["managedRuleGroupStatement"]["vendorName"] == "AWS"
        assert group["overrideAction"] == {"none": {}}  # the group's own block actions stand
        assert group["priority"] > rule(inputs, "ip-rate")["priority"]
    assert len({r["priority"] for r in inputs["rules"]}) == len(inputs["rules"])


def test_the_body_size_rule_only_counts_because_legitimate_api_bodies_pass_8_kb() -> None:
    """AWS rule: the core rule set's SizeRestrictions_BODY blocks request bodies over 8 KB (8,192
    bytes). Source: https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html
    The API's own schemas accept bodies far larger, so blocking them would break the product.
    """
    reorder = json.dumps({"video_ids": [str(uuid.uuid4()) for _ in range(1000)]})
    PlaylistReorder.model_validate_json(reorder)
    complete = json.dumps({"parts": [{"part_number": n, "etag": f'"{"a" * 32}"'} for n in range(1, 641)]})
    MultipartComplete.model_validate_json(complete)
    assert min(len(reorder), len(complete)) > 8192

    common = rule(web_acl()["inputs"], "common")["statement"]["managedRuleGroupStatement"]
    assert common["ruleActionOverrides"] == [{"name": BODY_SIZE_RULE, "actionToUse": {"count": {}}}]


def test_every_rule_and_the_acl_publish_metrics_and_sampled_requests() -> None:
    inputs = web_acl()["inputs"]
    for visibility in [inputs["visibilityConfig"], *(r["visibilityConfig"] for r in inputs["rules"])]:
        assert visibility["cloudwatchMetricsEnabled"] is True
        assert visibility["sampledRequestsEnabled"] is True
        assert visibility["metricName"]


@pytest.mark.parametrize(
    "bad",
    [
        {"per_ip": 9},
        {"auth_per_ip": 5},
        {"window_seconds": 90},
        {"per_ip": 100, "auth_per_ip": 200},
    ],
)
def test_limits_aws_waf_would_refuse_are_refused_before_anything_is_created(bad: dict[str, int]) -> None:
    """AWS rule: lowest rate limit 10; windows 60, 120, 300 or 600 s. Source:
    https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html
    """
    with pytest.raises(ValueError, match="reelstack:"):
        RateLimits(**bad)


def test_the_prod_distribution_is_behind_the_web_acl(prod: Graph) -> None:
    acl = prod.one(WEB_ACL, "edge-acl")
    distribution = prod.one(DISTRIBUTION, "site-cdn")
    assert distribution.inputs["webAclId"] == acl.computed["arn"]
    assert acl.computed["arn"].startswith("arn:aws:wafv2:us-east-1:")
    limits = {r["name"]: r["statement"]["rateBasedStatement"]["limit"] for r in acl.inputs["rules"][:2]}
    assert limits == {"auth-rate": 100, "ip-rate": 2000}


def test_the_dev_stack_keeps_the_default_limits_the_local_gateway_applies(dev: Graph) -> None:
    """One definition: the dev stack's web ACL carries ``RateLimits()``, which the local gateway
    applies by default (tests/app/local/test_rate_limit.py checks that side)."""
    acl = dev.one(WEB_ACL, "edge-acl")
    rates = {r["name"]: r["statement"]["rateBasedStatement"] for r in acl.inputs["rules"][:2]}
    local = RateLimits()
    assert {name: rate["limit"] for name, rate in rates.items()} == {
        rule.name: rule.limit for rule in local.rules()
    }
    assert {rate["evaluationWindowSec"] for rate in rates.values()} == {local.window_seconds}


def test_the_stack_config_keys_set_the_limits() -> None:
    graph = Graph.of(
        synthesize_stack(
            "dev",
            overrides={
                "reelstack:rateLimitPerIp": "500",
                "reelstack:authRateLimitPerIp": "20",
                "reelstack:rateLimitWindowSeconds": "60",
            },
        )
    )
    rates = [r["statement"]["rateBasedStatement"] for r in graph.one(WEB_ACL, "edge-acl").inputs["rules"][:2]]
    assert [(r["limit"], r["evaluationWindowSec"]) for r in rates] == [(20, 60), (500, 60)]
