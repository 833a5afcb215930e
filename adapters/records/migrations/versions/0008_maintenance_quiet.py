"""Alerts a maintenance window held back, counted on the window.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("maintenances") as batch:
        batch.add_column(
            sa.Column("alerts_suppressed", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("maintenances") as batch:
        batch.drop_column("alerts_suppressed")
