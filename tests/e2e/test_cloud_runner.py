"""`make cloud-test` (tests/e2e/cloud.py) with the Pulumi CLI stubbed: the steps, the config, the teardown.

The stub is an executable named ``pulumi`` first on PATH: it appends each call (its argv, and at
``up`` the stack's config file and the policy config it was given) to a log, answers ``stack
output --json``, writes an ``encryptionsalt`` at ``stack init`` as the CLI does for passphrase
backends, and fails or blocks on the command the test names. The suite the runner starts is a
small stand-in (a real pytest run) that records the base URL it was given.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_policy import EnforcementLevel

from app.contracts.names import ResourceNames
from policies.runner import evaluate, load_policy_config
from pulumi_offline import synth
from tests.e2e.cloud import (
    CloudTestSettings,
    policy_config,
    read_base_config,
    stack_config,
    unique_stack_name,
)

ROOT = Path(__file__).resolve().parents[2]
WEB_URL = "https://d1234abcd.cloudfront.net"
AMIS = {
    "REELSTACK_CLOUD_TEST_BACKEND_AMI": "ami-0123456789abcdef0",
    "REELSTACK_CLOUD_TEST_TRANSCODER_AMI": "ami-0123456789abcdef1",
    "REELSTACK_CLOUD_TEST_PROGRESS_AMI": "ami-0123456789abcdef2",
}
RUN_TIMEOUT = 120

STUB_PULUMI = """\
#!{python}
import json, os, signal, sys, time
from pathlib import Path

argv = sys.argv[1:]
command = " ".join(argv[:2]) if argv[0] == "stack" else argv[0]
stack = argv[argv.index("--stack") + 1] if "--stack" in argv else (argv[2] if argv[0] == "stack" else "")
record = {{"command": command, "argv": argv}}
config_file = Path.cwd() / f"Pulumi.{{stack}}.yaml"
if command == "up":
    record["config"] = config_file.read_text()
    record["policy_config"] = json.loads(Path(argv[argv.index("--policy-pack-config") + 1]).read_text())
log = Path(os.environ["STUB_PULUMI_LOG"])

def write(entry):
    with log.open("a") as out:
        out.write(json.dumps(entry) + "\\n")

write(record)
fail = dict(item.split("=") for item in os.environ.get("STUB_PULUMI_FAIL", "").split(",") if item)
if command in fail:
    print(f"stub: {{command}} fails", file=sys.stderr)
    sys.exit(int(fail[command]))
if command == os.environ.get("STUB_PULUMI_BLOCK"):
    def stop(signum, _frame):
        write({{"command": command, "signal": signal.Signals(signum).name}})
        sys.exit(255)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    write({{"command": command, "blocking": True}})
    time.sleep(600)
if command == "stack init":
    config_file.write_text("encryptionsalt: v1:stub-salt\\n")
if command == "stack output":
    outputs = {{"web_url": "{web_url}", "api_url": "{web_url}/api"}}
    print(json.dumps(outputs))
if command == "whoami":
    print("tester")
"""

STAND_IN_SUITE = """\
import os
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_runs_against_the_stack():
    Path(os.environ["STAND_IN_RECORD"]).write_text(os.environ["REELSTACK_E2E_BASE_URL"])
    if os.environ.get("STAND_IN_MODE") == "block":
        Path(os.environ["STAND_IN_RECORD"] + ".blocking").touch()
        time.sleep(600)
    assert os.environ.get("STAND_IN_MODE") != "fail", "a failing end-to-end test"


@pytest.mark.local_only
def test_reads_the_emulator():
    raise AssertionError("a local_only test ran against a deployed stack")
