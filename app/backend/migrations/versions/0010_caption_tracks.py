"""caption_tracks, and videos.captions_master_key / captions_base_key: owners' caption tracks and
the master playlist that publishes them

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 16:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTERs, as in 0002: a batch copy on SQLite would drop (and cascade) the videos table.
def upgrade() -> None:
    op.add_column(
        'videos',
        sa.Column(
            'captions_master_key',
            sa.String(length=1024),
            nullable=True,
            comment='master playlist listing the caption tracks; played only while built over master_playlist_key',
        ),
    )
    op.add_column(
        'videos',
        sa.Column(
            'captions_base_key',
            sa.String(length=1024),
            nullable=True,
            comment='the master_playlist_key captions_master_key was built over',
        ),
    )
    op.create_table(
        'caption_tracks',
        sa.Column('video_id', sa.Uuid(), nullable=False),
        sa.Column('language', sa.String(length=35), nullable=False, comment='BCP 47 tag in its recommended case'),
        sa.Column('label', sa.String(length=64), nullable=False, comment='the name players show; unique per video'),
        sa.Column('vtt_key', sa.String(length=1024), nullable=False),
        sa.Column('playlist_key', sa.String(length=1024), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False, comment='bytes of the stored WebVTT file'),
        sa.Column('cue_count', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['video_id'], ['videos.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('video_id', 'language'),
    )
    op.create_index('uq_caption_tracks_label', 'caption_tracks', ['video_id', 'label'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_caption_tracks_label', table_name='caption_tracks')
    op.drop_table('caption_tracks')
    op.drop_column('videos', 'captions_base_key')
    op.drop_column('videos', 'captions_master_key')
