"""Reading a Pulumi project and a policy pack as the CLI would, and the errors that name the fix."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pulumi_offline.policy import load_policy_pack
from pulumi_offline.synth import PulumiProject, synthesize_project
from tests.pulumi_offline.conftest import write_shop


def test_a_project_reads_its_name_program_and_config_defaults_under_the_stack_file(tmp_path: Path) -> None:
    project = PulumiProject.read(write_shop(tmp_path))
    assert (project.name, project.main) == ("shop", tmp_path / "shop")
    assert project.stacks() == ["dev", "prod"]
    assert project.config("prod") == {
        "shop:retentionDays": "365",
        "aws:region": "us-west-2",
        "shop:owner": "platform-team",
    }
    assert project.config("dev")["shop:retentionDays"] == "30"


def test_a_stack_without_a_config_file_names_the_stacks_there_are(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"Pulumi\.staging\.yaml; stacks: dev, prod"):
        synthesize_project(write_shop(tmp_path), "staging")


def test_an_encrypted_config_value_names_the_key_and_the_stand_in(tmp_path: Path) -> None:
    project = write_shop(tmp_path)
    (project / "Pulumi.dev.yaml").write_text("config:\n  shop:owner:\n    secure: AAABAMd1\n")
    with pytest.raises(ValueError, match=r"owner is an encrypted secret.*pass a stand-in value"):
        PulumiProject.read(project).config("dev")


def test_a_pack_is_read_with_its_level_and_its_modules_dropped_after(tmp_path: Path) -> None:
    write_shop(tmp_path)
    pack = load_policy_pack(tmp_path / "policy")
    assert (pack.name, pack.enforcement_level.value, [p.name for p in pack.policies]) == (
        "shop-policies",
        "mandatory",
        ["s3-owner-tag"],
    )
    assert "rules" not in sys.modules


def test_a_directory_that_is_no_pack_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"is not a policy pack: it has no __main__\.py"):
        load_policy_pack(tmp_path)
    (tmp_path / "__main__.py").write_text("import pulumi_policy\n")
    with pytest.raises(ValueError, match=r"without creating a PolicyPack\(\.\.\.\)"):
        load_policy_pack(tmp_path)
