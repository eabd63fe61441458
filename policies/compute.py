"""EC2, launch templates and Auto Scaling: IMDSv2 only, no public addresses, encrypted volumes,
no SSH (no key pair, no port 22 open: Session Manager reaches the instances)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._support import as_list, is_false, is_true, known, linked, of_type, settings, tags_of

INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
GROUP = "aws:autoscaling/group:Group"
SUBNET = "aws:ec2/subnet:Subnet"
VOLUME = "aws:ebs/volume:Volume"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SSH_PORT = 22


def _imdsv2(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (INSTANCE, LAUNCH_TEMPLATE):
        return
    options = known(args.props, "metadataOptions") or {}
    if is_false(options.get("httpEndpoint")) or options.get("httpEndpoint") == "disabled":
        return  # no metadata service at all
    if options.get("httpTokens") != "required":
        report(f"{args.name} does not require IMDSv2 (metadataOptions.httpTokens = 'required')", None)


PUBLIC_IP_SCHEMA = PolicyConfigSchema(
    properties={
        "publicServices": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "values of the 'service' tag whose instances may have public addresses",
        }
    }
)


def _no_public_ip(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (INSTANCE, LAUNCH_TEMPLATE):
        return
    if tags_of(args.props).get("service") in settings(args, PUBLIC_IP_SCHEMA)["publicServices"]:
        return
    requested = [known(args.props, "associatePublicIpAddress")]
    requested += [n.get("associatePublicIpAddress") for n in as_list(known(args.props, "networkInterfaces"))]
    if any(is_true(value) for value in requested):
        report(f"{args.name} gives its instances a public IP address; private services stay private", None)


def _private_subnets(args: StackValidationArgs, report: ReportViolation) -> None:
    public_services = settings(args, PUBLIC_IP_SCHEMA)["publicServices"]
    for group in of_type(args, GROUP):
        if tags_of(group.props).get("service") in public_services:
            continue
        for subnet in linked(group, "vpcZoneIdentifiers", SUBNET):
            if (
                is_true(known(subnet.props, "mapPublicIpOnLaunch"))
                or tags_of(subnet.props).get("tier") == "public"
            ):
                report(
                    f"Auto Scaling group {group.name} launches into public subnet {subnet.name}", group.urn
                )


def _unencrypted_devices(props: Mapping[str, Any], resource_type: str) -> list[str]:
    if resource_type == VOLUME:
        return [] if is_true(known(props, "encrypted")) else ["the volume"]
    if resource_type == LAUNCH_TEMPLATE:
        return [
            str(m.get("deviceName", "?"))
            for m in as_list(known(props, "blockDeviceMappings"))
            if m.get("ebs") is not None and not is_true(m["ebs"].get("encrypted"))
        ]
    if resource_type == INSTANCE:
        devices = [("root", known(props, "rootBlockDevice") or {})]
        devices += [(str(d.get("deviceName", "?")), d) for d in as_list(known(props, "ebsBlockDevices"))]
        return [name for name, device in devices if not is_true(device.get("encrypted"))]
    return []


def _encrypted_volumes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    unencrypted = _unencrypted_devices(args.props, args.resource_type)
    if unencrypted:
        report(f"{args.name} has unencrypted EBS volumes: {', '.join(unencrypted)}", None)


def _opens_ssh(rule: Mapping[str, Any]) -> bool:
    """Whether an ingress rule (inline, SecurityGroupRule or vpc ingress rule) lets in TCP port 22."""
    protocol = str(rule.get("protocol", rule.get("ipProtocol", ""))).lower()
    if protocol in ("-1", "all"):
        return True
    if protocol not in ("tcp", "6"):
        return False
    low, high = rule.get("fromPort"), rule.get("toPort")
    return low is not None and high is not None and float(low) <= SSH_PORT <= float(high)


def _no_ssh(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in (INSTANCE, LAUNCH_TEMPLATE) and known(args.props, "keyName"):
        report(f"{args.name} installs an SSH key pair; reach instances with Session Manager", None)
    rules: list[Any] = []
    if args.resource_type == SECURITY_GROUP:
        rules = as_list(known(args.props, "ingress"))
    elif args.resource_type == INGRESS_RULE or (
        args.resource_type == SECURITY_GROUP_RULE and known(args.props, "type") == "ingress"
    ):
        rules = [args.props]
    if any(_opens_ssh(rule) for rule in rules):
        report(f"{args.name} lets in SSH (port 22); reach instances with Session Manager", None)


POLICIES = [
    ResourceValidationPolicy(
        name="ec2-imdsv2-required",
        description="Instances and launch templates require IMDSv2 session tokens.",
        validate=_imdsv2,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="ec2-no-public-ip",
        description="Instances of private services get no public IP address.",
        validate=_no_public_ip,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PUBLIC_IP_SCHEMA,
    ),
    StackValidationPolicy(
        name="asg-private-subnets",
        description="Auto Scaling groups of private services launch only into private subnets.",
        validate=_private_subnets,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PUBLIC_IP_SCHEMA,
    ),
    ResourceValidationPolicy(
        name="ec2-no-ssh",
        description="No instance gets an SSH key pair and no security group lets in port 22.",
        validate=_no_ssh,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="ec2-encrypted-volumes",
        description="EBS volumes of instances, launch templates and standalone volumes are encrypted.",
        validate=_encrypted_volumes,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
