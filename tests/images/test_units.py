"""The systemd units the images ship: valid for systemd, and in step with infra and the CLI.

Each unit reads the env file the role's component writes in user data
(``app.contracts.names.settings_env_file``), starts a role that ``app/cli.py`` knows, and
is one of the units that user data enables.
"""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from dataclasses import fields
from pathlib import Path

from app.backend import serve as backend_serve
from app.cli import COMMANDS
from app.contracts.names import settings_env_file
from app.contracts.settings import ProgressSettings, TranscoderSettings
from app.progress import service as progress_service
from app.serving import file_descriptors_needed
from infra import backend, progress, transcoder
from infra._common import LOG_DIR, unit_log_file
from infra.backend import BackendServiceArgs
from infra.progress import ProgressServiceArgs
from tests.images.conftest import IMAGES, ROLES

Units = dict[str, dict[str, configparser.RawConfigParser]]
REELSTACK = "/opt/reelstack/bin/reelstack"


def _all(units: Units) -> list[tuple[str, str, configparser.RawConfigParser]]:
    return [(role, name, unit) for role in ROLES for name, unit in units[role].items()]


def _command(unit: configparser.RawConfigParser, key: str = "ExecStart") -> list[str]:
    return shlex.split(unit["Service"][key])


def _default(args_class: type, name: str) -> object:
    return next(f.default for f in fields(args_class) if f.name == name)


def test_every_unit_reads_the_env_file_its_component_writes(units: Units) -> None:
    for role, name, unit in _all(units):
        assert unit["Service"]["EnvironmentFile"] == settings_env_file(role), name


def test_every_unit_starts_a_role_the_cli_dispatches(units: Units) -> None:
    for _, name, unit in _all(units):
        command = _command(unit)
        assert command[0] == REELSTACK and command[1] in COMMANDS, name


def test_the_units_user_data_enables_are_the_units_the_image_ships(units: Units) -> None:
    enabled = {
        "backend": set(backend.UNITS),
        "progress": set(progress.UNITS),
        # reelstack-transcoder@<n>.service instantiates the template
        "transcoder": {u.split("@")[0] + "@.service" for u in transcoder.worker_units(4)},
    }
    assert {role: set(units[role]) for role in ROLES} == enabled


def test_backend_migrates_before_serving_and_runs_the_status_consumer_beside_it(units: Units) -> None:
    api = units["backend"]["reelstack-backend.service"]["Service"]
    assert shlex.split(api["ExecStartPre"]) == [REELSTACK, "migrate"]
    consumer = _command(units["backend"]["reelstack-status-consumer.service"])
    assert consumer == [REELSTACK, "status-consumer"]


def test_servers_listen_on_the_port_their_load_balancer_targets(units: Units) -> None:
    api = _command(units["backend"]["reelstack-backend.service"])
    sse = _command(units["progress"]["reelstack-progress.service"])
    assert api[1:] == ["backend", "--bind", f"0.0.0.0:{_default(BackendServiceArgs, 'port')}"]
    assert sse[1:] == ["progress", "--bind", f"0.0.0.0:{_default(ProgressServiceArgs, 'port')}"]


def _soft_file_limit(unit: configparser.RawConfigParser) -> int:
    """LimitNOFILE's soft value ("N" or "soft:hard"); absent, systemd's default of 1,024."""
    return int(unit["Service"].get("LimitNOFILE", "1024").split(":")[0])


def test_servers_may_open_the_files_their_connection_limits_need(units: Units) -> None:
    """systemd starts services with a soft RLIMIT_NOFILE of 1,024 (so select() keeps working;
    the hard limit is 512K), http://0pointer.net/blog/file-descriptor-limits.html: below what a
    progress worker's 1,000 streams, its spare connections and its own files need. Each figure
    is the one the server itself checks at start (``app.serving.ensure_file_descriptors``)."""
    max_streams = ProgressSettings.model_fields["max_connections"].default
    progress_unit = units["progress"]["reelstack-progress.service"]
    assert _soft_file_limit(progress_unit) >= progress_service.file_descriptors(max_streams)
    # The issue's fan-out goal is 10,000 streams on one process: the unit must not be its limit.
    assert _soft_file_limit(progress_unit) >= progress_service.file_descriptors(10_000)
    backend_unit = units["backend"]["reelstack-backend.service"]
    assert _soft_file_limit(backend_unit) >= file_descriptors_needed(backend_serve.WORKER_CONNECTIONS)


def test_transcoder_may_write_only_its_work_dir(units: Units) -> None:
    service = units["transcoder"]["reelstack-transcoder@.service"]["Service"]
    assert service["ReadWritePaths"] == TranscoderSettings.model_fields["work_dir"].default
    for role in ("backend", "progress"):
        assert not any("ReadWritePaths" in u["Service"] for u in units[role].values())


