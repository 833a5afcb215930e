"""On-call overrides, and the secrets of the schedules' calendar feeds.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "schedule_overrides",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("schedule", sa.String(), nullable=False),
        sa.Column("person", sa.Text(), nullable=False),
        sa.Column("starts_at", _time(), nullable=False),
        sa.Column("ends_at", _time(), nullable=False),
        sa.Column("by", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("removed_at", _time(), nullable=True),
        sa.Column("removed_by", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_schedule_overrides_schedule_ends_at", "schedule_overrides", ["schedule", "ends_at"]
    )
    op.create_table(
        "calendar_feeds",
        sa.Column("schedule", sa.String(), primary_key=True),
        sa.Column("secret_hash", sa.String(), nullable=False, unique=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
    op.drop_index("ix_schedule_overrides_schedule_ends_at", "schedule_overrides")
    op.drop_table("schedule_overrides")
