"""The spectree instance: validates requests with the pydantic schemas and serves ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

from spectree import SecureType, SecurityScheme, SecuritySchemeData, SpecTree

from app.backend.schemas import ErrorBody
from app.contracts.errors import ApiError

VALIDATION_ERROR_STATUS = 422


def _raise_validation_error(
    _request: Any, _response: Any, error: Exception | None, _instance: Any, _adapter: Any
) -> None:
    # spectree would answer in its own shape; the app's error handler renders the shared one.
    if error is not None:
        errors = error.errors(include_url=False, include_context=False, include_input=False)  # type: ignore[attr-defined]
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ApiError(
            VALIDATION_ERROR_STATUS, "validation_error", f"{where}: {first['msg']}", details=errors
        )


api = SpecTree(
    "flask",
    title="reelstack API",
    version="1",
    path="api",
    page_templates={},
    validation_error_status=VALIDATION_ERROR_STATUS,
    validation_error_model=ErrorBody,
    before=_raise_validation_error,
    security_schemes=[
        SecurityScheme(
            name="bearer", data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer", bearer_format="JWT")
        )
    ],
)
AUTH: dict[str, list[str]] = {"bearer": []}
