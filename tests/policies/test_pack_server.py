"""The pack as the Pulumi CLI runs it: ``python -u -m pulumi.policy <engine> policies`` serves CrossGuard's
Analyzer over gRPC; the engine's own calls (info, configure, analyze, analyze stack) reach the same
policies with camelCase props, and config comes from the per-stack file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policies.pack import POLICIES

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module", params=["in-repo", "published-copy"])
def analyzer(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The pack served from the repository, and from a copy under another name (as a published pack runs)."""
    pack_dir = POLICIES_DIR
    if request.param == "published-copy":
        pack_dir = tmp_path_factory.mktemp("published") / "reelstack_guard"
        shutil.copytree(POLICIES_DIR, pack_dir, ignore=shutil.ignore_patterns("__pycache__", "venv"))
    # Popen as a context manager closes the pipes too (unclosed-file warnings otherwise).
    with subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(pack_dir)],
        cwd=pack_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            port = process.stdout.readline().strip()  # the pack prints its port, then serves
            assert port.isdigit(), (
                f"pack did not start: {port!r} {process.stderr.read() if process.stderr else ''}"
            )
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                grpc.channel_ready_future(channel).result(timeout=30)
                yield analyzer_pb2_grpc.AnalyzerStub(channel)
        finally:
            process.terminate()
            process.wait(timeout=30)


def struct(values: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


def configure(stub: analyzer_pb2_grpc.AnalyzerStub, stack: str) -> None:
    """What ``--policy-pack-config policies/config/<stack>.json`` sends the pack."""
    document = json.loads((POLICIES_DIR / "config" / f"{stack}.json").read_text())
    configs = {}
    for name, entry in document.items():
        body = {"enforcementLevel": entry} if isinstance(entry, str) else dict(entry)
        level = body.pop("enforcementLevel", "mandatory")
        configs[name] = analyzer_pb2.PolicyConfig(
            enforcementLevel=analyzer_pb2.EnforcementLevel.Value(level.upper()), properties=struct(body)
        )
    stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=configs))


DB_URN = "urn:pulumi:prod::reelstack::aws:rds/instance:Instance::db"
DB_PROPS = {
    "instanceClass": "db.m7g.large",
    "publiclyAccessible": False,
    "storageEncrypted": True,
    "backupRetentionPeriod": 14,
    "deletionProtection": True,
    "tags": {"service": "database", "stack": "prod", "owner": "platform-team"},
}


def analyze(stub: analyzer_pb2_grpc.AnalyzerStub, props: dict[str, Any]) -> dict[str, int]:
    request = analyzer_pb2.AnalyzeRequest(
        type="aws:rds/instance:Instance", properties=struct(props), urn=DB_URN, name="db"
    )
    return {d.policyName: d.enforcementLevel for d in stub.Analyze(request).diagnostics}


def test_pack_describes_every_policy_with_level_and_config_schema(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "reelstack"
    served = {p.name: p for p in info.policies}
    assert set(served) == {p.name for p in POLICIES}
    assert all(p.description for p in served.values())
    assert served["cloudfront-custom-certificate"].enforcementLevel == analyzer_pb2.ADVISORY
    assert served["rds-not-public"].enforcementLevel == analyzer_pb2.MANDATORY
    assert served["rds-backup-retention"].configSchema.properties["minimumDays"]["default"] == 7


def test_engine_analysis_reports_a_public_database_and_passes_a_private_one(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
) -> None:
    configure(analyzer, "prod")
    assert analyze(analyzer, DB_PROPS) == {}
    found = analyze(analyzer, {**DB_PROPS, "publiclyAccessible": True, "backupRetentionPeriod": 3})
    assert found == {"rds-not-public": analyzer_pb2.MANDATORY, "rds-backup-retention": analyzer_pb2.MANDATORY}


def test_engine_analysis_uses_the_dev_config(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    configure(analyzer, "dev")
    found = analyze(analyzer, {**DB_PROPS, "backupRetentionPeriod": 1, "deletionProtection": False})
    # dev: one day of backups is enough, deletion protection is off, but prod's class is too big
    # and the tags say prod.
    assert found == {"cost-instance-types": analyzer_pb2.MANDATORY, "tags-required": analyzer_pb2.MANDATORY}


def test_engine_stack_analysis_follows_property_dependencies_and_tolerates_unknowns(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
) -> None:
    configure(analyzer, "prod")
    bucket_urn = "urn:pulumi:prod::reelstack::aws:s3/bucket:Bucket::uploads"
    block = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
    # A preview: the bucket's generated name is not known yet.
    bucket = analyzer_pb2.AnalyzerResource(
        type="aws:s3/bucket:Bucket",
        urn=bucket_urn,
        name="uploads",
        properties=struct({"bucketPrefix": "reelstack-prod-uploads-", "bucket": UNKNOWN_STRING_VALUE}),
    )
    flags = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True}
    partial_block = analyzer_pb2.AnalyzerResource(
        type=block,
        urn=f"urn:pulumi:prod::reelstack::{block}::uploads",
        name="uploads",
        properties=struct({**flags, "restrictPublicBuckets": False, "bucket": UNKNOWN_STRING_VALUE}),
        propertyDependencies={"bucket": analyzer_pb2.AnalyzerPropertyDependencies(urns=[bucket_urn])},
    )
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[bucket, partial_block]))
    found = {(d.policyName, d.urn.rsplit("::", 1)[-1], d.urn.split("::")[2]) for d in response.diagnostics}
    assert ("s3-public-access-blocked", "uploads", block) in found
    assert ("s3-public-access-blocked", "uploads", "aws:s3/bucket:Bucket") not in found
    assert ("s3-encryption", "uploads", "aws:s3/bucket:Bucket") in found
    assert ("s3-uploads-versioned", "uploads", "aws:s3/bucket:Bucket") in found
    assert not [d.message for d in response.diagnostics if "can't run policy" in d.message]
