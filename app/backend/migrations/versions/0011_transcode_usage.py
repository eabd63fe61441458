"""videos.transcode_*: what the transcode of a ready video used, which its cost is priced from

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS: tuple[tuple[str, Any, str], ...] = (
    ('transcode_cpu_seconds', sa.Double(), 'CPU time of the transcode that made the outputs'),
    ('transcode_instance_type', sa.String(length=64), 'EC2 instance type it ran on; null off EC2'),
    ('transcode_purchase_option', sa.String(length=16), 'on-demand or spot; null off EC2'),
    ('transcode_bytes_written', sa.BigInteger(), 'bytes the transcode uploaded to the media bucket'),
    ('transcode_bytes_stored', sa.BigInteger(), 'bytes the outputs take in the media bucket'),
)


# Plain ALTERs, as in 0002: a batch copy on SQLite would drop (and cascade) the videos table.
# Videos transcoded before this revision have no recorded usage (their columns stay null).
def upgrade() -> None:
    for name, type_, comment in COLUMNS:
        op.add_column('videos', sa.Column(name, type_, nullable=True, comment=comment))


def downgrade() -> None:
    for name, _, _ in reversed(COLUMNS):
        op.drop_column('videos', name)
