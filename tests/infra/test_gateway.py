from __future__ import annotations

import json

from infra.gateway import STREAM_TIMEOUT_MS, gateway_logging_policy, lambda_invoke_source_arn
from tests.infra.graph import Graph


def test_three_proxy_routes_go_to_their_services(prod: Graph) -> None:
    auth = prod.one("aws:apigateway/integration:Integration", "gateway-auth").inputs
    api = prod.one("aws:apigateway/integration:Integration", "gateway-api").inputs
    events = prod.one("aws:apigateway/integration:Integration", "gateway-events").inputs
    assert auth["type"] == "AWS_PROXY" and auth["integrationHttpMethod"] == "POST"
    assert auth["uri"].endswith("function:reelstack-prod-users/invocations")
    assert (
        api["type"] == "HTTP_PROXY"
        and api["uri"].startswith("http://internal-backend-alb-")
        and api["uri"].endswith("/api/{proxy}")
    )
    assert events["type"] == "HTTP_PROXY" and events["uri"].endswith("/events/{proxy}")
    paths = sorted(r.inputs["pathPart"] for r in prod.of_type("aws:apigateway/resource:Resource"))
    assert paths == ["api", "auth", "events", "{proxy+}", "{proxy+}", "{proxy+}"]


def test_services_are_reached_privately_through_one_vpc_link(prod: Graph) -> None:
    link = prod.one("aws:apigatewayv2/vpcLink:VpcLink", "gateway-vpc-link").inputs
    assert sorted(link["subnetIds"]) == [f"net-private-{i}-id" for i in range(3)]
    for route, alb in (("gateway-api", "backend-alb"), ("gateway-events", "progress-alb")):
        integration = prod.one("aws:apigateway/integration:Integration", route).inputs
        assert integration["connectionType"] == "VPC_LINK"
        assert integration["connectionId"] == "gateway-vpc-link-id"
        assert integration["integrationTarget"].startswith(
            f"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/{alb}/"
        )
        load_balancer = prod.one("aws:lb/loadBalancer:LoadBalancer", alb).inputs
        assert load_balancer["internal"] is True
        assert sorted(load_balancer["subnets"]) == [f"net-private-{i}-id" for i in range(3)]


def test_load_balancers_accept_http_from_inside_the_vpc_only(prod: Graph) -> None:
    for alb in ("backend-alb", "progress-alb"):
        ingress = prod.one("aws:ec2/securityGroup:SecurityGroup", alb).inputs["ingress"]
        assert [(r["fromPort"], r["cidrBlocks"]) for r in ingress] == [(80, ["10.0.0.0/16"])]


def test_events_stream_for_up_to_fifteen_minutes(prod: Graph) -> None:
    events = prod.one("aws:apigateway/integration:Integration", "gateway-events").inputs
    assert events["responseTransferMode"] == "STREAM"
    assert events["timeoutMilliseconds"] == STREAM_TIMEOUT_MS == 900_000
    api = prod.one("aws:apigateway/integration:Integration", "gateway-api").inputs
    assert "responseTransferMode" not in api


def test_stage_writes_access_logs_and_is_throttled(prod: Graph, dev: Graph) -> None:
    stage = prod.one("aws:apigateway/stage:Stage", "gateway-stage").inputs
    assert stage["accessLogSettings"]["destinationArn"].endswith(
        ":log-group:/aws/apigateway/reelstack-prod-api"
    )
    assert json.loads(stage["accessLogSettings"]["format"])["requestId"] == "$context.requestId"
    for graph, rate, burst in ((prod, 500, 1000), (dev, 20, 40)):
        settings = graph.one("aws:apigateway/methodSettings:MethodSettings", "gateway-throttling").inputs
        assert settings["methodPath"] == "*/*"
        assert (
            settings["settings"]["throttlingRateLimit"],
            settings["settings"]["throttlingBurstLimit"],
        ) == (rate, burst)


def test_only_this_apis_auth_routes_may_invoke_the_lambda(prod: Graph) -> None:
    permission = prod.one("aws:lambda/permission:Permission", "gateway-auth-invoke").inputs
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["sourceArn"].endswith("/v1/*/auth/*")
    assert lambda_invoke_source_arn("arn:x", "v1") == "arn:x/v1/*/auth/*"


def test_logging_role_writes_only_log_groups() -> None:
    policy = gateway_logging_policy("arn:aws:logs:us-east-1:1:log-group:g", "us-east-1", "1")
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    assert all(r.startswith("arn:aws:logs:us-east-1:1:log-group:") for r in resources)


def test_gateway_exports_its_invoke_url(prod: Graph) -> None:
    outputs = prod.outputs_of(prod.one("reelstack:index:Gateway", "gateway"))
    assert outputs["invoke_url"] == prod.exports["gateway_invoke_url"]
    assert outputs["invoke_url"] == f"https://{outputs['domain_name']}/v1"