"""


@dataclass
class Rig:
    """A project directory, a stub pulumi, a stand-in suite, and the environment that ties them."""

    project: Path
    suite: Path
    log: Path
    record: Path
    env: dict[str, str]

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def commands(self) -> list[str]:
        return [c["command"] for c in self.calls() if "argv" in c]

    def start(self, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.cloud", str(self.suite)],
            cwd=ROOT,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def run(self, **env: str) -> tuple[int, str]:
        process = self.start(**env)
        out, _ = process.communicate(timeout=RUN_TIMEOUT)
        return process.returncode, out


@pytest.fixture
def rig(tmp_path: Path, moto_endpoint: str) -> Rig:
    project = tmp_path / "project"
    (project / "policies" / "config").mkdir(parents=True)
    (project / "dist").mkdir()
    (project / "app").mkdir()
    (project / "app" / "web").symlink_to(ROOT / "app" / "web")
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "policies/config/dev.json"):
        shutil.copy(ROOT / name, project / name)
    (project / "dist" / "users-layer.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "pulumi"
    stub.write_text(STUB_PULUMI.format(python=sys.executable, web_url=WEB_URL))
    stub.chmod(0o755)
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    e2e: stand-in\n    local_only: stand-in\naddopts = --strict-markers\n"
    )
    (suite / "test_stand_in.py").write_text(STAND_IN_SUITE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REELSTACK_", "AWS_", "STUB_"))}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        PYTHONPATH=str(ROOT),
        AWS_ACCESS_KEY_ID="AKIDSTUB",
        AWS_SECRET_ACCESS_KEY="stub",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL=moto_endpoint,
        REELSTACK_CLOUD_TEST_PROJECT_DIR=str(project),
        REELSTACK_E2E_MAIL_DOMAIN="e2e.example.org",
        REELSTACK_E2E_MAIL_BUCKET="reelstack-e2e-mail",
        STUB_PULUMI_LOG=str(tmp_path / "pulumi.log"),
        STAND_IN_RECORD=str(tmp_path / "suite-saw"),
        **AMIS,
    )
    return Rig(project, suite, tmp_path / "pulumi.log", tmp_path / "suite-saw", env)


def the_stack(rig: Rig) -> str:
    return rig.calls()[1]["argv"][2]  # after whoami: stack init <name>


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_passing_run_creates_deploys_tests_against_web_url_and_destroys(rig: Rig) -> None:
    code, out = rig.run()

    assert code == 0, out
    assert rig.commands() == ["whoami", "stack init", "up", "stack output", "destroy", "stack rm"]
    stack = the_stack(rig)
    for call in rig.calls()[1:]:
        assert stack in call["argv"], call
        assert "--non-interactive" in call["argv"], call
    argv = {c["command"]: c["argv"] for c in rig.calls()}
    assert "--no-select" in argv["stack init"]  # the team's selected stack stays selected
    assert argv["up"][argv["up"].index("--policy-pack") + 1] == "policies"
    assert {"--yes"} <= set(argv["up"]) & set(argv["destroy"]) & set(argv["stack rm"])
    assert "--json" in argv["stack output"]
    assert rig.record.read_text() == WEB_URL
    assert "-m 'e2e and not local_only'" in out
    assert "1 passed, 1 deselected" in out


def test_the_stack_config_is_the_base_stacks_deployable_and_destroyable(rig: Rig) -> None:
    code, out = rig.run(
        REELSTACK_CLOUD_TEST_REGION="eu-west-1",
        REELSTACK_CLOUD_TEST_EMAIL_SOURCE_ARN="arn:aws:ses:eu-west-1:123456789012:identity/e2e.example.org",
        REELSTACK_CLOUD_TEST_EMAIL_FROM="no-reply@e2e.example.org",
    )

    assert code == 0, out
    [up] = [c for c in rig.calls() if c["command"] == "up"]
    written = yaml.safe_load(up["config"])
    assert written["encryptionsalt"] == "v1:stub-salt"  # what `stack init` wrote is kept
    dev = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    expected = {
        **dev,
        "aws:region": "eu-west-1",
        "reelstack:protect": False,
        "reelstack:dbDeletionProtection": False,
        "reelstack:backendAmi": AMIS["REELSTACK_CLOUD_TEST_BACKEND_AMI"],
        "reelstack:transcoderAmi": AMIS["REELSTACK_CLOUD_TEST_TRANSCODER_AMI"],
        "reelstack:progressAmi": AMIS["REELSTACK_CLOUD_TEST_PROGRESS_AMI"],
        "reelstack:emailSourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/e2e.example.org",
        "reelstack:emailFrom": "no-reply@e2e.example.org",
    }
    assert written["config"] == expected
    dev_policy = json.loads((ROOT / "policies" / "config" / "dev.json").read_text())
    dev_policy["tags-required"]["expectedValues"]["stack"] = the_stack(rig)
    assert up["policy_config"] == dev_policy


def test_a_base_stacks_custom_domain_is_not_claimed_twice(rig: Rig) -> None:
    dev_file = rig.project / "Pulumi.dev.yaml"
    document = yaml.safe_load(dev_file.read_text())
    document["config"]["reelstack:domain"] = "video.example.com"
    document["config"]["reelstack:certificateArn"] = "arn:aws:acm:us-east-1:123456789012:certificate/x"
    dev_file.write_text(yaml.safe_dump(document))

    code, out = rig.run()

    assert code == 0, out
    [up] = [c for c in rig.calls() if c["command"] == "up"]
    config = yaml.safe_load(up["config"])["config"]
    assert "reelstack:domain" not in config
    assert "reelstack:certificateArn" not in config


def test_a_failed_up_is_torn_down_and_its_status_returned(rig: Rig) -> None:
    code, out = rig.run(STUB_PULUMI_FAIL="up=7")

    assert code == 7, out
    assert rig.commands() == ["whoami", "stack init", "up", "destroy", "stack rm"]
    assert not rig.record.exists()  # no tests ran


def test_failing_tests_are_torn_down_and_their_status_returned(rig: Rig) -> None:
    code, out = rig.run(STAND_IN_MODE="fail")

    assert code == 1, out
    assert "a failing end-to-end test" in out
    assert rig.commands() == ["whoami", "stack init", "up", "stack output", "destroy", "stack rm"]


def test_a_failed_destroy_keeps_the_stack_and_says_how_to_finish(rig: Rig) -> None:
    code, out = rig.run(STUB_PULUMI_FAIL="destroy=3")

    assert code == 3, out
    assert rig.commands()[-1] == "destroy"  # stack rm would lose track of what is left
    assert f"pulumi destroy --stack {the_stack(rig)}" in out


def test_a_failed_stack_init_has_nothing_to_tear_down(rig: Rig) -> None:
    code, out = rig.run(STUB_PULUMI_FAIL="stack init=4")

    assert code == 4, out
    assert rig.commands() == ["whoami", "stack init"]


@pytest.mark.parametrize("during", ["up", "tests"])
def test_sigterm_mid_run_stops_the_step_and_tears_down(rig: Rig, during: str) -> None:
    if during == "up":
        process = rig.start(STUB_PULUMI_BLOCK="up")
        wait_for(lambda: any(c.get("blocking") for c in rig.calls()), "pulumi up to start")
    else:
        process = rig.start(STAND_IN_MODE="block")
        wait_for(Path(f"{rig.record}.blocking").exists, "the tests to start")

    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=RUN_TIMEOUT)

    assert process.returncode == 128 + signal.SIGTERM, out
    assert rig.commands()[-2:] == ["destroy", "stack rm"], out
    if during == "up":
        # pulumi was asked once, with SIGINT, to cancel gracefully, and had finished before destroy.
        assert {"command": "up", "signal": "SIGINT"} in rig.calls()
    else:
        assert "KeyboardInterrupt" in out or "Interrupted" in out


def test_missing_prerequisites_are_all_named_and_nothing_is_created(rig: Rig) -> None:
    env = {k: v for k, v in rig.env.items() if not k.startswith(("AWS_", "REELSTACK_E2E_"))}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(rig.project / "none"),
        AWS_CONFIG_FILE=str(rig.project / "none"),
        AWS_EC2_METADATA_DISABLED="true",
        REELSTACK_CLOUD_TEST_BACKEND_AMI="ami-0dev0backend000000",
    )
    (rig.project / "dist" / "users-layer.zip").unlink()
    rig.env = env

    code, out = rig.run()

    assert code == 2, out
    assert "nothing was created" in out
    assert "no AWS credentials" in out
    assert "REELSTACK_E2E_MAIL_DOMAIN, REELSTACK_E2E_MAIL_BUCKET not set" in out
    # The old Pulumi.dev.yaml placeholder is not an AMI id.
    assert "reelstack:backendAmi is 'ami-0dev0backend000000', not an AMI id" in out
    assert "images/build.sh backend" in out
    assert "no dist/users-layer.zip" in out
    assert rig.commands() == ["whoami"]


def test_without_a_pinned_ami_the_stack_boots_the_newest_build() -> None:
    settings = CloudTestSettings(backend_ami="", transcoder_ami="", progress_ami="")
    config = stack_config(read_base_config(ROOT, "dev"), settings, "Pulumi.dev.yaml")
    assert not [k for k in config if k.endswith("Ami")]
    pinned = CloudTestSettings(backend_ami="", transcoder_ami="ami-0123456789abcdef1", progress_ami="")
    config = stack_config(read_base_config(ROOT, "dev"), pinned, "Pulumi.dev.yaml")
    assert [(k, v) for k, v in config.items() if k.endswith("Ami")] == [
        ("reelstack:transcoderAmi", "ami-0123456789abcdef1")
    ]


def test_without_the_pulumi_cli_the_run_says_where_to_get_it(rig: Rig) -> None:
    rig.env["PATH"] = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if not Path(p, "pulumi").exists()
    )

    code, out = rig.run()

    assert code == 2, out
    assert "the Pulumi CLI (3.x) is not on PATH" in out
    assert rig.calls() == []


def test_stack_names_are_unique_and_valid_for_every_derived_resource_name() -> None:
    names = {unique_stack_name("reelstack") for _ in range(50)}
    assert len(names) == 50
    for name in names:
        ResourceNames.for_stack("reelstack", name)  # raises if too long or badly formed


def test_the_derived_config_passes_the_policy_pack_where_the_base_policy_config_would_not(
    tmp_path: Path,
) -> None:
    """`pulumi up --policy-pack` checks each resource's `stack` tag against the policy config's
    `tags-required.expectedValues` (dev.json fixes `stack: dev`); the components tag with the
    running stack's name, so an ephemeral stack needs that value moved to its own name."""
    stack = "cloudtest-0123abcd"
    settings = CloudTestSettings(
        backend_ami=AMIS["REELSTACK_CLOUD_TEST_BACKEND_AMI"],
        transcoder_ami=AMIS["REELSTACK_CLOUD_TEST_TRANSCODER_AMI"],
        progress_ami=AMIS["REELSTACK_CLOUD_TEST_PROGRESS_AMI"],
    )
    config = stack_config(read_base_config(ROOT, "dev"), settings, "Pulumi.dev.yaml")
    as_stored = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    main_file = str(ROOT / "stacks" / "__main__.py")
    resources = synth.run_program(
        lambda: runpy.run_path(main_file, run_name="__main__"), stack=stack, config=as_stored
    ).resources
    dev_policy = ROOT / "policies" / "config" / "dev.json"
    derived_policy = tmp_path / "policy-config.json"
    derived_policy.write_text(json.dumps(policy_config(json.loads(dev_policy.read_text()), stack)))

    def mandatory(policy_file: Path) -> set[str]:
        violations = evaluate(resources, load_policy_config(policy_file))
        return {v.policy for v in violations if v.level == EnforcementLevel.MANDATORY.value}

    assert mandatory(derived_policy) == set()
    assert mandatory(dev_policy) == {"tags-required"}
