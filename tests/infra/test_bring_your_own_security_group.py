"""A component given ``security_group_id`` puts its network interfaces in that group and makes
none: the EC2 services' instances (``infra._fleet.instances``), the database, the gateway's VPC
link. The caller's group, the caller's rules."""

from collections.abc import Callable
from typing import Any

import pytest

from app.contracts.names import ResourceNames
from infra import (
    BackendService,
    BackendServiceArgs,
    BucketReference,
    Database,
    DatabaseArgs,
    Gateway,
    GatewayArgs,
    Placement,
    ProgressService,
    ProgressServiceArgs,
    TokenIssuer,
    TranscoderFleet,
    TranscoderFleetArgs,
)
from pulumi_offline.graph import Graph
from pulumi_offline.synth import run_program

OWN_GROUP = "sg-0123456789abcdef0"
NAMES = ResourceNames("lab-test")
PLACEMENT = Placement(vpc_id="vpc-0abc", vpc_cidr="10.20.0.0/16", subnet_ids=("subnet-a", "subnet-b"))
ARN = "arn:aws:sqs:us-east-1:123456789012:lab"
TOKENS = TokenIssuer(
    user_pool_client_id="client",
    jwt_issuer="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x",
    jwks_url="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x/.well-known/jwks.json",
    signout_table="lab-signouts",
    signout_table_arn="arn:aws:dynamodb:us-east-1:123456789012:table/lab-signouts",
)


Fleet = BackendService | ProgressService | TranscoderFleet


def _bucket(name: str) -> BucketReference:
    return BucketReference(name=name, arn=f"arn:aws:s3:::{name}")


def _backend(security_group_id: str | None) -> Fleet:
    return BackendService(
        "svc",
        BackendServiceArgs(
            names=NAMES,
            placement=PLACEMENT,
            database_url="postgresql+psycopg://reelstack@db:5432/reelstack",
            database_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
            uploads_bucket=_bucket("lab-uploads"),
            media_bucket=_bucket("lab-media"),
            media_base_url="https://d111.cloudfront.net/media",
            task_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/tasks",
            task_queue_arn=ARN,
            progress_topic_arn="arn:aws:sns:us-east-1:123456789012:lab-progress",
            ticket_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:ticket",
            media_revocation_store_arn="arn:aws:cloudfront::123456789012:key-value-store/x",
            token_issuer=TOKENS,
            user_pool_id="us-east-1_Lab1",
            user_pool_arn="arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Lab1",
            security_group_id=security_group_id,
        ),
    )


def _progress(security_group_id: str | None) -> Fleet:
    return ProgressService(
        "svc",
        ProgressServiceArgs(
            names=NAMES,
            placement=PLACEMENT,
            token_issuer=TOKENS,
            ticket_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:ticket",
            security_group_id=security_group_id,
        ),
    )


def _transcoder(security_group_id: str | None) -> Fleet:
    return TranscoderFleet(
        "svc",
        TranscoderFleetArgs(
            names=NAMES,
            placement=PLACEMENT,
            uploads_bucket=_bucket("lab-uploads"),
            media_bucket=_bucket("lab-media"),
            progress_topic_arn="arn:aws:sns:us-east-1:123456789012:lab-progress",
            progress_topic_key_arn="arn:aws:kms:us-east-1:123456789012:key/lab",
            security_group_id=security_group_id,
        ),
    )


COMPONENTS: dict[str, Callable[[str | None], Fleet]] = {
    "BackendService": _backend,
    "ProgressService": _progress,
    "TranscoderFleet": _transcoder,
}


def _built(make: Callable[[str | None], Fleet], security_group_id: str | None) -> Any:
    outputs: dict[str, Any] = {}

    def program() -> None:
        component = make(security_group_id)
        outputs["security_group"] = component.security_group
        component.security_group_id.apply(lambda v: outputs.update(security_group_id=v))

    return Graph.of(run_program(program)), outputs


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_instances_boot_in_the_brought_group_and_no_instance_group_is_made(component: str) -> None:
    graph, outputs = _built(COMPONENTS[component], OWN_GROUP)
    groups = {r.name for r in graph.of_type("aws:ec2/securityGroup:SecurityGroup")}
    assert "svc-instances" not in groups
    template = graph.one("aws:ec2/launchTemplate:LaunchTemplate", "svc-lt").inputs
    assert [i["securityGroups"] for i in template["networkInterfaces"]] == [[OWN_GROUP]]
    assert outputs == {"security_group": None, "security_group_id": OWN_GROUP}


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_without_a_brought_group_the_component_makes_its_own(component: str) -> None:
    graph, outputs = _built(COMPONENTS[component], None)
    made = graph.one("aws:ec2/securityGroup:SecurityGroup", "svc-instances")
    template = graph.one("aws:ec2/launchTemplate:LaunchTemplate", "svc-lt").inputs
    assert [i["securityGroups"] for i in template["networkInterfaces"]] == [[made.computed["id"]]]
    assert outputs["security_group"] is not None and outputs["security_group_id"] == made.computed["id"]


def test_a_database_in_a_brought_group_makes_none_and_allow_from_adds_to_that_group() -> None:
    def program() -> None:
        database = Database("db", DatabaseArgs(names=NAMES, placement=PLACEMENT, security_group_id=OWN_GROUP))
        assert database.security_group is None
        database.allow_from("backend", "sg-0backend000000000")

    graph = Graph.of(run_program(program))
    assert graph.of_type("aws:ec2/securityGroup:SecurityGroup") == []
    assert graph.one("aws:rds/instance:Instance", "db-db").inputs["vpcSecurityGroupIds"] == [OWN_GROUP]
    rule = graph.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "db-from-backend").inputs
    assert (rule["securityGroupId"], rule["referencedSecurityGroupId"]) == (OWN_GROUP, "sg-0backend000000000")


def test_a_gateway_whose_vpc_link_is_in_a_brought_group_makes_none() -> None:
    def program() -> None:
        Gateway(
            "gateway",
            GatewayArgs(
                prefix="lab-test",
                placement=PLACEMENT,
                users_function_name="lab-users",
                users_invoke_arn="arn:aws:apigateway:us-east-1:lambda:path/functions/lab-users/invocations",
                backend_alb_arn="arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/b/1",
                backend_dns_name="internal-b.us-east-1.elb.amazonaws.com",
                backend_origin_secret="secret-b",
                progress_alb_arn="arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/p/2",
                progress_dns_name="internal-p.us-east-1.elb.amazonaws.com",
                progress_origin_secret="secret-p",
                security_group_id=OWN_GROUP,
            ),
        )

    graph = Graph.of(run_program(program))
    assert graph.of_type("aws:ec2/securityGroup:SecurityGroup") == []
    link = graph.one("aws:apigatewayv2/vpcLink:VpcLink", "gateway-vpc-link").inputs
    assert link["securityGroupIds"] == [OWN_GROUP]
