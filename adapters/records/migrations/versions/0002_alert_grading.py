"""Alert-opened incidents: the grading, the alert group and alert counts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(
            sa.Column(
                "grading", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
            )
        )
        batch.add_column(sa.Column("alert_group", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("alerts_firing", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("alerts_total", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("alerts_total")
        batch.drop_column("alerts_firing")
        batch.drop_column("alert_group")
        batch.drop_column("grading")
