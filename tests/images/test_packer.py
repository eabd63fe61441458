"""One Packer template builds every role's AMI; each role's variables validate against it."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from infra import MachineImage
from tests.images.conftest import IMAGES, ROLES

ROOT = IMAGES.parent
TEMPLATE = IMAGES / "reelstack.pkr.hcl"


def _packer() -> str:
    packer = shutil.which("packer")
    assert packer, "packer is not installed (make system-packages-test installs it)"
    return packer


@pytest.mark.parametrize("role", ROLES)
def test_template_validates_with_each_roles_variables(role: str, tmp_path: Path) -> None:
    wheel = tmp_path / "reelstack-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"")  # validate checks that provisioned files exist, not what they hold
    done = subprocess.run(
        [
            _packer(),
            "validate",
            f"-var-file={IMAGES / role / f'{role}.pkrvars.hcl'}",
            f"-var=wheel={wheel}",
            str(TEMPLATE),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _validate(*variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            _packer(),
            "validate",
            f"-var-file={IMAGES / 'backend' / 'backend.pkrvars.hcl'}",
            *variables,
            str(TEMPLATE),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_template_refuses_a_missing_wheel() -> None:
    done = _validate("-var=wheel=dist/none.whl")
    assert done.returncode != 0 and "none.whl" in done.stdout + done.stderr


def test_template_refuses_an_unknown_role(tmp_path: Path) -> None:
    wheel = tmp_path / "reelstack-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    done = _validate(f"-var=wheel={wheel}", "-var=role=database")
    assert done.returncode != 0 and "backend, transcoder or progress" in done.stdout + done.stderr


@pytest.mark.parametrize("path", sorted(IMAGES.rglob("*.pkr*.hcl")), ids=lambda p: p.name)
def test_packer_files_are_formatted(path: Path) -> None:
    done = subprocess.run([_packer(), "fmt", "-check", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"run: packer fmt {path}"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_names_itself_and_has_units(role: str) -> None:
    variables = (IMAGES / role / f"{role}.pkrvars.hcl").read_text()
    assert re.search(rf'^role\s*=\s*"{role}"$', variables, re.MULTILINE)
    assert list((IMAGES / role).glob("*.service"))


def test_only_the_images_that_run_ffmpeg_install_it() -> None:
    """The transcoder transcodes; the backend re-encodes the posters owners upload (app/backend/posters.py)."""
    with_ffmpeg = [r for r in ROLES if "ffmpeg" in (IMAGES / r / f"{r}.pkrvars.hcl").read_text()]
    assert sorted(with_ffmpeg) == ["backend", "transcoder"]


def test_there_is_one_template_and_one_provisioning_script() -> None:
    assert sorted(p.name for p in IMAGES.rglob("*.pkr.hcl")) == ["reelstack.pkr.hcl"]
    assert sorted(p.name for p in IMAGES.rglob("provision*.sh")) == ["provision.sh"]


@pytest.mark.parametrize("script", sorted(IMAGES.rglob("*.sh")), ids=lambda p: p.name)
def test_scripts_pass_shellcheck(script: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is not installed (make system-packages-test installs it)"
    done = subprocess.run(
        [shellcheck, "--severity=style", str(script)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout


def _block(text: str, opening: str) -> str:
    return text.split(opening, 1)[1].split("\n  }\n", 1)[0]


@pytest.mark.parametrize("role", ROLES)
def test_each_image_is_named_so_the_stacks_lookup_finds_the_newest(role: str) -> None:
    template = TEMPLATE.read_text()
    [ami_name] = re.findall(r'^\s*ami_name\s*=\s*"(.+)"$', template, re.MULTILINE)
    built = ami_name.replace("${var.role}", role).replace("${local.build_time}", "20261203091500")
    assert fnmatch.fnmatchcase(built, MachineImage().name_pattern(role))
    assert not any(fnmatch.fnmatchcase(built, MachineImage().name_pattern(r)) for r in ROLES if r != role)


def test_images_and_their_snapshots_are_tagged_with_service_and_commit() -> None:
    template = TEMPLATE.read_text()
    for block in (_block(template, "  tags = {"), _block(template, "  snapshot_tags = {")):
        tags = dict(re.findall(r"^\s*(\w+)\s*=\s*(.+)$", block, re.MULTILINE))
        assert tags["service"] == "var.role" and tags["git_commit"] == "var.git_commit"
    build = (IMAGES / "build.sh").read_text()
    assert '-var "git_commit=$commit"' in build and 'commit="$(git rev-parse HEAD)"' in build
