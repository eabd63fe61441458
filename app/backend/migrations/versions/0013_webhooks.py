"""webhooks and webhook_deliveries: users' signed webhooks and each event's delivery to them

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 19:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'webhooks',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('owner_id', sa.String(length=128), nullable=False),
        sa.Column('url', sa.String(length=2048), nullable=False),
        sa.Column('event_types', sa.JSON(), nullable=False, comment='the video event types delivered; empty: all'),
        sa.Column('secret', sa.String(length=64), nullable=False, comment='HMAC-SHA256 signing secret'),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('secret_rotated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            'previous_secret', sa.String(length=64), nullable=True, comment='the secret before the last rotation'
        ),
        sa.Column(
            'previous_secret_expires_at',
            sa.DateTime(timezone=True),
            nullable=True,
            comment='until then deliveries are signed with both secrets',
        ),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_webhooks_owner', 'webhooks', ['owner_id', 'created_at'])
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('webhook_id', sa.Uuid(), nullable=False),
        sa.Column('event_id', sa.Uuid(), nullable=False),
        sa.Column('event_type', sa.String(length=32), nullable=False),
        sa.Column(
            'status',
            sa.Enum(
                'pending', 'delivered', 'failed',
                name='delivery_status', native_enum=False, create_constraint=True, length=16,
            ),
            nullable=False,
        ),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_status_code', sa.Integer(), nullable=True, comment='HTTP status of the last answer'),
        sa.Column('last_error', sa.String(length=1000), nullable=False),
        sa.Column(
            'next_attempt_at',
            sa.DateTime(timezone=True),
            nullable=True,
            comment='null once delivered or failed for good',
        ),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['webhook_id'], ['webhooks.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('webhook_id', 'event_id', name='uq_webhook_deliveries_event'),
    )
    op.create_index('ix_webhook_deliveries_recent', 'webhook_deliveries', ['webhook_id', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_webhook_deliveries_recent', table_name='webhook_deliveries')
    op.drop_table('webhook_deliveries')
    op.drop_index('ix_webhooks_owner', table_name='webhooks')
    op.drop_table('webhooks')
