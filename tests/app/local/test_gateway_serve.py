"""The local gateway's process (``app/local/gateway_serve.py``, run in a child: it patches on import)."""

from __future__ import annotations

import resource
import subprocess
import sys


def _open_files_after_allowing(soft: int, hard: int) -> tuple[int, int, int]:
    """The gateway's worker connections and its (soft, hard) open-file limits after ``allow_open_files``."""
    probe = (
        "import resource; from app.local.gateway_serve import WORKER_CONNECTIONS, allow_open_files; "
        "allow_open_files(); print(WORKER_CONNECTIONS, *resource.getrlimit(resource.RLIMIT_NOFILE))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    connections, soft_after, hard_after = map(int, done.stdout.split())
    return connections, soft_after, hard_after


def test_the_gateway_may_open_a_file_for_each_client_and_each_upstream_connection() -> None:
    """A shell's usual soft limit (1,024) would stop a fan-out through the gateway at about 500
    streams: each stream holds the browser's connection and one to a progress instance."""
    connections, soft, hard = _open_files_after_allowing(soft=1024, hard=8192)
    assert 2 * connections < soft <= hard == 8192


def test_a_gateway_that_may_not_open_enough_files_still_starts() -> None:
    """A warning rather than a failed `reelstack up`: the platform runs, with fewer connections."""
    assert _open_files_after_allowing(soft=1024, hard=1500)[1:] == (1024, 1500)
