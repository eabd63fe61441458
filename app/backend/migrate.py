"""``reelstack migrate``: upgrade the database schema (alembic, ``app/backend/migrations``) to head."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import boto3
from alembic import command
from alembic.config import Config
from sqlalchemy import URL

from app.backend.db import database_url
from app.contracts import logs
from app.contracts.settings import BackendSettings, load

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


def alembic_config(url: URL | str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Passed as an attribute, not a main option: ini interpolation would mangle '%' in passwords.
    config.attributes["url"] = url
    return config


def upgrade(url: URL | str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: URL | str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="reelstack migrate", description=__doc__)
    parser.add_argument("--revision", default="head", help="target revision (default: head)")
    args = parser.parse_args(argv)
    settings = load(BackendSettings)
    logs.configure("backend-migrate", settings.log_level)
    secrets = boto3.client("secretsmanager") if settings.database_secret_arn else None
    upgrade(database_url(settings, secrets), args.revision)
    log.info("database schema at %s", args.revision)
    return 0
