"""The database engine, built from settings in one place."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from app.contracts.settings import BackendSettings


def database_url(settings: BackendSettings, secretsmanager: Any | None = None) -> URL:
    """``database_url`` from settings; with ``database_secret_arn``, credentials from that secret.

    RDS-managed master secrets hold JSON ``{"username": ..., "password": ...}``.
    """
    url = make_url(settings.database_url)
    if not settings.database_secret_arn:
        return url
    if secretsmanager is None:
        raise ValueError("REELSTACK_DATABASE_SECRET_ARN is set but no Secrets Manager client was given")
    secret = json.loads(
        secretsmanager.get_secret_value(SecretId=settings.database_secret_arn)["SecretString"]
    )
    return url.set(username=secret.get("username", url.username), password=secret["password"])


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores ON DELETE CASCADE unless asked per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: URL | str) -> Engine:
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    return create_engine(url, pool_pre_ping=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
