"""Incidents, their timelines and sent notifications.

Revision ID: 0001
Revises:
Create Date: 2026-01-01 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("service", sa.Text(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("declared_at", _time(), nullable=False),
        sa.Column("declared_by", sa.Text(), nullable=False),
        sa.Column("ack_deadline", _time(), nullable=False),
        sa.Column("response_window_seconds", sa.Float(), nullable=False),
        sa.Column("acknowledged_at", _time(), nullable=True),
        sa.Column("acknowledged_by", sa.Text(), nullable=True),
        sa.Column("time_to_ack_seconds", sa.Float(), nullable=True),
        sa.Column("window_breached", sa.Boolean(), nullable=False),
        sa.Column("breached_at", _time(), nullable=True),
        sa.Column("mitigated_at", _time(), nullable=True),
        sa.Column("resolved_at", _time(), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("resolution_summary", sa.Text(), nullable=True),
        sa.Column("last_update_at", _time(), nullable=True),
        sa.Column("escalation_count", sa.Integer(), nullable=False),
        sa.Column("paged", _json(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
    )
    op.create_index("ix_incidents_declared_at", "incidents", ["declared_at"])
    op.create_index("ix_incidents_status_declared_at", "incidents", ["status", "declared_at"])
    op.create_index("ix_incidents_level_declared_at", "incidents", ["level", "declared_at"])

    op.create_table(
        "timeline_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.UniqueConstraint("incident_id", "seq", name="uq_timeline_events_incident_id_seq"),
    )

    op.create_table(
        "notifications",
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("sent_at", _time(), nullable=False),
    )
    op.create_index("ix_notifications_incident_id", "notifications", ["incident_id"])


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("timeline_events")
    op.drop_table("incidents")
