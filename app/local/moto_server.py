"""The local AWS emulation: moto in server mode on 127.0.0.1, as a child process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Return once ``url`` answers any HTTP status; fail if ``process`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode} before {url} answered")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - a local URL we built
            return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout:.0f}s") from None
            time.sleep(0.1)


def moto_command(port: int) -> list[str]:
    """The command line of the emulator (moto's server, ``app/local/emulator.py``) on 127.0.0.1:``port``
    (run with MOTO_PORT set to it)."""
    return [sys.executable, "-m", "app.local.emulator", "-H", "127.0.0.1", "-p", str(port)]


def start_moto(port: int, log: int | None = subprocess.DEVNULL) -> tuple[subprocess.Popen[bytes], str]:
    """Start moto's server on 127.0.0.1:``port``; returns the process and its endpoint URL."""
    env = {**os.environ, "MOTO_PORT": str(port)}
    process = subprocess.Popen(
        moto_command(port),
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
        env=env,
    )
    endpoint = f"http://127.0.0.1:{port}"
    wait_for_http(f"{endpoint}/moto-api/", process=process)
    return process, endpoint


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it has not gone within ``timeout``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
