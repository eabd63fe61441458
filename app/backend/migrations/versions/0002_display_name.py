"""users.display_name: the name others see instead of anything derived from the email

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 04:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTERs, not batch mode: SQLite (3.35+) adds and drops a column in place, whereas a
# batch copy would DROP the users table, and with foreign keys on that cascades to every
# video, comment, like and playlist.
def upgrade() -> None:
    op.add_column('users', sa.Column('display_name', sa.String(length=40), nullable=True))


def downgrade() -> None:
    op.drop_column('users', 'display_name')
