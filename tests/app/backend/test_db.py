"""The database URL comes from settings, with credentials from an RDS-managed secret when one is named."""

from __future__ import annotations

import json
import uuid

import psycopg
from sqlalchemy import make_url, text

from app.backend.db import database_url, make_engine
from app.local.provision import LocalResources, client
from tests.app.backend.conftest import backend_settings, fresh_postgres_database


def test_without_a_secret_the_url_is_used_as_is(local_resources: LocalResources) -> None:
    settings = backend_settings(local_resources, "postgresql+psycopg://app:pw@db.internal:5432/reelstack")
    assert database_url(settings).render_as_string(hide_password=False) == settings.database_url


def test_credentials_come_from_the_rds_secret_and_connect(
    local_resources: LocalResources, postgres_url: str
) -> None:
    server = make_url(postgres_url)
    password = "p@ss:w/rd%" + uuid.uuid4().hex[:6]  # characters a URL would otherwise mangle
    role = f"app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(
        host=server.host, port=server.port, user=server.username, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    target = make_url(fresh_postgres_database(postgres_url)).set(username="placeholder", password=None)
    secrets = client("secretsmanager", local_resources.endpoint_url)
    arn = secrets.create_secret(
        Name=f"{local_resources.names.prefix}/db-{uuid.uuid4().hex[:6]}",
        SecretString=json.dumps({"username": role, "password": password, "engine": "postgres"}),
    )["ARN"]
    settings = backend_settings(
        local_resources, target.render_as_string(hide_password=False), database_secret_arn=arn
    )

    url = database_url(settings, secrets)

    assert (url.username, url.password) == (role, password)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT current_user")).scalar_one() == role
    finally:
        engine.dispose()
