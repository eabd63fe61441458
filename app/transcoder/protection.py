"""Scale-in protection of this instance while any of its workers holds a task.

Several workers (``reelstack-transcoder@<n>``) share an instance and its work dir. A worker
holding a task holds an exclusive ``flock`` on a claim file of its own; the first claim on
the instance turns its protection on, the end of the last one turns it off. One mutex file
serialises these decisions with their Auto Scaling calls, so the calls reach AWS in the order
the claims changed (a "protect" can never be overtaken by a sibling's "unprotect").

The kernel drops a dead worker's lock, SIGKILL included: its claim stops counting at once,
and the next idle check of any worker on the instance lifts a protection nobody holds.
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger("app.transcoder")

# Hidden, so that scratch.sweep (which removes other workers' abandoned directories) leaves it alone.
STATE_DIR_NAME = ".scale-in-protection"


class ProtectionError(Exception):
    """The instance could not be protected: a task must not run on it (a scale-in may be under way)."""


class ScaleInProtection:
    """Keeps ``instance_id`` protected from scale-in by ``group`` while any worker sharing ``work_dir`` holds a task."""

    def __init__(self, autoscaling: Any, group: str, instance_id: str, work_dir: Path) -> None:
        self._autoscaling = autoscaling
        self._group = group
        self._instance_id = instance_id
        self._state = work_dir / STATE_DIR_NAME
        self._claims = self._state / "claims"
        # Exists while the instance is protected (as far as these workers know).
        self._protected = self._state / "protected"
        self._claims.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def holding_task(self) -> Iterator[None]:
        """Protect the instance for the block (raises ProtectionError if it cannot be), then
        lift the protection unless another worker here still holds a task."""
        with self._mutex():
            claim, fd = self._claim()
            if not self._protected.exists():
                try:
                    self._set(True)
                except (BotoCoreError, ClientError) as exc:
                    self._drop(claim, fd)
                    raise ProtectionError(
                        f"could not protect {self._instance_id} from scale-in: {exc}"
                    ) from exc
        try:
            yield
        finally:
            with self._mutex():
                self._drop(claim, fd)
                self._lift_unless_busy()

    def lift_if_idle(self) -> None:
        """Lift a protection that no live worker holds (its last holder was killed)."""
        if self._protected.exists():
            with self._mutex():
                self._lift_unless_busy()

    def _lift_unless_busy(self) -> None:
        if not self._protected.exists() or self._tasks_held():
            return
        try:
            self._set(False)
        except (BotoCoreError, ClientError):
            logger.warning(
                "could not lift the instance's scale-in protection; the next idle check retries",
                exc_info=True,
            )

    def _set(self, protected: bool) -> None:
        self._autoscaling.set_instance_protection(
            InstanceIds=[self._instance_id],
            AutoScalingGroupName=self._group,
            ProtectedFromScaleIn=protected,
        )
        if protected:
            self._protected.touch()
        else:
            self._protected.unlink(missing_ok=True)
        logger.info("scale-in protection %s", "on" if protected else "off")

    @contextmanager
    def _mutex(self) -> Iterator[None]:
        # os.open's descriptors are close-on-exec: ffmpeg never holds a lock past its worker.
        fd = os.open(self._state / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _claim(self) -> tuple[Path, int]:
        path = self._claims / f"{os.getpid()}-{uuid.uuid4().hex}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return path, fd

    @staticmethod
    def _drop(path: Path, fd: int) -> None:
        path.unlink(missing_ok=True)
        os.close(fd)

    def _tasks_held(self) -> bool:
        """Whether a live worker holds a claim; removes the claims of dead ones. Call under the mutex."""
        held = False
        for path in self._claims.iterdir():
            try:
                fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held = True
            else:
                path.unlink(missing_ok=True)  # its worker died holding it
            finally:
                os.close(fd)
        return held
