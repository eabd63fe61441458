"""EdgeProtection: the AWS WAF web ACL in front of the CloudFront distribution.

Rules, in the order AWS WAF evaluates them:

1. ``auth-rate``: a rate-based rule per client IP on ``/auth/*`` only (a scope-down
   statement), the brute-force guard of login, signup and password reset;
2. ``ip-rate``: a rate-based rule per client IP on every request (floods);
3. ``common``: the AWS managed core rule set, ``AWSManagedRulesCommonRuleSet``, with its
   ``SizeRestrictions_BODY`` rule (bodies over 8 KB) counted instead of blocking — see
   ``BODY_SIZE_RULE``;
4. ``known-bad-inputs``: ``AWSManagedRulesKnownBadInputsRuleSet`` (Log4j, Java deserialization,
   localhost Host headers, ...).

The rate rules answer 429 in the API's error shape with ``Retry-After``; the numbers come
from ``app.contracts.rate_limits.RateLimits``, the same the local gateway applies. A web
ACL for CloudFront has scope CLOUDFRONT and must live in us-east-1
(https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html), so
it is created there whatever the stack's region (pulumi-aws 7's per-resource ``region``);
the distribution takes it by ARN (``web_acl_id``; WAFv2 ACLs are named by ARN).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_aws.wafv2 as waf

from app.contracts.errors import error_body
from app.contracts.names import ResourceNames
from app.contracts.rate_limits import RATE_LIMITED_CODE, RATE_LIMITED_MESSAGE, RateLimits, RateRule
from infra._common import args_of, declared_outputs, standard_tags

CLOUDFRONT_WAF_REGION = "us-east-1"
RATE_LIMITED_BODY_KEY = "rate-limited"
COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
KNOWN_BAD_INPUTS_RULE_SET = "AWSManagedRulesKnownBadInputsRuleSet"
# The core rule set blocks any request body over 8 KB (8,192 bytes): AWS WAF inspects only the
# first 8 KB, so the rule refuses what it cannot read
# (https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html).
# reelstack's API takes JSON bodies up to 1 MiB, and legitimate ones pass 8 KB: completing a
# multipart upload lists up to 10,000 parts, a playlist reorder up to 1,000 video ids, a video
# description up to 5,000 characters (up to 20 KB of UTF-8). So the rule counts (its metric and
# sampled requests still show oversized bodies) and the API's own 1 MiB cap is the limit.
BODY_SIZE_RULE = "SizeRestrictions_BODY"


@dataclass(frozen=True)
class EdgeProtectionArgs:
    """Every knob of the web ACL."""

    names: ResourceNames
    """Shared physical names; the web ACL is ``<prefix>-edge``."""
    rate_limits: RateLimits = field(default_factory=RateLimits)
    """Requests per client IP per evaluation window, overall and on ``/auth/*``."""
    counted_common_rules: Sequence[str] = (BODY_SIZE_RULE,)
    """Rules of the core rule set that only count (see ``BODY_SIZE_RULE`` for why that one)."""
    owner: str = "platform"
    """The ``owner`` tag."""


def _visibility(metric: str) -> waf.WebAclRuleVisibilityConfigArgsDict:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


def rate_rule(rule: RateRule, priority: int, window_seconds: int) -> waf.WebAclRuleArgsDict:
    """A rate-based rule blocking one client IP past ``rule.limit`` requests with a 429."""
    statement: waf.WebAclRuleStatementRateBasedStatementArgsDict = {
        "limit": rule.limit,
        "aggregate_key_type": "IP",
        "evaluation_window_sec": window_seconds,
    }
    if rule.path_prefix is not None:
        statement["scope_down_statement"] = {
            "byte_match_statement": {
                "field_to_match": {"uri_path": {}},
                "positional_constraint": "STARTS_WITH",
                "search_string": rule.path_prefix,
                "text_transformations": [{"priority": 0, "type": "NONE"}],
            }
        }
    return {
        "name": rule.name,
        "priority": priority,
        "action": {
            "block": {
                "custom_response": {
                    "response_code": 429,
                    "custom_response_body_key": RATE_LIMITED_BODY_KEY,
                    # AWS WAF rechecks rates on its own schedule: the window is the longest wait.
                    "response_headers": [{"name": "Retry-After", "value": str(window_seconds)}],
                }
            }
        },
        "statement": {"rate_based_statement": statement},
        "visibility_config": _visibility(rule.name),
    }


def managed_rule(
    name: str, rule_group: str, priority: int, counted_rules: Sequence[str] = ()
) -> waf.WebAclRuleArgsDict:
    """An AWS managed rule group with its own actions, except ``counted_rules``, which only count."""
    statement: waf.WebAclRuleStatementManagedRuleGroupStatementArgsDict = {
        "vendor_name": "AWS",
        "name": rule_group,
    }
    if counted_rules:
        statement["rule_action_overrides"] = [
            {"name": rule, "action_to_use": {"count": {}}} for rule in counted_rules
        ]
    return {
        "name": name,
        "priority": priority,
        "override_action": {"none": {}},
        "statement": {"managed_rule_group_statement": statement},
        "visibility_config": _visibility(name),
    }


def web_acl_rules(args: EdgeProtectionArgs) -> list[waf.WebAclRuleArgsDict]:
    """The web ACL's rules in evaluation order: rate rules first, then the managed rule groups."""
    window = args.rate_limits.window_seconds
    rules = [rate_rule(rule, n, window) for n, rule in enumerate(args.rate_limits.rules())]
    return [
        *rules,
        managed_rule("common", COMMON_RULE_SET, len(rules), args.counted_common_rules),
        managed_rule("known-bad-inputs", KNOWN_BAD_INPUTS_RULE_SET, len(rules) + 1),
    ]


class EdgeProtection(pulumi.ComponentResource):
    """A CLOUDFRONT-scoped web ACL; give ``web_acl_arn`` to the distribution."""

    web_acl_arn: pulumi.Output[str]
    web_acl_id: pulumi.Output[str]
    web_acl: aws.wafv2.WebAcl
    """The web ACL."""

    def __init__(
        self, name: str, args: EdgeProtectionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = args_of(EdgeProtectionArgs, args)
        super().__init__("reelstack:index:EdgeProtection", name, None, opts)
        tags = standard_tags("edge", args.owner)
        acl_name = f"{args.names.prefix}-edge"
        acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            name=acl_name,
            description=f"{args.names.prefix}: rate limits per client IP and AWS managed rules",
            scope="CLOUDFRONT",
            region=CLOUDFRONT_WAF_REGION,
            default_action={"allow": {}},
            custom_response_bodies=[
                {
                    "key": RATE_LIMITED_BODY_KEY,
                    "content_type": "APPLICATION_JSON",
                    "content": json.dumps(error_body(RATE_LIMITED_CODE, RATE_LIMITED_MESSAGE)),
                }
            ],
            rules=web_acl_rules(args),
            visibility_config={
                "cloudwatch_metrics_enabled": True,
                "metric_name": acl_name,
                "sampled_requests_enabled": True,
            },
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.web_acl_arn = acl.arn
        self.web_acl_id = acl.id
        self.web_acl = acl
        self.register_outputs(declared_outputs(self))
