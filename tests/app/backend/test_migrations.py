"""Alembic migrations upgrade to head, downgrade to base and upgrade again, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.backend.db import make_engine
from app.backend.migrate import downgrade, upgrade
from app.backend.models import Base
from tests.app.backend.conftest import fresh_postgres_database

TABLES = {"users", "videos", "comments", "likes", "playlists", "playlist_items"}


def _round_trip(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(url)
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as connection:
            # The migrations build exactly what the models declare.
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        downgrade(url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(url)
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_migrations_round_trip_on_sqlite(tmp_path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'm.sqlite'}")


def test_migrations_round_trip_on_postgresql(postgres_url: str) -> None:
    _round_trip(fresh_postgres_database(postgres_url))
