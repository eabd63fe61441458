"""moderation: roles' work kept in the database: reports, hidden videos and comments, suspended
users, and the audit log

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _hidden_columns(table: str, who: str) -> None:
    op.add_column(
        table,
        sa.Column(
            'hidden_at',
            sa.DateTime(timezone=True),
            nullable=True,
            comment=f'hidden by a moderator: only its {who} sees it',
        ),
    )
    op.add_column(table, sa.Column('hidden_reason', sa.String(length=1000), nullable=True))


# Plain ALTERs, as in 0002: a batch copy on SQLite would drop (and cascade) the tables.
def upgrade() -> None:
    op.add_column(
        'users',
        sa.Column(
            'suspended_at',
            sa.DateTime(timezone=True),
            nullable=True,
            comment='set by an admin: sign-in refused, content hidden',
        ),
    )
    op.add_column('users', sa.Column('suspended_reason', sa.String(length=1000), nullable=True))
    _hidden_columns('videos', 'owner')
    op.add_column(
        'videos',
        sa.Column(
            'owner_suspended_at',
            sa.DateTime(timezone=True),
            nullable=True,
            comment='set while its owner is suspended (kept here so the feed never reads users)',
        ),
    )
    _hidden_columns('comments', 'author')
    op.create_table(
        'reports',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('reporter_id', sa.String(length=128), nullable=False),
        sa.Column(
            'target_type',
            sa.Enum('video', 'comment', name='report_target', native_enum=False, create_constraint=True, length=16),
            nullable=False,
        ),
        sa.Column('target_id', sa.Uuid(), nullable=False),
        sa.Column('reason', sa.String(length=1000), nullable=False),
        sa.Column(
            'status',
            sa.Enum('open', 'resolved', name='report_status', native_enum=False, create_constraint=True, length=16),
            nullable=False,
        ),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('resolved_by', sa.String(length=128), nullable=True, comment="a moderator's sub"),
        sa.Column('resolution', sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'uq_reports_open',
        'reports',
        ['reporter_id', 'target_type', 'target_id'],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index('ix_reports_queue', 'reports', ['status', 'created_at', 'id'])
    op.create_index('ix_reports_reporter', 'reports', ['reporter_id', 'created_at'])
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('actor_id', sa.String(length=128), nullable=False, comment="the acting user's sub"),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('target_type', sa.String(length=16), nullable=False),
        sa.Column('target_id', sa.String(length=128), nullable=False),
        sa.Column('reason', sa.String(length=1000), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_log_time', 'audit_log', ['created_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_audit_log_time', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_index('ix_reports_reporter', table_name='reports')
    op.drop_index('ix_reports_queue', table_name='reports')
    op.drop_index('uq_reports_open', table_name='reports')
    op.drop_table('reports')
    op.drop_column('videos', 'owner_suspended_at')
    for table in ('comments', 'videos'):
        op.drop_column(table, 'hidden_reason')
        op.drop_column(table, 'hidden_at')
    op.drop_column('users', 'suspended_reason')
    op.drop_column('users', 'suspended_at')
