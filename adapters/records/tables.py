"""The records schema. ``migrations/versions`` must create exactly this (a test compares them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time stored in UTC and always read back timezone-aware.

    PostgreSQL keeps the instant in ``timestamptz``; SQLite keeps no offset at all, so values
    are converted to UTC before they are written and given the UTC zone when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: the records store only keeps timezone-aware times")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _json() -> Any:
    return JSON().with_variant(JSONB(), "postgresql")


# Enumerations are stored as plain strings: adding a level or a status then needs no
# ALTER TYPE on PostgreSQL, and the pydantic models validate values on the way out.
metadata = MetaData()

incidents = Table(
    "incidents",
    metadata,
    Column("id", String, primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("level", String, nullable=False),
    Column("type", String, nullable=False),
    Column("service", Text, nullable=True),
    Column("status", String, nullable=False),
    Column("drill", Boolean, nullable=False),
    Column("drill_run", String, nullable=True),
    Column("source", String, nullable=False),
    Column("declared_at", UTCDateTime, nullable=False),
    Column("declared_by", Text, nullable=False),
    Column("ack_deadline", UTCDateTime, nullable=False),
    Column("response_window_seconds", Float, nullable=False),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("acknowledged_by", Text, nullable=True),
    Column("ack_level", String, nullable=True),
    # Derived on write so the time-to-acknowledge histogram is a plain SQL aggregate.
    Column("time_to_ack_seconds", Float, nullable=True),
    Column("window_breached", Boolean, nullable=False),
    Column("breached_at", UTCDateTime, nullable=True),
    Column("breach_level", String, nullable=True),
    Column("mitigated_at", UTCDateTime, nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("resolved_by", Text, nullable=True),
    Column("resolution_summary", Text, nullable=True),
    Column("last_update_at", UTCDateTime, nullable=True),
    Column("escalation_count", Integer, nullable=False),
    Column("paged", _json(), nullable=False),
    # External partners engaged and how each answered (0012).
    Column("partners", _json(), nullable=False, server_default="[]"),
    Column("grading", _json(), nullable=True),
    Column("alert_group", Text, nullable=True),
    Column("alerts_firing", Integer, nullable=False, server_default="0"),
    Column("alerts_total", Integer, nullable=False, server_default="0"),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_incidents_declared_at", "declared_at"),
    Index("ix_incidents_status_declared_at", "status", "declared_at"),
    Index("ix_incidents_level_declared_at", "level", "declared_at"),
)

timeline_events = Table(
    "timeline_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String, ForeignKey("incidents.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String, nullable=False),
    Column("actor", Text, nullable=True),
    Column("text", Text, nullable=False),
    Column("data", _json(), nullable=False),
    UniqueConstraint("incident_id", "seq", name="uq_timeline_events_incident_id_seq"),
)

# No foreign key to incidents: a notification may be sent (and recorded) before the activity
# that records the incident snapshot has run.
notifications = Table(
    "notifications",
    metadata,
    Column("key", String, primary_key=True),
    Column("incident_id", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("external_id", Text, nullable=True),
    Column("sent_at", UTCDateTime, nullable=False),
    Index("ix_notifications_incident_id", "incident_id"),
)

# A lease names some work that one process at a time may do (updating an incident's Slack
# card); it lapses at ``expires_at`` so a process that died cannot hold it for ever.
leases = Table(
    "leases",
    metadata,
    Column("name", String, primary_key=True),
    Column("holder", String, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# Statements for customers, written by the statements workflow's activities (DESIGN.md §3).
customer_messages = Table(
    "customer_messages",
    metadata,
    Column("id", String, primary_key=True),
    Column("incident_id", String, nullable=False),
    Column("stage", String, nullable=False),
    Column("status", String, nullable=False),
    Column("body", Text, nullable=False),
    Column("drill", Boolean, nullable=False),
    Column("due_at", UTCDateTime, nullable=True),
    Column("drafted_at", UTCDateTime, nullable=False),
    Column("drafted_by", Text, nullable=False),
    Column("approved_by", Text, nullable=True),
    Column("approved_at", UTCDateTime, nullable=True),
    Column("rejected_by", Text, nullable=True),
    Column("rejected_reason", Text, nullable=True),
    Column("published_at", UTCDateTime, nullable=True),
    Column("holding", Boolean, nullable=False),
    Column("corrects", String, nullable=True),
    Column("breached", Boolean, nullable=False),
    Column("escalations", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_customer_messages_incident_id", "incident_id"),
    Index("ix_customer_messages_status_published_at", "status", "published_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("message_id", String, primary_key=True),
    Column("channel", String, primary_key=True),
    Column("target", Text, primary_key=True),
    Column("status", String, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=True),
    Column("error", Text, nullable=True),
)

# People and systems who asked to be told. Written by the API (they are configuration, not
# incident records). A webhook's signing secret is kept to sign with, and the unsubscribe
# token to put in every e-mail, so both are stored as they are; a confirmation token is sent
# once and only its hash is kept.
subscribers = Table(
    "subscribers",
    metadata,
    Column("id", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("email", Text, nullable=True),
    Column("webhook_url", Text, nullable=True),
    Column("secret", Text, nullable=True),
    Column("status", String, nullable=False),
    Column("source", String, nullable=False),
    Column("confirm_token_hash", String, nullable=True),
    Column("unsubscribe_token", String, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime, nullable=True),
    Column("disabled_reason", Text, nullable=True),
    Index("ix_subscribers_email", "email"),
    Index("ix_subscribers_confirm_token_hash", "confirm_token_hash"),
    Index("ix_subscribers_unsubscribe_token", "unsubscribe_token"),
)

# What the communications lead says a component's status is, over what incidents imply.
component_overrides = Table(
    "component_overrides",
    metadata,
    Column("component", String, primary_key=True),
    Column("status", String, nullable=False),
    Column("reason", Text, nullable=False),
    Column("by", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

maintenances = Table(
    "maintenances",
    metadata,
    Column("id", String, primary_key=True),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("components", _json(), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("status", String, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    # Counted by the API as it holds alerts back; the workflow's saves leave it alone.
    Column("alerts_suppressed", Integer, nullable=False, server_default="0"),
)


# Post-incident reviews. The review itself (what the owner wrote, the prefilled timeline,
# key times, amendments) is one JSON document; the columns are what lists and reports filter
# on. ``search_text`` is what full-text search reads: SQLite indexes it in the FTS5 table
# ``reviews_fts``, PostgreSQL in the GIN index ``ix_reviews_search`` (neither can be written
# as SQLAlchemy metadata; see ``managed_by_sql``).
reviews = Table(
    "reviews",
    metadata,
    Column("id", String, primary_key=True),
    Column("incident_id", String, nullable=False, unique=True),
    Column("status", String, nullable=False),
    Column("owner", Text, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("title", Text, nullable=False),
    Column("level", String, nullable=False),
    Column("type", String, nullable=False),
    Column("service", Text, nullable=True),
    Column("drill", Boolean, nullable=False),
    Column("cause_category", Text, nullable=True),
    Column("published_at", UTCDateTime, nullable=True),
    Column("document", _json(), nullable=False),
    Column("search_text", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_reviews_status_published_at", "status", "published_at"),
    Index("ix_reviews_service", "service"),
)

action_items = Table(
    "action_items",
    metadata,
    Column("id", String, primary_key=True),
    Column("review_id", String, nullable=False),
    Column("incident_id", String, nullable=False),
    Column("title", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("priority", String, nullable=False),
    Column("status", String, nullable=False),
    Column("reason", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("closed_by", Text, nullable=True),
    Column("version", Integer, nullable=False),
    Index("ix_action_items_review_id", "review_id"),
    Index("ix_action_items_status_due_at", "status", "due_at"),
)

# Drill runs (domain.drills): the run as one document, the columns lists filter on.
drill_runs = Table(
    "drill_runs",
    metadata,
    Column("id", String, primary_key=True),
    Column("scenario", String, nullable=False),
    Column("status", String, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("document", _json(), nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_drill_runs_scenario_started_at", "scenario", "started_at"),
)

# Responders' triage of incidents (``POST …/classify``): scored in drills.
classifications = Table(
    "classifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String, nullable=False),
    Column("by", Text, nullable=False),
    Column("level", String, nullable=False),
    Column("type", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_classifications_incident_id", "incident_id"),
)

# Named API tokens (ADR 0015): only a SHA-256 of each is kept; the token is shown once.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("name", String, primary_key=True),
    Column("role", String, nullable=False),
    Column("person", Text, nullable=True),
    Column("acts_for_others", Boolean, nullable=False),
    Column("token_hash", String, nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

# Every change made through the API: which token, as whom, what, and the answer.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("token", String, nullable=False),
    Column("person", Text, nullable=True),
    Column("method", String, nullable=False),
    Column("path", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Index("ix_audit_log_at", "at"),
)

# Someone covering an on-call schedule for a while (domain.oncall.Override); a removed one is
# kept, stamped, so the record shows who covered what even after it is taken back.
schedule_overrides = Table(
    "schedule_overrides",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("schedule", String, nullable=False),
    Column("person", Text, nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("by", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("removed_at", UTCDateTime, nullable=True),
    Column("removed_by", Text, nullable=True),
    Index("ix_schedule_overrides_schedule_ends_at", "schedule", "ends_at"),
)

# A schedule's calendar feed (ADR 0021): only a SHA-256 of the secret in its URL is kept.
calendar_feeds = Table(
    "calendar_feeds",
    metadata,
    Column("schedule", String, primary_key=True),
    Column("secret_hash", String, nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", Text, nullable=False),
)

# Objects the migrations create in SQL of one dialect, which the metadata cannot describe.
SQL_MANAGED_TABLES = ("reviews_fts",)
SQL_MANAGED_INDEXES = ("ix_reviews_search",)


def managed_by_sql(name: str | None, type_: str, parent_names: object = None) -> bool:
    """For alembic's ``include_name``: False for the full-text objects made by raw SQL."""
    if name is None:
        return True
    if type_ == "table":
        return not any(name == t or name.startswith(f"{t}_") for t in SQL_MANAGED_TABLES)
    if type_ == "index":
        return name not in SQL_MANAGED_INDEXES
    return True
