"""The runner infers property dependencies from the graph (the mocks' recording has no such field);
for every link a stack policy follows, the inference must equal what the engine records."""

from __future__ import annotations

from typing import Any

import pytest

from infra import synth
from policies.runner import stack_resources

# (resource type, input, type of the resource it must lead to) for every link the policies follow.
LINKS = [
    ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket", "aws:s3/bucket:Bucket"),
    (
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "bucket",
        "aws:s3/bucket:Bucket",
    ),
    ("aws:s3/bucketPolicy:BucketPolicy", "bucket", "aws:s3/bucket:Bucket"),
    ("aws:s3/bucketVersioning:BucketVersioning", "bucket", "aws:s3/bucket:Bucket"),
    ("aws:sqs/queue:Queue", "redrivePolicy", "aws:sqs/queue:Queue"),
    ("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", "queueUrl", "aws:sqs/queue:Queue"),
    ("aws:apigateway/stage:Stage", "restApi", "aws:apigateway/restApi:RestApi"),
    ("aws:apigateway/methodSettings:MethodSettings", "restApi", "aws:apigateway/restApi:RestApi"),
    ("aws:autoscaling/group:Group", "vpcZoneIdentifiers", "aws:ec2/subnet:Subnet"),
]


@pytest.fixture(scope="module")
def engine_dependencies() -> tuple[list[synth.SynthResource], dict[str, dict[str, list[str]]]]:
    """The prod graph, and the property dependencies each registration carried to the monitor."""
    recorded: dict[str, dict[str, list[str]]] = {}
    original = synth._RecordingMonitor.RegisterResource

    def register(self: synth._RecordingMonitor, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        recorded[urn] = {k: list(v.urns) for k, v in request.propertyDependencies.items()}
        return original(self, request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(synth._RecordingMonitor, "RegisterResource", register)
        resources = synth.synthesize("prod")
    return resources, recorded


def test_inferred_links_equal_the_engines_property_dependencies(
    engine_dependencies: tuple[list[synth.SynthResource], dict[str, dict[str, list[str]]]],
) -> None:
    resources, recorded = engine_dependencies
    types = {r.urn: r.type for r in resources}
    checked = 0
    for resource in stack_resources(resources, synth.MOCK_REGION):
        for source_type, key, target_type in LINKS:
            if resource.resource_type != source_type or key not in resource.props:
                continue
            inferred = {
                d.urn for d in resource.property_dependencies.get(key, []) if d.resource_type == target_type
            }
            actual = {u for u in recorded[resource.urn].get(key, []) if types.get(u) == target_type}
            assert inferred == actual, f"{resource.name}.{key}"
            assert actual
            checked += 1
    assert checked >= 15
