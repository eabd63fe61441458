"""The real local platform, started once per session with `reelstack up` and talked to over HTTP.

With ``REELSTACK_E2E_BASE_URL`` set (``make cloud-test``), the same fixtures hand the tests a
deployed stack instead and start nothing (``deployed.py``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.contracts.names import ResourceNames
from app.local.moto_server import free_port
from app.local.platform import LOCAL_PREFIX, RESOURCES_FILE
from app.local.provision import client
from tests.e2e.deployed import LOCAL_MAIL_DOMAIN, DeployedPlatform, E2ESettings, deployed_platform
from tests.e2e.mail import LocalOutbox, MailSource
from tests.support.processes import descendants, running

START_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 60.0
_UP_LINE = re.compile(r"reelstack is up at (\S+)\s+\(AWS emulation: (\S+);")


@dataclass
class RunningPlatform:
    """A `reelstack up` process and what tests need to reach it."""

    process: subprocess.Popen[bytes]
    state_dir: Path
    log_path: Path
    base_url: str = ""
    moto_endpoint: str = ""
    names: ResourceNames = field(default_factory=lambda: ResourceNames(LOCAL_PREFIX))
    mail_domain: str = LOCAL_MAIL_DOMAIN
    mail_timeout_seconds: float = 5.0
    aws: dict[str, Any] = field(default_factory=dict)
    """What the launcher wrote to ``local-aws.json``: its credentials, the buckets' names."""

    @property
    def mail(self) -> MailSource:
        return LocalOutbox(self.base_url)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_up(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = _UP_LINE.search(self.log())
            if match:
                self.base_url, self.moto_endpoint = match.group(1), match.group(2)
                self.aws = json.loads((self.state_dir / RESOURCES_FILE).read_text())
                return
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"reelstack up exited with {self.process.returncode}:\n{self.log()[-5000:]}"
                )
            time.sleep(0.2)
        raise TimeoutError(f"reelstack up did not come up within {timeout:.0f}s:\n{self.log()[-5000:]}")

    def client(self, service: str) -> Any:
        """A client of the emulator with the launcher's credentials (IAM is enforced)."""
        return client(service, self.moto_endpoint, self.aws["credentials"])

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Signal `reelstack up` and wait for it; kills it (and its tree) only if it hangs."""
        tree = descendants(self.process.pid)
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            for pid in running(tree | {self.process.pid}):
                os.kill(pid, signal.SIGKILL)
            self.process.wait()
            raise


SUITE_RATE_LIMIT = 1_000_000


def start_platform(
    state_dir: Path, *, transcoders: int, port: int | None = None, database_url: str = ""
) -> RunningPlatform:
    """Run `reelstack up` on a free port with ``state_dir``; returns once the gateway answers."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "platform.log"
    argv = [
        sys.executable,
        "-m",
        "app.cli",
        "up",
        "--port",
        str(port or free_port()),
        "--state-dir",
        str(state_dir),
        "--transcoders",
        str(transcoders),
        # The suite signs up and logs in hundreds of users from 127.0.0.1 within minutes, past the
        # dev stack's /auth/* limit per address; the limit itself: tests/app/local/test_rate_limit.py.
        "--rate-limit-per-ip",
        str(SUITE_RATE_LIMIT),
        "--auth-rate-limit-per-ip",
        str(SUITE_RATE_LIMIT),
    ]
    if database_url:
        argv += ["--database-url", database_url]
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    platform = RunningPlatform(process, state_dir, log_path)
    try:
        platform.wait_until_up()
    except BaseException:
        platform.stop()
        raise
    return platform


_SESSION_PLATFORMS = ("platform", "core_platform")


@pytest.hookimpl(trylast=True)  # after -m has deselected
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Against a deployed stack, a selected local_only test is a usage error, never a skip.

    Under pytest-xdist (`make test` runs `--dist loadgroup`), the tests of one session platform
    share a worker: any other worker would start a platform of its own for them."""
    for item in items:
        shared = [name for name in _SESSION_PLATFORMS if name in getattr(item, "fixturenames", ())]
        if shared:
            item.add_marker(pytest.mark.xdist_group(shared[0]))
    local = [item.nodeid for item in items if item.get_closest_marker("local_only")]
    if local and E2ESettings().base_url:
        raise pytest.UsageError(
            f"{len(local)} local_only tests selected against REELSTACK_E2E_BASE_URL "
            f"(they read the local AWS emulation): add -m 'not local_only'. First: {local[0]}"
        )


def _session_platform(
    tmp_path_factory: pytest.TempPathFactory, name: str, transcoders: int
) -> Iterator[RunningPlatform | DeployedPlatform]:
    deployed = deployed_platform()
    if deployed is not None:
        yield deployed
        return
    platform = start_platform(tmp_path_factory.mktemp(name), transcoders=transcoders)
    tree = descendants(platform.process.pid)
    try:
        yield platform
    finally:
        code = platform.stop()
        left = running(tree)
        assert code == 0, f"reelstack up exited with {code}:\n{platform.log()[-5000:]}"
        assert not left, f"processes left behind by reelstack up: {sorted(left)}"


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform | DeployedPlatform]:
    """The whole platform with two transcoder workers: uploads become HLS."""
    yield from _session_platform(tmp_path_factory, "platform", transcoders=2)


@pytest.fixture(scope="session")
def core_platform(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningPlatform | DeployedPlatform]:
    """The platform without transcoders, so tests can inspect what lands on the task queue.

    A deployed stack has its transcoders; the tests that inspect the queue are ``local_only``.
    """
    yield from _session_platform(tmp_path_factory, "core-platform", transcoders=0)


@pytest.fixture(scope="session")
def one_second_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1-second 320x240 H.264 clip without audio: the least a transcode takes."""
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
         "-t", "1", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", str(path)],
        check=True,
    )  # fmt: skip
    return path


# The part size the web app sends (app/web/js/upload.js, PART_BYTES); S3's least for all parts but the last is 5 MiB.
PART_BYTES = 8 * 1024 * 1024


@pytest.fixture(scope="session")
def three_part_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real video of two full parts and a shorter third: 7 s of 320x240 noise, losslessly coded
    (noise does not compress), cheap to transcode for its size."""
    path = tmp_path_factory.mktemp("large") / "three-parts.mp4"
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error",
            "-f", "lavfi", "-i", "nullsrc=s=320x240:r=25,geq=lum='random(1)*255':cb=128:cr=128",
            "-t", "7", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p",
            "-movflags", "+faststart", str(path),
        ],
        check=True,
        timeout=120,
    )  # fmt: skip
    assert 2 * PART_BYTES < path.stat().st_size < 3 * PART_BYTES
    return path
