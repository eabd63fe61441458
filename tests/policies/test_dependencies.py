"""Stack policies follow the property dependencies synth recorded from each registration, as the
engine reports them; the runner no longer guesses links from matching output values."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel

from policies.pack import POLICIES
from pulumi_offline.policy import PolicySetting, evaluate, stack_resources
from pulumi_offline.synth import SynthResource
from tests.policies.conftest import resource

BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"

# (resource type, input, type of the resource it must lead to) for every link the policies follow.
LINKS = [
    (PUBLIC_ACCESS_BLOCK, "bucket", BUCKET),
    (
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "bucket",
        BUCKET,
    ),
    ("aws:s3/bucketPolicy:BucketPolicy", "bucket", BUCKET),
    ("aws:s3/bucketVersioning:BucketVersioning", "bucket", BUCKET),
    ("aws:sqs/queue:Queue", "redrivePolicy", "aws:sqs/queue:Queue"),
    ("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", "queueUrl", "aws:sqs/queue:Queue"),
    ("aws:apigateway/stage:Stage", "restApi", "aws:apigateway/restApi:RestApi"),
    ("aws:apigateway/methodSettings:MethodSettings", "restApi", "aws:apigateway/restApi:RestApi"),
    ("aws:autoscaling/group:Group", "vpcZoneIdentifiers", "aws:ec2/subnet:Subnet"),
]


def test_stack_policies_see_exactly_the_recorded_property_dependencies(
    prod_graph: list[SynthResource],
) -> None:
    view = {r.urn: r for r in stack_resources(prod_graph)}
    for recorded in prod_graph:
        links = {key: [d.urn for d in ds] for key, ds in view[recorded.urn].property_dependencies.items()}
        assert links == recorded.property_dependencies, recorded.name
        assert [d.urn for d in view[recorded.urn].dependencies] == sorted(
            {u for urns in recorded.property_dependencies.values() for u in urns}
        )


def test_every_link_a_stack_policy_follows_is_recorded_in_the_prod_graph(
    prod_graph: list[SynthResource],
) -> None:
    types = {r.urn: r.type for r in prod_graph}
    checked = 0
    for recorded in prod_graph:
        for source_type, key, target_type in LINKS:
            if recorded.type == source_type and key in recorded.inputs:
                targets = [types[u] for u in recorded.property_dependencies.get(key, [])]
                assert target_type in targets, f"{recorded.name}.{key}"
                checked += 1
    assert checked >= 15


def test_a_matching_value_without_a_recorded_dependency_is_no_link() -> None:
    policy = next(p for p in POLICIES if p.name == "s3-public-access-blocked")
    settings = {policy.name: PolicySetting(EnforcementLevel.MANDATORY, {})}
    bucket = resource(BUCKET, "uploads", bucket="reelstack-uploads")
    flags = {"blockPublicAcls": True, "blockPublicPolicy": True}
    flags |= {"ignorePublicAcls": True, "restrictPublicBuckets": True}
    by_value = resource(PUBLIC_ACCESS_BLOCK, "uploads", bucket="reelstack-uploads", **flags)
    by_dependency = resource(
        PUBLIC_ACCESS_BLOCK, "uploads", links={"bucket": [bucket]}, bucket="b-id", **flags
    )

    flagged = evaluate([bucket, by_value], settings, policies=[policy])
    assert [(v.resource_type, v.resource_name) for v in flagged] == [(BUCKET, "uploads")]
    assert evaluate([bucket, by_dependency], settings, policies=[policy]) == []
