"""Health: liveness (``/api/health/live``) is what the load balancer and the Auto Scaling group act
on; readiness (``/api/health/ready``) reports the dependencies.

A dependency that is away (a database failover, a network blip) makes every instance not
ready at once; replacing them would not bring it back, so readiness is reported and logged,
never checked by the load balancer. Liveness touches nothing but this process.
"""

from __future__ import annotations

import logging

from flask import Blueprint
from spectree import Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.backend.context import services
from app.backend.openapi import api
from app.backend.schemas import LivenessOut, ReadinessOut

bp = Blueprint("health", __name__, url_prefix="/api/health")
log = logging.getLogger(__name__)


@bp.get("/live")
@api.validate(resp=Response(HTTP_200=LivenessOut), tags=("health",))
def live() -> LivenessOut:
    """The process serves requests; the only check the load balancer makes."""
    return LivenessOut(status="ok")


@bp.get("/ready")
@api.validate(resp=Response(HTTP_200=ReadinessOut, HTTP_503=ReadinessOut), tags=("health",))
def ready() -> tuple[ReadinessOut, int]:
    """The database answers; 503 (and a log line) when it does not. Nothing replaces an
    instance for this."""
    try:
        with services().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        log.exception("not ready: the database does not answer")
        return ReadinessOut(status="unavailable", database="unreachable"), 503
    return ReadinessOut(status="ok", database="ok"), 200
