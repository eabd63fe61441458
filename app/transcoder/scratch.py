"""Per-task scratch directories in a work dir that several workers share.

Each task's directory holds a lock file on which its worker keeps an exclusive ``flock``
for the task's whole life. The kernel drops the lock when the worker dies, SIGKILL
included, so a sweep can tell a dead worker's leftovers (lock free: removed) from a live
sibling's directory (lock held: kept) without knowing which workers exist.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger("app.transcoder")

LOCK_NAME = ".owner.lock"
# A directory without a lock file is either one being created this instant (its lock file
# comes microseconds after it) or one left by something else; only the latter gets this old.
LOCKLESS_MAX_AGE_SECONDS = 3600.0


@contextmanager
def scratch_dir(work_dir: Path, prefix: str) -> Iterator[Path]:
    """A new directory under ``work_dir``, locked as this process's until the block ends, then removed."""
    work_dir.mkdir(parents=True, exist_ok=True)
    path, fd = _create_locked(work_dir, prefix)
    try:
        yield path
    finally:
        # Removed while still locked, so no sweep sees it half-deleted and unlocked.
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def _create_locked(work_dir: Path, prefix: str) -> tuple[Path, int]:
    while True:
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=work_dir))
        lock = path / LOCK_NAME
        # os.open's descriptors are close-on-exec: ffmpeg never holds the lock past its worker.
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                return path, fd
        except FileNotFoundError:
            pass
        # A sweep took the lock file between its creation and our lock, and removed the directory.
        os.close(fd)


def sweep(work_dir: Path, *, now: float | None = None) -> list[Path]:
    """Remove the scratch directories of dead workers under ``work_dir``; returns those removed."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(work_dir))
    except FileNotFoundError:
        return removed  # no task has run here yet
    except OSError:
        logger.warning("could not list the work dir %s to sweep it", work_dir, exc_info=True)
        return removed
    for entry in entries:
        if entry.name.startswith("."):
            continue  # the workers' shared state (protection.py); scratch dirs are named by task id
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False) and _remove_if_abandoned(path, now):
                removed.append(path)
        except FileNotFoundError:
            pass  # its owner, or another worker's sweep, removed it meanwhile
        except OSError:
            logger.warning("could not sweep %s", path, exc_info=True)
    if removed:
        logger.info("removed %d scratch directories of dead workers", len(removed))
    return removed


def _remove_if_abandoned(path: Path, now: float) -> bool:
    try:
        fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        if now - path.stat().st_mtime < LOCKLESS_MAX_AGE_SECONDS:
            return False
        shutil.rmtree(path, ignore_errors=True)
        return not path.exists()
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its worker is alive
        shutil.rmtree(path, ignore_errors=True)
        return not path.exists()
    finally:
        os.close(fd)
