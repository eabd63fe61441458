"""Gateway: one API Gateway REST API in front of every service.

- ``/auth/{proxy+}``   -> the user service Lambda (AWS_PROXY)
- ``/api/{proxy+}``    -> the backend's internal ALB (HTTP_PROXY, private integration)
- ``/events/{proxy+}`` -> the progress service's internal ALB (HTTP_PROXY, private
  integration) with response streaming (``responseTransferMode: STREAM``, up to 15
  minutes), the REST API feature that lets SSE pass through (ARCHITECTURE.md, fix 2)

The private integrations go through one VPC link (v2) straight to each ALB
(``integration_target``), so the load balancers have no public address. They also add
each ALB's secret header, the only requests those ALBs forward. The stage has JSON
access logs (in ``/aws/apigateway/<prefix>-api``) and throttling. API Gateway writes them through
the account's CloudWatch role (``ApiGatewayAccount``), set once per account and region, which
this component sets only when asked (``manage_account_logging_role``).
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra._common import args_of, declared_outputs, standard_tags
from infra._fleet import ORIGIN_VERIFY_HEADER
from infra.apigateway_account import LOG_GROUP_PREFIX, ApiGatewayAccount, ApiGatewayAccountArgs
from infra.operations import AlarmSpec, AlarmThresholds, Expression, Graph, Metric, Section
from infra.types import Placement

STREAM_TIMEOUT_MS = 900_000
# The routes that answer at once; /events streams for minutes, so its latency says nothing.
LATENCY_ROUTES = ("api", "auth")
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "method": "$context.httpMethod",
        "path": "$context.path",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "integrationStatus": "$context.integration.status",
        "userAgent": "$context.identity.userAgent",
    },
    sort_keys=True,
)


@dataclass(frozen=True)
class GatewayArgs:
    """Every knob of the gateway."""

    prefix: str
    """Resource prefix (``ResourceNames.prefix``) for names."""
    placement: Placement
    """VPC of the load balancers (the VPC link may reach port 80 in its range) and the private
    subnets of the VPC link's network interfaces."""
    users_function_name: pulumi.Input[str]
    """The user service Lambda."""
    users_invoke_arn: pulumi.Input[str]
    """Its API Gateway invoke ARN."""
    backend_alb_arn: pulumi.Input[str]
    """The backend's internal ALB."""
    backend_dns_name: pulumi.Input[str]
    """Its DNS name (the Host header of the private integration)."""
    backend_origin_secret: pulumi.Input[str]
    """Header value the backend ALB requires."""
    progress_alb_arn: pulumi.Input[str]
    """The progress service's internal ALB."""
    progress_dns_name: pulumi.Input[str]
    """Its DNS name."""
    progress_origin_secret: pulumi.Input[str]
    """Header value the progress ALB requires."""
    security_group_id: pulumi.Input[str] | None = None
    """An existing security group for the VPC link's network interfaces instead of one of its own
    (None: the component makes it). It must let HTTP (port 80) out to the load balancers."""
    stage_name: str = "v1"
    """Stage name (also the CloudFront origin path)."""
    throttle_rate: float = 100.0
    """Steady-state requests per second across the stage."""
    throttle_burst: int = 200
    """Burst limit."""
    log_retention_days: int = 14
    """Access log retention."""
    manage_account_logging_role: bool = False
    """Also set the account's API Gateway CloudWatch role for this region (an ``ApiGatewayAccount``
    child). One setting per account and region: leave it off when ``stacks/account`` or another
    stack sets it, or two stacks overwrite each other."""
    owner: str = "platform"
    """The ``owner`` tag."""


def lambda_invoke_source_arn(execution_arn: str, stage: str) -> str:
    """Only this API's stage may invoke the Lambda, and only on ``/auth/...``."""
    return f"{execution_arn}/{stage}/*/auth/*"


