"""`make cloud-test`: the end-to-end suite against an ephemeral real stack, destroyed whatever happens.

    python -m tests.e2e.cloud [pytest arguments, default: tests/e2e]

Checks what it needs first (the Pulumi CLI, a backend login, AWS credentials, any pinned AMI, the
users layer, the mail settings the tests will need) and creates nothing unless all are there.
Then: ``pulumi stack init`` a uniquely named stack; write its config (the base stack's, with the
region, any AMIs pinned, nothing protected and no custom domain); ``pulumi up`` under the policy pack;
read ``web_url`` from ``pulumi stack output --json`` (the stack's WebApp component publishes the
site during ``up``); run pytest ``-m "e2e and not local_only"``
with ``REELSTACK_E2E_BASE_URL`` set to it. Whatever happened — a failed step, failing tests,
an exception, SIGINT or SIGTERM — ``pulumi destroy`` and ``pulumi stack rm`` follow. The exit
status is the tests' when everything else succeeded, otherwise the first failure's (128 + the
signal's number when interrupted).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import boto3
import pydantic
import yaml
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.contracts.names import ResourceNames
from tests.e2e.deployed import E2ESettings

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_SUITE = ("tests/e2e",)
# What a deployed stack can run: tests marked local_only read the local platform's AWS emulation.
SELECTION = "e2e and not local_only"
PULUMI = "pulumi"
# EC2 ids are the prefix and 8 or 17 lowercase hex digits
# (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html).
_AMI_ID = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")
_AMI_KEYS = {
    "backend_ami": ("reelstack:backendAmi", "backend"),
    "transcoder_ami": ("reelstack:transcoderAmi", "transcoder"),
    "progress_ami": ("reelstack:progressAmi", "progress"),
}
# A second stack cannot claim the base stack's domain (CloudFront aliases are unique), and
# the ephemeral one needs none: its web_url is the distribution's own name.
_NOT_COPIED = ("reelstack:domain", "reelstack:certificateArn")
EXIT_PREREQUISITES = 2


class CloudTestSettings(BaseSettings):
    """What the cloud test takes from ``REELSTACK_CLOUD_TEST_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="REELSTACK_CLOUD_TEST_", frozen=True, extra="ignore")

    project_dir: Path = PROJECT_DIR
    """The Pulumi project (``Pulumi.yaml``); default: this checkout."""
    base_stack: str = "dev"
    """The stack whose config (``Pulumi.<base>.yaml``) and policy config the ephemeral stack copies."""
    region: str = ""
    """AWS region of the ephemeral stack; empty: the base stack's ``aws:region``."""
    backend_ami: str = ""
    """AMI of the backend; empty: the base stack's ``reelstack:backendAmi``; neither: the newest build."""
    transcoder_ami: str = ""
    """AMI of the transcoder; empty: the base stack's ``reelstack:transcoderAmi``; neither: the newest build."""
    progress_ami: str = ""
    """AMI of the progress service; empty: the base stack's ``reelstack:progressAmi``; neither: the newest build."""
    email_source_arn: str = ""
    """SES identity Cognito sends through (``reelstack:emailSourceArn``); empty: the base stack's."""
    email_from: str = ""
    """From address with ``email_source_arn`` (``reelstack:emailFrom``)."""


class PrerequisiteError(Exception):
    """What is missing before anything is created; the message says how to fix each."""


