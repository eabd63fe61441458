"""``/api/health``: the process answers and its database does."""

from __future__ import annotations

import logging

from flask import Blueprint
from spectree import Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.backend.context import services
from app.backend.openapi import api
from app.backend.schemas import HealthOut

bp = Blueprint("health", __name__, url_prefix="/api/health")
log = logging.getLogger(__name__)


@bp.get("")
@api.validate(resp=Response(HTTP_200=HealthOut, HTTP_503=HealthOut), tags=("health",))
def health() -> tuple[HealthOut, int]:
    try:
        with services().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        log.exception("database ping failed")
        return HealthOut(status="unavailable", database="unreachable"), 503
    return HealthOut(status="ok", database="ok"), 200
