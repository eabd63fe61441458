"""The shapes several components share (``infra/types.py``): one type each, in Python and in the
package schema, taken whole by every component that needs it."""

import dataclasses
import json
from typing import Any

import pulumi
import pytest

from infra.package import COMPONENTS, PACKAGE, provider, schema
from infra.types import BucketReference, Placement, Scaling, TokenIssuer
from pulumi_offline.graph import Graph
from pulumi_offline.synth import run_program

SHARED = (Placement, BucketReference, TokenIssuer, Scaling)
# Every field of a shared type, spelled out flat in an *Args: what the shared types replace.
FLAT = {
    "vpc_id",
    "vpc_cidr",
    "subnet_ids",
    "private_subnet_ids",
    "uploads_bucket_arn",
    "media_bucket_arn",
    "user_pool_client_id",
    "jwt_issuer",
    "jwks_url",
    "signout_table",
    "signout_table_arn",
    "instance_type",
    "min_size",
    "max_size",
}


def _args_type(component: type[pulumi.ComponentResource]) -> Any:
    return component.__init__.__annotations__["args"]


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_no_component_restates_a_shared_shape_field_by_field(
    component: type[pulumi.ComponentResource],
) -> None:
    fields = {f.name for f in dataclasses.fields(_args_type(component))}
    assert not fields & FLAT, f"{component.__name__}: {sorted(fields & FLAT)} belong in a shared type"


def test_each_shared_shape_is_one_schema_type_that_its_components_refer_to() -> None:
    package_schema = schema()
    users: dict[str, set[str]] = {t.__name__: set() for t in SHARED}
    for component in COMPONENTS:
        for f in dataclasses.fields(_args_type(component)):
            if f.type in SHARED:
                users[f.type.__name__].add(component.__name__)
                prop = package_schema["resources"][f"{PACKAGE}:index:{component.__name__}"]["inputProperties"]
                camel = f.name.split("_")[0] + "".join(p.title() for p in f.name.split("_")[1:])
                assert prop[camel]["$ref"] == f"#/types/{PACKAGE}:index:{f.type.__name__}", f.name
    assert users == {
        "Placement": {"BackendService", "Database", "Gateway", "ProgressService", "TranscoderFleet"},
        "BucketReference": {"BackendService", "TranscoderFleet"},
        "TokenIssuer": {"BackendService", "ProgressService"},
        "Scaling": {"BackendService", "ProgressService", "TranscoderFleet"},
    }
    for shape in SHARED:
        documented = package_schema["types"][f"{PACKAGE}:index:{shape.__name__}"]["properties"]
        assert len(documented) == len(dataclasses.fields(shape))
        assert all(p["description"] for p in documented.values()), shape.__name__


def test_scaling_refuses_a_minimum_above_the_maximum() -> None:
    """AWS rule: a group's desired capacity "must be greater than or equal to the minimum size of
    the group and less than or equal to the maximum size of the group", so no group has a minimum
    above its maximum (CreateAutoScalingGroup, DesiredCapacity:
    https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/autoscaling/aws.sdk.kotlin.services.autoscaling.model/-create-auto-scaling-group-request/desired-capacity.html)."""
    with pytest.raises(ValueError, match=r"min_size <= max_size.*min_size=3, max_size=2"):
        Scaling(instance_type="t4g.small", min_size=3, max_size=2)
    with pytest.raises(ValueError, match="min_size=-1"):
        Scaling(instance_type="t4g.small", min_size=-1, max_size=2)
    assert Scaling(instance_type="c7g.large", min_size=0, max_size=0).max_size == 0


def test_a_program_in_another_language_passes_the_shared_shapes_as_objects() -> None:
    """What a YAML or TypeScript program sends the provider: nested objects under camelCase names,
    which reach the group, the launch template and the role's policy."""
    inputs = {
        "names": {"prefix": "lab-yaml"},
        "placement": {"vpcId": "vpc-0abc", "vpcCidr": "10.20.0.0/16", "subnetIds": ["subnet-a", "subnet-b"]},
        "uploadsBucket": {"name": "lab-sources", "arn": "arn:aws:s3:::lab-sources"},
        "mediaBucket": {"name": "lab-renditions", "arn": "arn:aws:s3:::lab-renditions"},
        "progressTopicArn": "arn:aws:sns:eu-west-1:123456789012:lab-progress",
        "progressTopicKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/lab",
        "scaling": {"instanceType": "c7g.xlarge", "minSize": 1, "maxSize": 3},
    }

    def program() -> None:
        provider().construct("lab", f"{PACKAGE}:index:TranscoderFleet", inputs, None)

    graph = Graph.of(run_program(program))
    group = graph.one("aws:autoscaling/group:Group", "lab-asg")
    assert (group.inputs["minSize"], group.inputs["maxSize"]) == (1, 3)
    assert group.inputs["vpcZoneIdentifiers"] == ["subnet-a", "subnet-b"]
    assert graph.one("aws:ec2/launchTemplate:LaunchTemplate", "lab-lt").inputs["instanceType"] == "c7g.xlarge"
    assert graph.one("aws:ec2/securityGroup:SecurityGroup", "lab-instances").inputs["vpcId"] == "vpc-0abc"
    policy = json.dumps(graph.role_policy("lab-policy"))
    assert "arn:aws:s3:::lab-sources/" in policy and "arn:aws:s3:::lab-renditions/*" in policy
