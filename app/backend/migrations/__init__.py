"""Alembic migrations of the backend database (run with `reelstack migrate`)."""
