"""videos.storyboard_key: the WebVTT thumbnails track of a video's seek previews

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 14:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# A plain ALTER, as in 0002: a batch copy on SQLite would drop (and cascade) the videos table.
# Videos transcoded before this revision have no storyboard (their column stays null).
def upgrade() -> None:
    op.add_column(
        'videos',
        sa.Column(
            'storyboard_key',
            sa.String(length=1024),
            nullable=True,
            comment='WebVTT thumbnails track of the seek previews',
        ),
    )


def downgrade() -> None:
    op.drop_column('videos', 'storyboard_key')
