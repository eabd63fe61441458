"""videos.source_bytes: the accepted source's size, counted toward the owner's storage quota

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 10:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTERs, as in 0002: a batch copy on SQLite would drop (and cascade) the videos table.
# Videos queued before this revision count nothing toward the quota (their size is unknown).
def upgrade() -> None:
    op.add_column(
        'videos',
        sa.Column(
            'source_bytes',
            sa.BigInteger(),
            nullable=True,
            comment="size of the accepted source; counts toward the owner's storage quota",
        ),
    )


def downgrade() -> None:
    op.drop_column('videos', 'source_bytes')
