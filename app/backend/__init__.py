"""The backend service: HTTP API (``create_app``), status consumer, migrations."""

from app.backend.app import create_app
from app.backend.aws import AwsClients

__all__ = ["AwsClients", "create_app"]
