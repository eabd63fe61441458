"""subscriptions: viewers follow channels (a user's public videos)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 16:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'subscriptions',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('subscriber_id', sa.String(length=128), nullable=False),
        sa.Column('channel_id', sa.String(length=128), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('subscriber_id <> channel_id', name='ck_subscriptions_not_self'),
        sa.ForeignKeyConstraint(['channel_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['subscriber_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('subscriber_id', 'channel_id', name='uq_subscriptions_pair'),
    )
    op.create_index('ix_subscriptions_subscriber', 'subscriptions', ['subscriber_id', 'created_at', 'id'])
    op.create_index('ix_subscriptions_channel', 'subscriptions', ['channel_id'])


def downgrade() -> None:
    op.drop_index('ix_subscriptions_channel', table_name='subscriptions')
    op.drop_index('ix_subscriptions_subscriber', table_name='subscriptions')
    op.drop_table('subscriptions')
