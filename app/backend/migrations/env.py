"""Alembic environment: the URL comes from the caller (``app.backend.migrate``), never from an ini file."""

from __future__ import annotations

from alembic import context

from app.backend.db import make_engine
from app.backend.models import Base, declared_on

config = context.config
url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError("no database URL: run migrations through `reelstack migrate` (app.backend.migrate)")

if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(url)
    with engine.connect() as connection:
        # Batch mode lets ALTERs run on SQLite (which copies the table) as on PostgreSQL.
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=True,
            include_object=declared_on(connection.dialect.name),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
