"""initial schema: users, videos, comments, likes, playlists

Revision ID: 0001
Revises:
Create Date: 2026-11-26 02:36:10.113659
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.String(length=128), nullable=False, comment='Cognito sub'),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('playlists',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_id', sa.String(length=128), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('visibility', sa.Enum('public', 'unlisted', 'private', name='playlist_visibility', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('playlists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_playlists_owner_id'), ['owner_id'], unique=False)

    op.create_table('videos',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_id', sa.String(length=128), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('visibility', sa.Enum('public', 'unlisted', 'private', name='video_visibility', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('status', sa.Enum('uploading', 'queued', 'transcoding', 'ready', 'failed', name='video_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('progress', sa.Double(), nullable=False),
    sa.Column('last_sequence', sa.Integer(), nullable=False, comment='sequence of the last recorded event'),
    sa.Column('task_id', sa.Uuid(), nullable=True),
    sa.Column('source_key', sa.String(length=1024), nullable=False),
    sa.Column('multipart_upload_id', sa.String(length=1024), nullable=True),
    sa.Column('duration_seconds', sa.Double(), nullable=True),
    sa.Column('renditions', sa.JSON(), nullable=False),
    sa.Column('thumbnail_key', sa.String(length=1024), nullable=True),
    sa.Column('master_playlist_key', sa.String(length=1024), nullable=True),
    sa.Column('error_reason', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('progress >= 0 AND progress <= 100', name='ck_videos_progress_range'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('videos', schema=None) as batch_op:
        batch_op.create_index('ix_videos_feed', ['visibility', 'status', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_videos_owner', ['owner_id', 'created_at'], unique=False)

    op.create_table('comments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('video_id', sa.Uuid(), nullable=False),
    sa.Column('author_id', sa.String(length=128), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_index('ix_comments_video', ['video_id', 'created_at'], unique=False)

    op.create_table('likes',
    sa.Column('video_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('video_id', 'user_id')
    )
    op.create_table('playlist_items',
    sa.Column('playlist_id', sa.Uuid(), nullable=False),
    sa.Column('video_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['playlist_id'], ['playlists.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('playlist_id', 'video_id')
    )


def downgrade() -> None:
    op.drop_table('playlist_items')
    op.drop_table('likes')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_video')

    op.drop_table('comments')
    with op.batch_alter_table('videos', schema=None) as batch_op:
        batch_op.drop_index('ix_videos_owner')
        batch_op.drop_index('ix_videos_feed')

    op.drop_table('videos')
    with op.batch_alter_table('playlists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_playlists_owner_id'))

    op.drop_table('playlists')
    op.drop_table('users')