def test_every_unit_restarts_on_failure_and_stops_gracefully_on_sigterm(units: Units) -> None:
    for _, name, unit in _all(units):
        service = unit["Service"]
        assert service["Restart"] == "on-failure", name
        assert service["KillSignal"] == "SIGTERM", name
        assert int(service["TimeoutStopSec"]) >= 30, name
    transcoder_stop = int(units["transcoder"]["reelstack-transcoder@.service"]["Service"]["TimeoutStopSec"])
    assert transcoder_stop > 60  # longer than a task's visibility lease


def test_every_unit_is_hardened(units: Units) -> None:
    for _, name, unit in _all(units):
        service = unit["Service"]
        assert service["User"] == "reelstack" and service["NoNewPrivileges"] == "yes", name
        assert service["ProtectSystem"] == "strict" and service["ProtectHome"] == "yes", name
        assert service["CapabilityBoundingSet"] == "", name
        assert unit["Install"]["WantedBy"] == "multi-user.target", name


def test_provisioning_creates_the_user_and_the_work_dir_the_units_use() -> None:
    script = (IMAGES / "provision.sh").read_text()
    assert "useradd --system --user-group" in script and " reelstack\n" in script
    work_dir = TranscoderSettings.model_fields["work_dir"].default
    assert f"/var/lib/reelstack {work_dir}" in script


def test_every_unit_appends_its_output_to_the_file_the_cloudwatch_agent_ships(units: Units) -> None:
    for _, name, unit in _all(units):
        assert unit["Service"]["StandardOutput"] == f"append:{unit_log_file(name)}", name
        assert unit["Service"]["StandardError"] == "inherit", name


def test_provisioning_creates_the_log_dir_and_rotates_its_files() -> None:
    script = (IMAGES / "provision.sh").read_text()
    assert f"install -d -m 0750 -o root -g root {LOG_DIR}\n" in script
    rotation = script.split("/etc/logrotate.d/reelstack <<'ROTATE'\n", 1)[1].split("\nROTATE\n", 1)[0]
    assert (
        rotation.startswith(f"{LOG_DIR}/*.log {{") and "copytruncate" in rotation
    )  # systemd holds them open


def test_provisioning_installs_the_aws_agents_from_the_build_regions_buckets() -> None:
    """Debian's AMIs ship neither agent. The CloudWatch agent's arm64 .deb is published under
    ubuntu/arm64 in the regional bucket amazoncloudwatch-agent-<region> (AWS has no debian/arm64
    build): https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/download-CloudWatch-Agent-on-EC2-Instance-commandline-first.html
    and the signature table in .../verify-CloudWatch-Agent-Package-Signature.html. SSM Agent for
    Debian arm64 is debian_arm64/amazon-ssm-agent.deb in amazon-ssm-<region>:
    https://docs.aws.amazon.com/systems-manager/latest/userguide/agent-install-deb.html.
    Both come from the region Packer builds in, over HTTPS, as a build on AWS can reach them."""
    script = (IMAGES / "provision.sh").read_text()
    assert (
        "https://amazoncloudwatch-agent-$region.s3.$region.amazonaws.com/ubuntu/arm64/latest/amazon-cloudwatch-agent.deb"
        in script
    )
    assert (
        "https://s3.$region.amazonaws.com/amazon-ssm-$region/latest/debian_arm64/amazon-ssm-agent.deb"
        in script
    )
    assert 'dpkg -i -E "$agents/amazon-cloudwatch-agent.deb" "$agents/amazon-ssm-agent.deb"' in script
    assert "systemctl enable amazon-ssm-agent.service" in script
    template = (IMAGES / "reelstack.pkr.hcl").read_text()
    assert '"REELSTACK_REGION=${var.region}"' in template


def test_systemd_accepts_every_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is not installed (Debian package systemd)"
    system_units = Path("/usr/lib/systemd/system")
    assert system_units.is_dir(), "systemd's own units are missing"
    # A throwaway root with systemd's units, ours, and an executable where the image puts reelstack.
    shutil.copytree(system_units, tmp_path / "usr/lib/systemd/system", symlinks=True)
    ours = tmp_path / "etc/systemd/system"
    ours.mkdir(parents=True)
    names = []
    for unit in sorted(IMAGES.glob("*/*.service")):
        shutil.copy(unit, ours / unit.name)
        names.append(unit.name.replace("@.service", "@1.service"))
    binary = tmp_path / REELSTACK.lstrip("/")
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    done = subprocess.run(
        [analyze, "verify", f"--root={tmp_path}", *names], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
