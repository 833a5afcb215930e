"""Post-incident reviews, action items, their full-text search; the level an incident was
acknowledged and breached at.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("ack_level", sa.String(), nullable=True))
        batch.add_column(sa.Column("breach_level", sa.String(), nullable=True))
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("incident_id", sa.String(), nullable=False, unique=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("due_at", _time(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("service", sa.Text(), nullable=True),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("cause_category", sa.Text(), nullable=True),
        sa.Column("published_at", _time(), nullable=True),
        sa.Column(
            "document", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
    )
    op.create_index("ix_reviews_status_published_at", "reviews", ["status", "published_at"])
    op.create_index("ix_reviews_service", "reviews", ["service"])
    op.create_table(
        "action_items",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("review_id", sa.String(), nullable=False),
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("due_at", _time(), nullable=False),
        sa.Column("priority", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("closed_at", _time(), nullable=True),
        sa.Column("closed_by", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_action_items_review_id", "action_items", ["review_id"])
    op.create_index("ix_action_items_status_due_at", "action_items", ["status", "due_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_reviews_search ON reviews "
            "USING gin (to_tsvector('english', search_text))"
        )
    else:
        # Porter stemming, so "deploys" finds "deploy"; the review's id is kept, not indexed.
        op.execute(
            "CREATE VIRTUAL TABLE reviews_fts USING fts5("
            "review_id UNINDEXED, search_text, tokenize = 'porter unicode61')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE reviews_fts")
    op.drop_table("action_items")
    op.drop_table("reviews")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("breach_level")
        batch.drop_column("ack_level")
