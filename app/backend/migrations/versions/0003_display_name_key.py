"""users.display_name_key: display names unique ignoring case, width and look-alike forms

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.backend.text import display_name_key

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

users = sa.table(
    'users',
    sa.column('id', sa.String),
    sa.column('display_name', sa.String),
    sa.column('display_name_key', sa.String),
    sa.column('created_at', sa.DateTime),
)


# Plain ALTERs, as in 0002: a batch copy would drop the users table and cascade to its rows.
def upgrade() -> None:
    op.add_column(
        'users',
        sa.Column(
            'display_name_key',
            sa.String(length=160),
            nullable=True,
            comment='text.display_name_key: unique among users',
        ),
    )
    # Names chosen before the rule: the earliest holder keeps a name, later look-alikes go back
    # to their pseudonym (they can choose again).
    connection = op.get_bind()
    taken: set[str] = set()
    rows = connection.execute(
        sa.select(users.c.id, users.c.display_name)
        .where(users.c.display_name.is_not(None))
        .order_by(users.c.created_at, users.c.id)
    )
    for user_id, name in rows.all():
        key = display_name_key(name)
        values = {'display_name_key': key} if key not in taken else {'display_name': None}
        taken.add(key)
        connection.execute(sa.update(users).where(users.c.id == user_id).values(**values))
    op.create_index('uq_users_display_name_key', 'users', ['display_name_key'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_users_display_name_key', table_name='users')
    op.drop_column('users', 'display_name_key')
