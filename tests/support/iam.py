"""The emulator's IAM enforcement, switched on for a block of a test."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import requests


@contextlib.contextmanager
def iam_enforcement(moto_endpoint: str) -> Iterator[None]:
    """The emulator with IAM enforcement on, as the platform runs it; as before afterwards."""
    previous = requests.post(f"{moto_endpoint}/moto-api/reset-auth", data=b"0", timeout=10).json()
    try:
        yield
    finally:
        restore = str(previous["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]).encode()
        requests.post(f"{moto_endpoint}/moto-api/reset-auth", data=restore, timeout=10)
