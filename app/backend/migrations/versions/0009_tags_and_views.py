"""tags and views: video_tags, video_views (one row per viewer per UTC day), and the index of
recent likes that trending reads

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 16:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'video_tags',
        sa.Column('video_id', sa.Uuid(), nullable=False),
        sa.Column('tag', sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(['video_id'], ['videos.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('video_id', 'tag'),
    )
    op.create_index('ix_video_tags_tag', 'video_tags', ['tag', 'video_id'])
    op.create_table(
        'video_views',
        sa.Column('video_id', sa.Uuid(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False, comment='UTC day of the view'),
        sa.Column(
            'viewer_key',
            sa.String(length=32),
            nullable=False,
            comment='keyed hash of the viewer and the day (view_counts.viewer_key); no user id or address',
        ),
        sa.ForeignKeyConstraint(['video_id'], ['videos.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('video_id', 'day', 'viewer_key'),
    )
    op.create_index('ix_video_views_day', 'video_views', ['day', 'video_id'])
    op.create_index('ix_likes_recent', 'likes', ['created_at', 'video_id'])


def downgrade() -> None:
    op.drop_index('ix_likes_recent', table_name='likes')
    op.drop_index('ix_video_views_day', table_name='video_views')
    op.drop_table('video_views')
    op.drop_index('ix_video_tags_tag', table_name='video_tags')
    op.drop_table('video_tags')
