from __future__ import annotations

import pytest

from infra.network import NetworkArgs, subnet_cidrs
from pulumi_offline.graph import Graph


def test_subnet_cidrs_do_not_overlap_and_pair_public_with_private() -> None:
    public, private = subnet_cidrs("10.0.0.0/16", 3)
    assert public == ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"]
    assert private == ["10.0.48.0/20", "10.0.64.0/20", "10.0.80.0/20"]


@pytest.mark.parametrize(
    "bad",
    [{"az_count": 1}, {"nat_gateways": 0}, {"nat_gateways": 3, "az_count": 2}, {"cidr_block": "10.0.0.0/24"}],
)
def test_network_args_refuse_impossible_layouts(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        NetworkArgs(**bad)  # type: ignore[arg-type]


def test_prod_spreads_subnets_over_three_zones_with_a_nat_in_each(prod: Graph) -> None:
    subnets = prod.of_type("aws:ec2/subnet:Subnet")
    assert len(subnets) == 6
    assert {s.inputs["availabilityZone"] for s in subnets} == {"us-east-1a", "us-east-1b", "us-east-1c"}
    assert len(prod.of_type("aws:ec2/natGateway:NatGateway")) == 3


def test_dev_shares_one_nat_gateway(dev: Graph) -> None:
    assert len(dev.of_type("aws:ec2/natGateway:NatGateway")) == 1
    routes = [rt for rt in dev.of_type("aws:ec2/routeTable:RouteTable") if rt.name.startswith("net-private")]
    assert {rt.inputs["routes"][0]["natGatewayId"] for rt in routes} == {"net-nat-0-id"}


def test_no_subnet_gives_instances_public_addresses(prod: Graph) -> None:
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in prod.of_type("aws:ec2/subnet:Subnet"))


def test_private_route_tables_reach_s3_through_the_gateway_endpoint(prod: Graph) -> None:
    endpoint = prod.one("aws:ec2/vpcEndpoint:VpcEndpoint", "net-s3")
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert sorted(endpoint.inputs["routeTableIds"]) == [f"net-private-{i}-id" for i in range(3)]
