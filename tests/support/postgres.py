"""A throwaway PostgreSQL server on 127.0.0.1 for the tests (Debian's postgresql package)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from app.local.moto_server import free_port


def _bindir() -> Path:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError("PostgreSQL is not installed: `make test` installs it with apt (as root)")


@contextmanager
def running_postgres(base_dir: Path) -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh server; the server is stopped afterwards."""
    bindir = _bindir()
    run_as: list[str] = []
    own_dir: Path | None = None
    if os.geteuid() == 0:  # the server refuses to run as root
        # As the postgres user it cannot enter pytest's 0700 temp dirs (whose mode pytest
        # resets whenever a session starts), so it gets a directory of its own under /tmp.
        own_dir = base_dir = Path(tempfile.mkdtemp(prefix="reelstack-pg-"))
        user = pwd.getpwnam("postgres")
        os.chown(base_dir, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data = base_dir / "pgdata"
    data.mkdir(parents=True)
    if own_dir is not None:
        os.chown(data, user.pw_uid, user.pw_gid)
    port = free_port()
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"],
        check=True,
        capture_output=True,
    )
    log = base_dir / "postgres.log"
    subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-o",
            f"-h 127.0.0.1 -p {port} -k {base_dir} -c fsync=off -c full_page_writes=off",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(
            [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True
        ).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start; see {log}")
            time.sleep(0.2)
        subprocess.run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "reelstack"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/reelstack"
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True
        )
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)


def require_password(server_url: str, role: str) -> None:
    """Make the server check ``role``'s password over TCP, as RDS does (it trusts everyone else).

    pg_hba.conf is read top down, so a first line for ``role`` applies to it alone.
    """
    url = make_url(server_url)
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname="postgres", autocommit=True
    ) as conn:
        found = conn.execute("SHOW hba_file").fetchone()
        assert found is not None
        hba = Path(found[0])
        hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n{hba.read_text()}")
        conn.execute("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 10
    while True:  # the postmaster reloads on a signal: wait until a wrong password is refused
        try:
            psycopg.connect(
                host=url.host, port=url.port, user=role, password="not-the-password", dbname="postgres"
            ).close()
        except psycopg.OperationalError:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL still lets {role} in without its password")
        time.sleep(0.1)
