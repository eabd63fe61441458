"""videos.thumbnail_candidates, mp4_download, download_key: chosen posters and MP4 downloads

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTERs, as in 0002 and 0007: a batch copy on SQLite would drop (and cascade) the videos
# table. Videos transcoded before this revision have no candidates and no download.
def upgrade() -> None:
    op.add_column(
        'videos',
        sa.Column(
            'thumbnail_candidates',
            sa.JSON(),
            server_default=sa.text("'[]'"),
            nullable=False,
            comment='keys of the candidate posters the transcode picked; thumbnail_key is one of them or an upload',
        ),
    )
    op.add_column(
        'videos',
        sa.Column(
            'mp4_download',
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
            comment='the owner asked for an MP4 to download',
        ),
    )
    op.add_column(
        'videos',
        sa.Column('download_key', sa.String(length=1024), nullable=True, comment='the MP4 for download'),
    )


def downgrade() -> None:
    op.drop_column('videos', 'download_key')
    op.drop_column('videos', 'mp4_download')
    op.drop_column('videos', 'thumbnail_candidates')
