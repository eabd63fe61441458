"""The spectree instance: validates requests with the pydantic schemas and serves ``/api/openapi.json``.

spectree leaves out of the document every route under its own ``path``, so the document
is served by this module's blueprint rather than spectree's route (``/apidoc``, unused).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from spectree.models import SecureType

from app.backend.caption_files import LANGUAGE_TAG_MAX, LANGUAGE_TAG_PATTERN
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


class _SpecTree(SpecTree):
    """spectree that marks each view declared with ``security`` as needing a signed-in caller,
    so the app can authenticate before the request is validated (see ``requires_sign_in``)."""

    def validate(self, **kwargs: Any) -> Callable[..., Any]:  # type: ignore[override]
        decorate = super().validate(**kwargs)
        signed_in = kwargs.get("security") is not None

        def mark(func: Callable[..., Any]) -> Callable[..., Any]:
            validated = decorate(func)
            validated.requires_sign_in = signed_in
            return validated

        return mark


def requires_sign_in(view: Callable[..., Any] | None) -> bool:
    return bool(getattr(view, "requires_sign_in", False))


api = _SpecTree(
    "flask",
    title="reelstack API",
    version="1",
    page_templates={},
    # Plain model names: the schemas live in one module, so they cannot collide.
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
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

bp = Blueprint("openapi", __name__)


# What the app answers before a route's own code runs (app.py's body check and size limit),
# on every method that may carry a body.
BODY_ERRORS = {
    "400": "the body is not valid JSON, or nests too deep (malformed_json)",
    "413": "the body is larger than the API accepts",
    "415": "the body is not application/json (unsupported_media_type)",
}
BODY_METHODS = ("post", "put", "patch", "delete")


# OpenAPI links: the path parameters a created resource's 201 body fills (its `id`, and the ids
# it names, as a video its owner's channel), so that clients and stateful testers (schemathesis)
# can walk from creating it to every operation on it; a target's other path parameters come from
# the creating request's path.
CREATED_IDS = {
    ("/api/videos", "post"): {"video_id": "/id", "user_id": "/video/owner_id"},
    ("/api/playlists", "post"): {"playlist_id": "/id"},
    ("/api/videos/{video_id}/comments", "post"): {"comment_id": "/id"},
}


# Path parameters the routes check themselves (Flask's converters cannot say it to spectree).
PATH_PARAMETERS = {
    "language": {
        "schema": {"type": "string", "maxLength": LANGUAGE_TAG_MAX, "pattern": LANGUAGE_TAG_PATTERN},
        "description": "a BCP 47 language tag (RFC 5646), e.g. `en`, `pt-BR`, `zh-Hant`; 422 invalid_language"
        " otherwise (a variant or extension given twice included)",
    }
}


def _path_parameters(path: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", path))


def _links(paths: dict[str, Any], source_path: str, created: dict[str, str]) -> dict[str, Any]:
    known = _path_parameters(source_path)
    links = {}
    for target_path, methods in paths.items():
        needed = _path_parameters(target_path)
        filled = {name: f"$response.body#{pointer}" for name, pointer in created.items() if name in needed}
        if not filled or not needed - filled.keys() <= known:
            continue
        pointer = target_path.replace("~", "~0").replace("/", "~1")
        parameters = {name: f"$request.path.{name}" for name in needed - filled.keys()}
        for method in methods:
            links[f"{method} {target_path}"] = {
                "operationRef": f"#/paths/{pointer}/{method}",
                "parameters": {**parameters, **filled},
            }
    return links


def document() -> dict[str, Any]:
    """spectree's document of the routes and their schemas, with the answers app.py gives
    before any route runs, and the links from each created resource to its operations."""
    spec = copy.deepcopy(api.spec)
    for (source_path, source_method), created_ids in CREATED_IDS.items():
        created = spec["paths"][source_path][source_method]["responses"]["201"]
        created["links"] = _links(spec["paths"], source_path, created_ids)
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for methods in spec["paths"].values():
        for method, operation in methods.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in PATH_PARAMETERS:
                    parameter.update(PATH_PARAMETERS[parameter["name"]])
            if method in BODY_METHODS:
                for status, description in BODY_ERRORS.items():
                    operation["responses"].setdefault(
                        status, {"description": description, "content": error_body}
                    )
    return spec


@bp.get("/api/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI document, generated from the routes and their schemas."""
    return jsonify(document())
