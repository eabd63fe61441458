from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from infra.apigateway_account import apigateway_logging_policy
from infra.gateway import STREAM_TIMEOUT_MS, lambda_invoke_source_arn
from policies.runner import evaluate, load_policy_config
from pulumi_offline.graph import Graph, as_list, statements_allowing
from pulumi_offline.synth import run_program, synthesize_stack

ACCOUNT_PROGRAM = Path(__file__).resolve().parents[2] / "stacks" / "account" / "__main__.py"
API_GATEWAY_ACCOUNT = "aws:apigateway/account:Account"


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


def test_app_stacks_leave_the_accounts_api_gateway_logging_role_alone(prod: Graph, dev: Graph) -> None:
    """AWS rule: API Gateway's CloudWatch role (``cloudWatchRoleArn``) is a setting of the account
    in a region, not of an API: "To avoid overwriting other roles, you should only have one
    AWS::ApiGateway::Account resource per region per account" (AWS::ApiGateway::Account,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-apigateway-account.html;
    "Set up CloudWatch logging for REST APIs in API Gateway",
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html). So dev and
    prod in one account must not each set it: the app stack sets it only when opted in."""
    for graph in (prod, dev):
        assert graph.of_type(API_GATEWAY_ACCOUNT) == []
        assert graph.of_type("reelstack:index:ApiGatewayAccount") == []


def test_a_stack_that_opts_in_sets_the_logging_role_through_the_account_component() -> None:
    graph = Graph.of(synthesize_stack("dev", overrides={"reelstack:manageApiGatewayAccount": "true"}))
    (settings,) = graph.of_type(API_GATEWAY_ACCOUNT)
    component = graph.component_of(settings)
    assert component is not None and component.type == "reelstack:index:ApiGatewayAccount"
    assert graph.component_of(component) == graph.one("reelstack:index:Gateway", "gateway")


@pytest.fixture(scope="module")
def account() -> Graph:
    program = str(ACCOUNT_PROGRAM)
    return Graph.of(
        run_program(
            lambda: runpy.run_path(program, run_name="__main__"),
            project="reelstack-account",
            stack="us-east-1",
            config={"aws:region": "us-east-1", "reelstack-account:owner": "platform-team"},
        )
    )


def test_account_program_sets_the_logging_role_once_scoped_to_api_gateway_log_groups(account: Graph) -> None:
    settings = account.one(API_GATEWAY_ACCOUNT, "apigateway-settings").inputs
    role = account.one("aws:iam/role:Role", "apigateway-cloudwatch")
    assert settings["cloudwatchRoleArn"] == role.computed["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert role.inputs["tags"]["owner"] == "platform-team"
    assert account.role_policy("apigateway-cloudwatch") == apigateway_logging_policy(
        "us-east-1", "123456789012"
    )
    assert account.exports["apigateway_cloudwatch_role_arn"] == role.computed["arn"]


def test_account_logging_role_writes_only_log_groups_under_aws_apigateway() -> None:
    policy = apigateway_logging_policy("us-east-1", "123456789012")
    writes = [s for s in statements_allowing(policy) if s["Sid"] != "FindLogGroups"]
    assert {r for s in writes for r in as_list(s["Resource"])} == {
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/*"
    }
    (listing,) = [s for s in statements_allowing(policy) if s["Sid"] == "FindLogGroups"]
    assert listing["Action"] == ["logs:DescribeLogGroups"]  # names only; it takes no narrower resource


def test_access_logs_go_where_the_account_role_may_write(prod: Graph) -> None:
    group = prod.one("aws:cloudwatch/logGroup:LogGroup", "gateway-access-logs").inputs["name"]
    assert group.startswith("/aws/apigateway/")


def test_gateway_exports_its_invoke_url(prod: Graph) -> None:
    outputs = prod.outputs_of(prod.one("reelstack:index:Gateway", "gateway"))
    assert outputs["invoke_url"] == prod.exports["gateway_invoke_url"]
    assert outputs["invoke_url"] == f"https://{outputs['domain_name']}/v1"


def test_account_program_passes_the_policy_pack_at_its_default_levels(account: Graph, tmp_path: Path) -> None:
    defaults = tmp_path / "policy-config.json"
    defaults.write_text("{}")
    settings = load_policy_config(defaults)
    mandatory = [v for v in evaluate(account.resources, settings) if v.level == "mandatory"]
    assert mandatory == []
