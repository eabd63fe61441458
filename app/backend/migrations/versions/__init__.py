"""Revisions, oldest first (alembic ignores this file)."""