class Interrupted(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def read_base_config(project_dir: Path, base_stack: str) -> dict[str, Any]:
    path = project_dir / f"Pulumi.{base_stack}.yaml"
    if not path.is_file():
        raise PrerequisiteError(
            f"no {path.name}: REELSTACK_CLOUD_TEST_BASE_STACK names a stack without config"
        )
    config: dict[str, Any] = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    return config


def stack_config(base: Mapping[str, Any], settings: CloudTestSettings, base_file: str) -> dict[str, Any]:
    """The ephemeral stack's config: the base stack's, made deployable and destroyable.

    Raises PrerequisiteError listing every problem.
    """
    problems = []
    secret = sorted(k for k, v in base.items() if isinstance(v, dict) and "secure" in v)
    if secret:
        problems.append(
            f"{base_file} holds secrets ({', '.join(secret)}); the cloud test copies plaintext config only"
        )
    config = {k: v for k, v in base.items() if k not in _NOT_COPIED}
    config["reelstack:protect"] = False
    config["reelstack:dbDeletionProtection"] = False
    if settings.region:
        config["aws:region"] = settings.region
    if not config.get("aws:region"):
        problems.append(f"no region: set aws:region in {base_file} or REELSTACK_CLOUD_TEST_REGION")
    for field, (key, role) in _AMI_KEYS.items():
        ami = getattr(settings, field) or str(config.get(key, ""))
        if not ami:
            continue  # the stack boots the newest image images/build.sh built for the role
        if not _AMI_ID.match(ami):
            problems.append(
                f"{key} is {ami!r}, not an AMI id: set REELSTACK_CLOUD_TEST_{field.upper()}=ami-... "
                f"(or {key} in {base_file}) to an image images/build.sh {role} built, or unset both "
                "to boot the newest one"
            )
        config[key] = ami
    if settings.email_source_arn:
        if not settings.email_from:
            problems.append("REELSTACK_CLOUD_TEST_EMAIL_SOURCE_ARN needs REELSTACK_CLOUD_TEST_EMAIL_FROM")
        config["reelstack:emailSourceArn"] = settings.email_source_arn
        config["reelstack:emailFrom"] = settings.email_from
    if problems:
        raise PrerequisiteError("\n".join(problems))
    return config


def policy_config(base: Mapping[str, Any], stack: str) -> dict[str, Any]:
    """The base stack's policy config with the tag values it fixes for its stack moved to ``stack``."""
    derived = json.loads(json.dumps(base))
    expected = (derived.get("tags-required") or {}).get("expectedValues") or {}
    if "stack" in expected:
        expected["stack"] = stack
    return derived


def unique_stack_name(project: str) -> str:
    """A name no other stack has, short enough for every physical name derived from it."""
    name = f"cloudtest-{secrets.token_hex(4)}"
    ResourceNames.for_stack(project, name)  # raises if the names it derives would be invalid
    return name


def check_prerequisites(project_dir: Path, settings: CloudTestSettings) -> dict[str, Any]:
    """Everything the run needs, checked before anything is created; returns the stack config."""
    problems = []
    if shutil.which(PULUMI) is None:
        problems.append(
            "the Pulumi CLI (3.x) is not on PATH: https://www.pulumi.com/docs/iac/download-install/"
        )
    else:
        whoami = subprocess.run(
            [PULUMI, "whoami", "--non-interactive"], cwd=project_dir, capture_output=True, text=True
        )
        if whoami.returncode != 0:
            problems.append(
                "pulumi is not logged in to a backend: `pulumi login` (Pulumi Cloud), "
                f"`pulumi login s3://<bucket>` or `pulumi login --local`\n{whoami.stderr.strip()}"
            )
    if boto3.Session().get_credentials() is None:
        problems.append("no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
    try:
        E2ESettings(base_url="https://the-ephemeral-stack")
    except pydantic.ValidationError as exc:
        problems += [error["msg"].removeprefix("Value error, ") for error in exc.errors()]
    base_file = f"Pulumi.{settings.base_stack}.yaml"
    policy_file = project_dir / "policies" / "config" / f"{settings.base_stack}.json"
    if not policy_file.is_file():
        problems.append(f"no policy config {policy_file.relative_to(project_dir)} for the base stack")
    config: dict[str, Any] = {}
    try:
        base = read_base_config(project_dir, settings.base_stack)
        layer = base.get("reelstack:usersLayerZip", "dist/users-layer.zip")
        if not (project_dir / layer).is_file():
            problems.append(f"no {layer}: build the user service's layer with images/users-layer.sh")
        config = stack_config(base, settings, base_file)
    except PrerequisiteError as exc:
        problems += str(exc).splitlines()
    if problems:
        raise PrerequisiteError("\n".join(f"- {p}" for p in problems))
    return config


class CloudTest:
    """One run: the stack it creates, the child it waits on, the signal that stopped it."""

    def __init__(self, project_dir: Path, stack: str, config: Mapping[str, Any], base_stack: str) -> None:
        self.project_dir = project_dir
        self.stack = stack
        self.config = dict(config)
        self.base_stack = base_stack
        self.signum: int | None = None
        self._child: subprocess.Popen[str] | None = None
        self._created = False
        self._tearing_down = False

    # -- signals: stop the current step, then tear down ------------------------------------------

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self._tearing_down:
            say(
                f"{name}: already destroying stack {self.stack}; carrying on (stopping now would leave it)",
                unbuffered=True,
            )
            return
        if self.signum is not None:
            return
        self.signum = signum
        say(f"{name}: stopping, then destroying stack {self.stack}", unbuffered=True)
        if self._child is not None:
            # Once only: a second SIGINT makes pulumi cancel without finishing the operations
            # in flight, which leaves resources the state does not know about.
            self._child.send_signal(signal.SIGINT)

    def _step(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, capture: bool = False
    ) -> tuple[int, str]:
        """Run one command to its end; raise Interrupted once it has ended if a signal came."""
        self._stop_if_interrupted()
        say("$ " + shlex.join(argv))
        # Its own process group: a terminal's Ctrl-C reaches this runner only, which passes on one SIGINT.
        self._child = subprocess.Popen(
            argv,
            cwd=self.project_dir,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE if capture else None,
            text=True,
            process_group=0,
        )
        if self.signum is not None and not self._tearing_down:  # came between the check and Popen
            self._child.send_signal(signal.SIGINT)
        try:
            out, _ = self._child.communicate()
            code = self._child.returncode
        finally:
            self._child = None
        self._stop_if_interrupted()
        return code, out or ""

    def _stop_if_interrupted(self) -> None:
        if self.signum is not None and not self._tearing_down:
            raise Interrupted(self.signum)

    def _pulumi(self, *args: str, capture: bool = False) -> tuple[int, str]:
        return self._step([PULUMI, *args, "--stack", self.stack, "--non-interactive"], capture=capture)

    # -- the run ----------------------------------------------------------------------------------

    def run(self, suite: Sequence[str]) -> int:
        code: int | None = None
        with tempfile.TemporaryDirectory(prefix="reelstack-cloud-test-") as scratch:
            try:
                code = self._deploy_and_test(suite, Path(scratch))
            except Interrupted as stop:
                code = 128 + stop.signum
            finally:
                torn_down = self._teardown() if self._created else 0
        return code or torn_down

    def _deploy_and_test(self, suite: Sequence[str], scratch: Path) -> int:
        # The name is new, so a stack of that name after an interrupted init can only be ours.
        self._created = True
        code, _ = self._step([PULUMI, "stack", "init", self.stack, "--no-select", "--non-interactive"])
        if code:
            self._created = False
            return code
        self._write_config()
        policy_file = scratch / "policy-config.json"
        base_policy = self.project_dir / "policies" / "config" / f"{self.base_stack}.json"
        policy_file.write_text(json.dumps(policy_config(json.loads(base_policy.read_text()), self.stack)))
        code, _ = self._pulumi(
            "up", "--yes", "--policy-pack", "policies", "--policy-pack-config", str(policy_file)
        )
        if code:
            return code
        code, out = self._pulumi("stack", "output", "--json", capture=True)
        if code:
            return code
        outputs = json.loads(out)
        web_url = outputs.get("web_url")
        if not web_url:
            say(f"stack {self.stack} lacks the web_url output:\n{out}")
            return 1
        say(
            f"end-to-end suite against {web_url}, -m {SELECTION!r}: tests marked local_only read the "
            "local platform's AWS emulation and are deselected"
        )
        code, _ = self._step(
            [sys.executable, "-m", "pytest", "-m", SELECTION, *suite],
            env={"REELSTACK_E2E_BASE_URL": web_url},
        )
        return code

    def _write_config(self) -> None:
        """Pulumi.<stack>.yaml with the derived config, keeping what `stack init` wrote (e.g. encryptionsalt).

        Not `stack init --copy-config-from dev`: that loads the dev stack from the backend,
        which a team testing from its own account need not have.
        """
        path = self.project_dir / f"Pulumi.{self.stack}.yaml"
        document = (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}
        document["config"] = self.config
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        say(f"wrote {path.name}")

    def _teardown(self) -> int:
        self._tearing_down = True
        code, _ = self._pulumi("destroy", "--yes")
        if code:
            say(
                f"pulumi destroy failed ({code}): stack {self.stack} still holds resources. Run "
                f"`pulumi destroy --stack {self.stack}` until it succeeds, then `pulumi stack rm {self.stack}`"
            )
            return code
        code, _ = self._step([PULUMI, "stack", "rm", self.stack, "--yes", "--non-interactive"])
        if code:
            say(
                f"pulumi stack rm failed ({code}): its resources are gone; remove it with `pulumi stack rm {self.stack}`"
            )
        return code


def say(message: str, *, unbuffered: bool = False) -> None:
    """A line on stdout; ``unbuffered`` from a signal handler, which may interrupt a print."""
    line = f"cloud-test: {message}\n"
    if unbuffered:
        os.write(sys.stdout.fileno(), line.encode())
    else:
        print(line, end="", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    suite = list(sys.argv[1:] if argv is None else argv) or list(DEFAULT_SUITE)
    settings = CloudTestSettings()
    project_dir = settings.project_dir.resolve()
    try:
        config = check_prerequisites(project_dir, settings)
    except PrerequisiteError as exc:
        print(f"cloud-test: cannot start, nothing was created:\n{exc}", file=sys.stderr)
        return EXIT_PREREQUISITES
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]
    run = CloudTest(project_dir, unique_stack_name(project), config, settings.base_stack)
    say(f"ephemeral stack {run.stack} (config from {settings.base_stack}, region {config['aws:region']})")
    previous = {s: signal.signal(s, run.on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return run.run(suite)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
