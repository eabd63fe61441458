"""Network: a VPC with public and private subnets across availability zones.

Public subnets hold the load balancers and NAT gateways; private subnets hold every
instance and the database. A gateway endpoint keeps S3 traffic off the NAT.
"""

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra._common import args_of, declared_outputs, standard_tags


@dataclass(frozen=True)
class NetworkArgs:
    """Every knob of the network."""

    cidr_block: str = "10.0.0.0/16"
    """The VPC's address range; subnets are /20 slices of it."""
    az_count: int = 2
    """How many availability zones to spread subnets across (2-4)."""
    nat_gateways: int = 1
    """NAT gateways for private egress: 1 (cheap, one AZ) up to az_count (one per AZ)."""
    owner: str = "platform"
    """The ``owner`` tag."""

    def __post_init__(self) -> None:
        if not 2 <= self.az_count <= 4:
            raise ValueError("az_count must be between 2 and 4")
        if not 1 <= self.nat_gateways <= self.az_count:
            raise ValueError("nat_gateways must be between 1 and az_count")
        if ipaddress.ip_network(self.cidr_block).prefixlen > 18:
            raise ValueError("cidr_block must be /18 or larger to hold the subnets")


def subnet_cidrs(cidr_block: str, az_count: int) -> tuple[list[str], list[str]]:
    """Public and private /20 subnets: public first, then private, one of each per AZ."""
    slices = [str(s) for s in ipaddress.ip_network(cidr_block).subnets(new_prefix=20)]
    return slices[:az_count], slices[az_count : 2 * az_count]


class Network(pulumi.ComponentResource):
    """VPC, internet gateway, NAT, public and private subnets, route tables, S3 gateway endpoint."""

    vpc_id: pulumi.Output[str]
    vpc_cidr_block: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    vpc: aws.ec2.Vpc
    """The VPC."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = args_of(NetworkArgs, args)
        super().__init__("reelstack:index:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = standard_tags("network", args.owner)
        public_cidrs, private_cidrs = subnet_cidrs(args.cidr_block, args.az_count)
        zones = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOptions(parent=self))

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr_block,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": f"{name}-vpc"},
            opts=child,
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags={**tags, "Name": f"{name}-igw"}, opts=child
        )
        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={**tags, "Name": f"{name}-public"},
            opts=child,
        )

        def tier_subnet(tier: str, i: int, cidr: str) -> aws.ec2.Subnet:
            return aws.ec2.Subnet(
                f"{name}-{tier}-{i}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zones.names[i],
                map_public_ip_on_launch=False,
                tags={**tags, "Name": f"{name}-{tier}-{i}", "tier": tier},
                opts=child,
            )

        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        for i in range(args.az_count):
            public = tier_subnet("public", i, public_cidrs[i])
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}", subnet_id=public.id, route_table_id=public_rt.id, opts=child
            )
            public_subnets.append(public)
            private_subnets.append(tier_subnet("private", i, private_cidrs[i]))

        nats: list[aws.ec2.NatGateway] = []
        for i in range(args.nat_gateways):
            eip = aws.ec2.Eip(
                f"{name}-nat-{i}", domain="vpc", tags={**tags, "Name": f"{name}-nat-{i}"}, opts=child
            )
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{i}",
                    allocation_id=eip.id,
                    subnet_id=public_subnets[i].id,
                    tags={**tags, "Name": f"{name}-nat-{i}"},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
            )

        private_rts: list[aws.ec2.RouteTable] = []
        for i, subnet in enumerate(private_subnets):
            nat = nats[i % len(nats)]
            rt = aws.ec2.RouteTable(
                f"{name}-private-{i}",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags={**tags, "Name": f"{name}-private-{i}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}", subnet_id=subnet.id, route_table_id=rt.id, opts=child
            )
            private_rts.append(rt)

        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self))
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=region.region.apply(lambda r: f"com.amazonaws.{r}.s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_rts],
            tags={**tags, "Name": f"{name}-s3"},
            opts=child,
        )

        self.vpc_id = vpc.id
        self.vpc_cidr_block = vpc.cidr_block
        self.public_subnet_ids = [s.id for s in public_subnets]
        self.private_subnet_ids = [s.id for s in private_subnets]
        self.vpc = vpc
        self.register_outputs(declared_outputs(self))
