"""A throwaway Pulumi project for the test kit's plugin tests: a bucket, a component and a policy pack.

``shop`` is what another team's repository might hold: ``Pulumi.yaml`` with a project-level
config default, two stacks, a program that imports a module creating a bucket when imported
(a common Pulumi layout), a component in a module of its own, and a CrossGuard pack whose one
policy comes from a sibling module and is mandatory through the pack's level.
"""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_FILES = {
    "shop/Pulumi.yaml": """\
name: shop
runtime: python
config:
  retentionDays:
    type: integer
    default: 30
""",
    "shop/Pulumi.dev.yaml": """\
config:
  aws:region: eu-west-1
  shop:owner: web-team
""",
    "shop/Pulumi.prod.yaml": """\
config:
  aws:region: us-west-2
  shop:owner: platform-team
  shop:retentionDays: 365
""",
    "shop/__main__.py": """\
import pulumi

import logs
from assets import SiteAssets, SiteAssetsArgs

config = pulumi.Config()
site = SiteAssets("site", SiteAssetsArgs(owner=config.require("owner")))
pulumi.export("site_bucket", site.bucket_name)
pulumi.export("logs_bucket", logs.bucket.bucket)
""",
    "shop/logs.py": """\
\"\"\"The access-log bucket, created when the program imports this module.\"\"\"
import pulumi
import pulumi_aws as aws

config = pulumi.Config()
bucket = aws.s3.Bucket(
    "logs",
    tags={"owner": config.require("owner"), "retention": str(config.require_int("retentionDays"))},
)
""",
    "shop/assets.py": """\
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class SiteAssetsArgs:
    owner: str | None


class SiteAssets(pulumi.ComponentResource):
    def __init__(self, name: str, args: SiteAssetsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("shop:index:SiteAssets", name, None, opts)
        tags = {"owner": args.owner} if args.owner else {}
        bucket = aws.s3.Bucket(f"{name}-assets", tags=tags, opts=pulumi.ResourceOptions(parent=self))
        aws.s3.BucketPublicAccessBlock(
            f"{name}-private",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.bucket_name = bucket.bucket
        self.register_outputs({"bucketName": bucket.bucket})
""",
    "policy/PulumiPolicy.yaml": "runtime: python\n",
    "policy/__main__.py": """\
from pulumi_policy import EnforcementLevel, PolicyPack

from rules import OWNER_TAG

PolicyPack(name="shop-policies", enforcement_level=EnforcementLevel.MANDATORY, policies=[OWNER_TAG])
""",
    "policy/rules.py": """\
from pulumi_policy import ResourceValidationPolicy


def _owner_tagged(args, report_violation):
    if args.resource_type == "aws:s3/bucket:Bucket" and "owner" not in (args.props.get("tags") or {}):
        report_violation("an S3 bucket needs an owner tag, so its bill has someone to go to")


OWNER_TAG = ResourceValidationPolicy(
    name="s3-owner-tag", description="S3 buckets carry an owner tag", validate=_owner_tagged
)
""",
}


def write_shop(root: Path, *, project_at_root: bool = False) -> Path:
    """The project and its pack under ``root``: the project in ``shop/``, or ``root`` itself; returns the project."""
    for name, text in PROJECT_FILES.items():
        path = root / (name.removeprefix("shop/") if project_at_root else name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root if project_at_root else root / "shop"


@pytest.fixture
def shop(pytester: pytest.Pytester) -> Path:
    """The throwaway project and its pack in the pytester directory; the component importable from tests."""
    pytester.makeini("[pytest]\npythonpath = shop\n")
    return write_shop(pytester.path)
