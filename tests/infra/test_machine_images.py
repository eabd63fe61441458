"""Which AMI each EC2 service boots: the newest image ``images/build.sh`` built for it, unless the
stack pins an id, which must then be an id AWS would accept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from infra import MachineImage
from infra._fleet import checked_ami_id
from pulumi_offline import synth
from pulumi_offline.graph import Graph
from pulumi_offline.synth import synthesize_stack

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("backend", "transcoder", "progress")
GET_AMI = "aws:ec2/getAmi:getAmi"
# The id forms AWS issues, as its API references spell them (see the docstrings below).
AWS_AMI_ID = re.compile(r"(ami-[0-9a-f]{8})|(ami-[0-9a-f]{17})")


def _filters(lookup: dict[str, object]) -> dict[str, list[str]]:
    return {f["name"]: f["values"] for f in lookup["filters"]}  # type: ignore[attr-defined]


def test_each_service_boots_the_newest_arm64_image_its_packer_build_named(prod: Graph) -> None:
    """With no id pinned, each launch template boots what ``aws.ec2.get_ami`` finds: the most
    recent available arm64 image this account owns named ``reelstack-<service>-*``."""
    lookups = prod.invoked(GET_AMI)
    by_pattern = {_filters(lookup)["name"][0]: lookup for lookup in lookups}
    assert sorted(by_pattern) == sorted(f"reelstack-{s}-*" for s in SERVICES)
    for service in SERVICES:
        lookup = by_pattern[f"reelstack-{service}-*"]
        assert lookup["owners"] == ["self"] and lookup["mostRecent"] is True
        assert _filters(lookup) == {
            "name": [f"reelstack-{service}-*"],
            "architecture": ["arm64"],
            "state": ["available"],
        }
        template = prod.one("aws:ec2/launchTemplate:LaunchTemplate", f"{service}-lt").inputs
        assert template["imageId"] == synth._newest_image(lookup)["id"]
        assert AWS_AMI_ID.fullmatch(template["imageId"])


def test_a_pinned_id_is_booted_and_skips_that_services_lookup() -> None:
    pinned = "ami-0123456789abcdef0"
    graph = Graph.of(synthesize_stack("dev", overrides={"reelstack:backendAmi": pinned}))
    assert graph.one("aws:ec2/launchTemplate:LaunchTemplate", "backend-lt").inputs["imageId"] == pinned
    patterns = sorted(_filters(lookup)["name"][0] for lookup in graph.invoked(GET_AMI))
    assert patterns == ["reelstack-progress-*", "reelstack-transcoder-*"]


def test_a_malformed_pinned_id_stops_the_program_naming_the_config_key() -> None:
    """AWS refuses an image id that is not ``ami-`` and 8 or 17 hex digits: EC2 resource ids are a
    prefix and 8 characters (before 2016) or 17 (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html),
    lowercase hex as AWS's API references give the pattern, ``(ami-[0-9a-f]{8})|(ami-[0-9a-f]{17})``
    (https://docs.aws.amazon.com/snowball/latest/api-reference/API_Ec2AmiResource.html). The placeholder
    ids the stack files used to hold fail here, at preview, instead of at launch."""
    with pytest.raises(ValueError, match=r"reelstack:transcoderAmi is 'ami-0prod0transcoder00'.*8 or 17 hex"):
        synthesize_stack("prod", overrides={"reelstack:transcoderAmi": "ami-0prod0transcoder00"})


@pytest.mark.parametrize("value", ["ami-1a2b3c4d", "ami-0123456789abcdef0"])
def test_ami_ids_of_both_lengths_aws_issues_are_accepted(value: str) -> None:
    assert checked_ami_id(value, "reelstack:backendAmi") == value
    assert MachineImage(ami_id=value).ami_id == value


@pytest.mark.parametrize(
    "value",
    [
        "ami-0prod0backend00000",  # the old placeholder: not hex
        "ami-0123456789ABCDEF0",  # AWS issues lowercase
        "ami-0123456789abcdef",  # 16 digits
        "ami-1a2b3c4d5",  # 9 digits
        "0123456789abcdef0",  # no prefix
        "ami-0123456789abcdef0 ",
    ],
)
def test_anything_else_is_refused_with_an_error_naming_where_it_was_set(value: str) -> None:
    with pytest.raises(ValueError, match=r"^reelstack:backendAmi is .*not an AMI id"):
        checked_ami_id(value, "reelstack:backendAmi")
    with pytest.raises(ValueError, match=r"^MachineImage.ami_id is "):
        MachineImage(ami_id=value)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_stack_files_pin_no_id_aws_would_refuse(stack: str) -> None:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    pinned = {k: v for k, v in config.items() if k.endswith("Ami")}
    assert {k: v for k, v in pinned.items() if not AWS_AMI_ID.fullmatch(str(v))} == {}


def test_an_app_developer_can_look_up_images_built_under_another_name_or_account() -> None:
    shared = MachineImage(name_prefix="lab", owners=("210987654321",))
    assert shared.name_pattern("transcoder") == "lab-transcoder-*"
    assert MachineImage().name_pattern("backend") == "reelstack-backend-*"
