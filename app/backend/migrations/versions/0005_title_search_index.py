"""videos.title: a trigram GIN index on PostgreSQL, so title search (ILIKE '%word%') is served by an index

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 13:40:00.000000

Without it, a search walked the feed's index filtering titles, or scanned the whole table: the
planner flipped between the two from one ANALYZE to the next on the same data, and the full
scan ran at 32 requests/s with p95 950 ms at 20 clients (issue 14). pg_trgm's GIN operator
class serves LIKE and ILIKE with a wildcard on both sides
(https://www.postgresql.org/docs/current/pgtrgm.html#PGTRGM-INDEX). SQLite keeps its scan:
it has no such index (its FTS5 trigram tokenizer would need a shadow table kept in step by
triggers), and it serves only the local platform.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it, as on RDS.
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.create_index(
        'ix_videos_title_trgm',
        'videos',
        ['title'],
        postgresql_using='gin',
        postgresql_ops={'title': 'gin_trgm_ops'},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_videos_title_trgm', table_name='videos')
