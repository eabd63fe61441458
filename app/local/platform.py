"""``reelstack up``: the whole platform on this machine, at one origin (http://127.0.0.1:8080).

Starts the AWS emulator (moto in server mode, ``app/local/emulator.py``) with IAM enforced,
creates in it the dev stack's resources from the synthesized graph (``app/local/provision.py``),
upgrades the database, then runs every service as a child process with the environment its
component writes (plus ``AWS_ENDPOINT_URL``) and the credentials of the role its component creates
(STS AssumeRole in the emulator): the backend, its status consumer, N transcoder workers, two
progress instances and the local gateway in front of them all. ``--no-iam`` turns enforcement off,
for debugging only. docs/local-platform.md says how each resource of the graph is served.

Each child runs in its own process group, is told to die with this process (Linux
``PR_SET_PDEATHSIG``), and on Ctrl-C or SIGTERM gets SIGTERM, then SIGKILL after a grace
period. If any child exits on its own, everything stops with an error naming it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from app.contracts.names import ResourceNames
from app.local import moto_server
from app.local.gateway_credentials import stand_in_credentials
from app.local.provision import LOCAL_STACK, LocalResources, assume, bootstrap_launcher, provision
from app.local.rate_limit import add_rate_limit_arguments, rate_limits_of
from app.local.s3_gate import signer_environment
from app.retranscode import LOCAL_BACKEND_ENV_FILE
from infra._common import env_file
from pulumi_offline.synth import PROJECT

LOCAL_PREFIX = ResourceNames.for_stack(PROJECT, LOCAL_STACK).prefix
# The launcher's three bootstrap calls (bootstrap_launcher) are free; every later one is checked.
BOOTSTRAP_CALLS = 3
# Where the launcher leaves the emulator's endpoint, its own credentials and the resources' names,
# for tools (and the end-to-end tests) that reach the emulator directly.
RESOURCES_FILE = "local-aws.json"
PROGRESS_INSTANCES = 2
STOP_GRACE_SECONDS = 15.0
START_TIMEOUT_SECONDS = 90.0
TRANSCODER_SHUTDOWN_GRACE_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1


class Shutdown(Exception):
    """Ctrl-C or SIGTERM: stop every child and exit."""


class ChildDied(RuntimeError):
    """A child exited while the platform was meant to be running."""


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: if `reelstack up` is killed outright, so is the child.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    health_url: str | None = None

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)


@dataclass
class Supervisor:
    """The platform's children, in start order; stops them as a group."""

    children: list[Child] = field(default_factory=list)

    def spawn(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        health_url: str | None = None,
        log: Path | None = None,
    ) -> Child:
        """Start ``argv`` in a new process group; its output goes to the console, or to ``log``."""
        with contextlib.ExitStack() as stack:
            output = stack.enter_context(log.open("ab")) if log else None
            process = subprocess.Popen(
                argv,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        child = Child(name, process, health_url)
        self.children.append(child)
        return child

    def check(self) -> None:
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                raise ChildDied(
                    f"{child.name} (pid {child.process.pid}) exited unexpectedly with code {code}"
                )

    def wait_healthy(self, child: Child, timeout: float = START_TIMEOUT_SECONDS) -> None:
        if child.health_url is None:
            return
        try:
            moto_server.wait_for_http(child.health_url, timeout, child.process)
        except RuntimeError:
            raise ChildDied(
                f"{child.name} exited with code {child.process.returncode} before it answered at {child.health_url}"
            ) from None

    def stop(self, children: list[Child] | None = None, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM to each child's process group, then SIGKILL to what is left after ``grace``."""
        targets = list(reversed(self.children if children is None else children))
        for child in targets:
            if child.process.poll() is None:
                child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in targets:
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(
                    f"reelstack up: {child.name} did not stop within {grace:.0f}s; killing it",
                    file=sys.stderr,
                )
        for child in targets:
            # Also reaps group members (gunicorn workers, ffmpeg) that outlived their leader.
            child.signal_group(signal.SIGKILL)
            child.process.wait()
            self.children.remove(child)


def _base_env() -> dict[str, str]:
    # Real AWS credentials, profiles or regions of the user's shell must not reach the children.
    return {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}


def _role(role: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", role, *args]


def database_url(args: argparse.Namespace, state_dir: Path) -> str:
    return (
        args.database_url
        or os.environ.get("REELSTACK_DATABASE_URL")
        or f"sqlite:///{state_dir / 'reelstack.db'}"
    )


def start(args: argparse.Namespace, supervisor: Supervisor) -> tuple[LocalResources, str]:
    """Start everything; returns the provisioned resources and the gateway's URL."""
    state_dir: Path = args.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    base_env = _base_env()

    moto_port = moto_server.free_port()
    emulator_env = {**base_env, "MOTO_PORT": str(moto_port)}
    if not args.no_iam:
        emulator_env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(BOOTSTRAP_CALLS)
    moto = supervisor.spawn(
        "moto",
        moto_server.moto_command(moto_port),
        emulator_env,
        f"http://127.0.0.1:{moto_port}/moto-api/",
        log=state_dir / "moto.log",  # one access line per AWS call would drown the services' logs
    )
    supervisor.wait_healthy(moto)
    endpoint = f"http://127.0.0.1:{moto_port}"
    launcher = bootstrap_launcher(endpoint)
    public_url = f"http://127.0.0.1:{args.port}"
    resources = provision(ResourceNames(LOCAL_PREFIX), endpoint, launcher, public_url)
    (state_dir / RESOURCES_FILE).write_text(
        json.dumps(
            {
                "endpoint_url": endpoint,
                "credentials": launcher,
                "iam_enforced": not args.no_iam,
                "uploads_bucket": resources.uploads_bucket,
                "media_bucket": resources.media_bucket,
                "task_queue_url": resources.task_queue_url,
            }
        )
    )

    def role_env(service: str, session: str, **overrides: str) -> dict[str, str]:
        """``service``'s environment, with credentials of its component's role (session: the process)."""
        credentials = assume(resources.role_arns[service], session, endpoint, launcher)
        return {**base_env, **resources.env_for(service, credentials, **overrides)}

    overrides = {
        "database_url": database_url(args, state_dir),
        "media_base_url": f"{public_url}/media",
        "s3_public_endpoint_url": f"{public_url}/_s3",
        # The gateway stands in for CloudFront's KeyValueStore too (app/backend/revocations.py).
        "media_revocation_store": f"{public_url}/_local/revocations",
        # A receiver on this machine (a test's, a developer's) is http://127.0.0.1:<port>; retries
        # a second apart, so a failing receiver's third attempt comes within seconds.
        "webhook_allow_insecure_targets": "true",
        "webhook_retry_base_seconds": "1",
    }
    backend_env = role_env("backend", "backend", **overrides)
    # `reelstack retranscode --state-dir` runs as the backend, as it does on a backend instance.
    (state_dir / LOCAL_BACKEND_ENV_FILE).write_text(
        env_file({k: v for k, v in backend_env.items() if k.startswith(("REELSTACK_", "AWS_"))})
    )
    migrate = subprocess.run(_role("migrate"), env=backend_env, check=False)
    if migrate.returncode != 0:
        raise ChildDied(f"migrate exited with code {migrate.returncode}")

    backend_port = moto_server.free_port()
    services = [
        supervisor.spawn(
            "backend",
            _role("backend", "--bind", f"127.0.0.1:{backend_port}"),
            backend_env,
            f"http://127.0.0.1:{backend_port}/api/health/ready",
        ),
        # A short long-poll: the consumer finishes its receive before it stops.
        supervisor.spawn("status-consumer", _role("status-consumer", "--wait-seconds", "2"), backend_env),
    ]
    for n in range(1, args.transcoders + 1):
        work_dir = state_dir / "work" / f"transcoder-{n}"
        work_dir.mkdir(parents=True, exist_ok=True)
        env = role_env("transcoder", f"transcoder-{n}", work_dir=str(work_dir))
        grace = str(TRANSCODER_SHUTDOWN_GRACE_SECONDS)
        services.append(
            supervisor.spawn(f"transcoder-{n}", _role("transcoder", "--shutdown-grace", grace), env)
        )
    progress_urls = []
    for n in range(1, PROGRESS_INSTANCES + 1):
        port = moto_server.free_port()
        progress_urls.append(f"http://127.0.0.1:{port}")
        env = role_env("progress", f"progress-{n}", instance_id=f"local-{n}")
        services.append(
            supervisor.spawn(
                f"progress-{n}",
                _role("progress", "--bind", f"127.0.0.1:{port}"),
                env,
                f"http://127.0.0.1:{port}/events/health/live",
            )
        )
    gateway_argv = [
        sys.executable,
        "-m",
        "app.local.gateway_serve",
        "--bind",
        f"127.0.0.1:{args.port}",
        "--backend",
        f"http://127.0.0.1:{backend_port}",
        "--s3-endpoint",
        resources.endpoint_url,
        "--media-bucket",
        resources.media_bucket,
        "--ticket-secret-arn",
        resources.ticket_secret_arn,
    ]
    for url in progress_urls:
        gateway_argv += ["--progress", url]
    gateway_argv += [
        "--rate-limit-per-ip",
        str(args.rate_limit_per_ip),
        "--auth-rate-limit-per-ip",
        str(args.auth_rate_limit_per_ip),
    ]
    services.append(
        supervisor.spawn(
            "gateway",
            gateway_argv,
            # The Lambda handler runs in-process with the user service's role; the gateway's own
            # clients (CloudFront's origin access, Cognito's mailer) use the launcher's credentials;
            # /_s3 honours the uploads the backend presigns, and forwards them as the backend's role,
            # as S3 authorizes a presigned request as its signer.
            {
                **role_env("users", "gateway"),
                **stand_in_credentials(launcher),
                **signer_environment(backend_env),
            },
            f"{public_url}/_local/health",
        )
    )
    for child in services:
        supervisor.wait_healthy(child)
    supervisor.check()
    return resources, public_url


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # As gunicorn binds: connections of an earlier run in TIME_WAIT do not make the port busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reelstack up", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="the gateway's port on 127.0.0.1")
    parser.add_argument("--state-dir", type=Path, default=Path(".reelstack"), help="database and scratch")
    parser.add_argument("--transcoders", type=int, default=2, help="transcoder workers (0: none)")
    parser.add_argument(
        "--database-url",
        default="",
        help="SQLAlchemy URL, e.g. postgresql+psycopg://...; default: REELSTACK_DATABASE_URL, "
        "else SQLite in the state dir",
    )
    add_rate_limit_arguments(parser)
    parser.add_argument(
        "--no-iam",
        action="store_true",
        help="for debugging only: the emulator does not enforce IAM (services still run as their roles)",
    )
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.transcoders < 0:
        _parser().error("--transcoders must be 0 or more")
    try:
        rate_limits_of(args)
    except ValueError as exc:
        _parser().error(str(exc))
    if not _port_is_free(args.port):
        _parser().error(f"127.0.0.1:{args.port} is in use; stop what holds it or pick another --port")

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Shutdown(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    supervisor = Supervisor()
    try:
        resources, url = start(args, supervisor)
        print(
            f"reelstack is up at {url}  (AWS emulation: {resources.endpoint_url}; "
            f"mail: {url}/_local/outbox?email=...; Ctrl-C stops it)\n"
            "note: the AWS emulation starts empty on every run (accounts, uploads, media); "
            "the database is kept, so sign up again after a restart",
            flush=True,
        )
        while True:
            supervisor.check()
            time.sleep(0.2)
    except Shutdown as reason:
        print(f"reelstack up: {reason}, stopping", file=sys.stderr, flush=True)
        return 0
    except (ChildDied, TimeoutError) as exc:
        print(f"reelstack up: {exc}; stopping everything", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        services = [child for child in supervisor.children if child.name != "moto"]
        # Services first: progress instances delete their queues in the emulation on the way out.
        supervisor.stop(services)
        supervisor.stop()
