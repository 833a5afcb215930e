"""Drill runs, responders' classifications, and the drill run of each drill incident.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("drill_run", sa.String(), nullable=True))
    op.create_table(
        "drill_runs",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("scenario", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("started_at", _time(), nullable=False),
        sa.Column(
            "document", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_drill_runs_scenario_started_at", "drill_runs", ["scenario", "started_at"])
    op.create_table(
        "classifications",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("by", sa.Text(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("at", _time(), nullable=False),
    )
    op.create_index("ix_classifications_incident_id", "classifications", ["incident_id"])


def downgrade() -> None:
    op.drop_table("classifications")
    op.drop_table("drill_runs")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("drill_run")
