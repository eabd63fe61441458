"""The one error shape every service answers with: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error meant for the client: a stable code, a message, an HTTP status (4xx), and for a
    refusal that time lifts (a 429), the seconds after which to retry (``Retry-After``)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        *,
        retry_after_seconds: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after_seconds = retry_after_seconds

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def status_code_name(name: str | None) -> str:
    """An HTTP reason phrase as an error code: ``Method Not Allowed`` → ``method_not_allowed``."""
    return (name or "error").lower().replace(" ", "_")