class Gateway(pulumi.ComponentResource):
    """REST API, three proxy routes, a deployment, and a logged, throttled stage."""

    rest_api_id: pulumi.Output[str]
    execution_arn: pulumi.Output[str]
    invoke_url: pulumi.Output[str]
    domain_name: pulumi.Output[str]
    stage_path: str
    rest_api: aws.apigateway.RestApi
    """The REST API."""
    stage: aws.apigateway.Stage
    """Its logged, throttled stage."""

    def __init__(self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = args_of(GatewayArgs, args)
        super().__init__("reelstack:index:Gateway", name, None, opts)
        tags = standard_tags("gateway", args.owner)
        child = pulumi.ResourceOptions(parent=self)
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region

        api = aws.apigateway.RestApi(
            f"{name}-rest",
            name=f"{args.prefix}-api",
            description="reelstack: /auth, /api, /events",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types="REGIONAL"),
            tags=dict(tags),
            opts=child,
        )

        def route(
            top: str, integration_type: str, uri: pulumi.Input[str], extra: dict[str, Any]
        ) -> aws.apigateway.Integration:
            base = aws.apigateway.Resource(
                f"{name}-{top}", rest_api=api.id, parent_id=api.root_resource_id, path_part=top, opts=child
            )
            proxy = aws.apigateway.Resource(
                f"{name}-{top}-proxy", rest_api=api.id, parent_id=base.id, path_part="{proxy+}", opts=child
            )
            method = aws.apigateway.Method(
                f"{name}-{top}-any",
                rest_api=api.id,
                resource_id=proxy.id,
                http_method="ANY",
                authorization="NONE",
                request_parameters={"method.request.path.proxy": True},
                opts=child,
            )
            return aws.apigateway.Integration(
                f"{name}-{top}",
                rest_api=api.id,
                resource_id=proxy.id,
                http_method=method.http_method,
                type=integration_type,
                uri=uri,
                opts=child,
                **extra,
            )

        link_security_group_id = args.security_group_id
        if link_security_group_id is None:
            link_security_group_id = aws.ec2.SecurityGroup(
                f"{name}-vpc-link",
                vpc_id=args.placement.vpc_id,
                description="API Gateway VPC link: HTTP to the internal load balancers",
                egress=[
                    aws.ec2.SecurityGroupEgressArgs(
                        protocol="tcp",
                        from_port=80,
                        to_port=80,
                        cidr_blocks=[args.placement.vpc_cidr],
                        description="load balancers",
                    )
                ],
                tags={**tags, "Name": f"{name}-vpc-link"},
                opts=child,
            ).id
        link = aws.apigatewayv2.VpcLink(
            f"{name}-vpc-link",
            name=f"{args.prefix}-services",
            subnet_ids=list(args.placement.subnet_ids),
            security_group_ids=[link_security_group_id],
            tags=dict(tags),
            opts=child,
        )

        def http_extra(alb_arn: pulumi.Input[str], secret: pulumi.Input[str]) -> dict[str, Any]:
            return {
                "connection_type": "VPC_LINK",
                "connection_id": link.id,
                "integration_target": alb_arn,
                "integration_http_method": "ANY",
                "passthrough_behavior": "WHEN_NO_MATCH",
                "request_parameters": pulumi.Output.from_input(secret).apply(
                    lambda s: {
                        "integration.request.path.proxy": "method.request.path.proxy",
                        f"integration.request.header.{ORIGIN_VERIFY_HEADER}": f"'{s}'",
                    }
                ),
            }

        auth = route("auth", "AWS_PROXY", args.users_invoke_arn, {"integration_http_method": "POST"})
        api_route = route(
            "api",
            "HTTP_PROXY",
            pulumi.Output.concat("http://", args.backend_dns_name, "/api/{proxy}"),
            {**http_extra(args.backend_alb_arn, args.backend_origin_secret), "timeout_milliseconds": 29_000},
        )
        events = route(
            "events",
            "HTTP_PROXY",
            pulumi.Output.concat("http://", args.progress_dns_name, "/events/{proxy}"),
            {
                **http_extra(args.progress_alb_arn, args.progress_origin_secret),
                "response_transfer_mode": "STREAM",
                "timeout_milliseconds": STREAM_TIMEOUT_MS,
            },
        )

        aws.lambda_.Permission(
            f"{name}-auth-invoke",
            action="lambda:InvokeFunction",
            function=args.users_function_name,
            principal="apigateway.amazonaws.com",
            source_arn=api.execution_arn.apply(lambda arn: lambda_invoke_source_arn(arn, args.stage_name)),
            opts=child,
        )

        routes = [auth, api_route, events]
        deployment = aws.apigateway.Deployment(
            f"{name}-deployment",
            rest_api=api.id,
            triggers={
                "routes": pulumi.Output.all(*[r.id for r in routes], *[r.uri for r in routes]).apply(
                    lambda v: hashlib.sha256(json.dumps(v).encode()).hexdigest()
                )
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=routes),
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=f"{LOG_GROUP_PREFIX}{args.prefix}-api",
            retention_in_days=args.log_retention_days,
            tags=dict(tags),
            opts=child,
        )
        depends: list[pulumi.Resource] = []
        if args.manage_account_logging_role:
            depends.append(
                ApiGatewayAccount(f"{name}-account", ApiGatewayAccountArgs(owner=args.owner), opts=child)
            )
        stage = aws.apigateway.Stage(
            f"{name}-stage",
            rest_api=api.id,
            deployment=deployment.id,
            stage_name=args.stage_name,
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
                destination_arn=log_group.arn, format=ACCESS_LOG_FORMAT
            ),
            xray_tracing_enabled=False,
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )
        aws.apigateway.MethodSettings(
            f"{name}-throttling",
            rest_api=api.id,
            stage_name=stage.stage_name,
            method_path="*/*",
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                throttling_rate_limit=args.throttle_rate,
                throttling_burst_limit=args.throttle_burst,
                metrics_enabled=True,
            ),
            opts=child,
        )

        self.rest_api_id = api.id
        self.execution_arn = api.execution_arn
        self.invoke_url = stage.invoke_url
        self.domain_name = pulumi.Output.all(api.id, region).apply(
            lambda v: f"{v[0]}.execute-api.{v[1]}.amazonaws.com"
        )
        self.stage_path = f"/{args.stage_name}"
        self.rest_api = api
        self.stage = stage
        self._name = name
        self.register_outputs(declared_outputs(self))

    def _metric(self, metric: str, stat: str, route: str | None = None, label: str | None = None) -> Metric:
        """The stage's metric, or one route's (``metrics_enabled`` above turns on the per-method ones)."""
        dimensions: dict[str, pulumi.Input[str]] = {
            "ApiName": self.rest_api.name,
            "Stage": self.stage.stage_name,
        }
        if route is not None:
            dimensions.update(Method="ANY", Resource=f"/{route}/{{proxy+}}")
        return Metric("AWS/ApiGateway", metric, dimensions, stat, period=300, label=label)

    def _error_rate(self) -> dict[str, Metric | Expression]:
        return {
            "errors": self._metric("5XXError", "Average"),
            "percent": Expression("100 * errors", "5xx %"),
        }

    def widgets(self) -> Section:
        """Requests and errors of the whole API, and the latency of its request/response routes."""
        return Section(
            "API (API Gateway)",
            [
                Graph(
                    "API requests and errors",
                    {
                        "requests": self._metric("Count", "Sum", label="requests"),
                        "client": self._metric("4XXError", "Sum", label="4xx"),
                        "server": self._metric("5XXError", "Sum", label="5xx"),
                    },
                ),
                Graph("API 5xx (%)", self._error_rate(), hidden=frozenset({"errors"})),
                Graph(
                    "API latency p95 (ms)",
                    {route: self._metric("Latency", "p95", route, f"/{route}") for route in LATENCY_ROUTES},
                ),
            ],
        )

    def alarms(self, thresholds: AlarmThresholds) -> list[AlarmSpec]:
        """Too many 5xx; a request/response route slow (not ``/events``, whose streams last minutes)."""
        return [
            AlarmSpec(
                f"{self._name}-5xx-rate",
                f"over {thresholds.api_5xx_percent} % of the API's requests answered 5xx for 10 minutes",
                self._error_rate(),
                watched="percent",
                threshold=thresholds.api_5xx_percent,
                evaluation_periods=2,
            ),
            *(
                AlarmSpec(
                    f"{self._name}-{route}-p95-latency",
                    f"/{route}: p95 latency above {thresholds.api_p95_latency_ms:g} ms for 10 minutes",
                    {"p95": self._metric("Latency", "p95", route)},
                    watched="p95",
                    threshold=thresholds.api_p95_latency_ms,
                    evaluation_periods=2,
                )
                for route in LATENCY_ROUTES
            ),
        ]
