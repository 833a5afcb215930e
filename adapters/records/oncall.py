"""On-call overrides, which outlive restarts, and the calendar feeds' secrets (ADR 0021)."""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.records.tables import calendar_feeds, schedule_overrides
from domain.oncall import Override


@functools.cache
def _live_overrides(of_schedule: bool, ending_after: bool) -> Select[Any]:
    """Built once per shape: every page asks who is on call, and building the query each time
    was most of what asking cost."""
    query = select(schedule_overrides).where(schedule_overrides.c.removed_at.is_(None))
    if of_schedule:
        query = query.where(schedule_overrides.c.schedule == bindparam("schedule"))
    if ending_after:
        query = query.where(schedule_overrides.c.ends_at > bindparam("after"))
    return query.order_by(schedule_overrides.c.id)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class OnCallRecords:
    def __init__(self, engine: AsyncEngine, writer: AsyncEngine) -> None:
        self._engine = engine
        self._writer = writer

    # ------------------------------------------------------------------------ overrides

    async def add_override(
        self,
        schedule: str,
        person: str,
        start: datetime,
        end: datetime,
        by: str,
        reason: str | None,
        now: datetime,
    ) -> Override:
        row = {
            "schedule": schedule,
            "person": person,
            "starts_at": start,
            "ends_at": end,
            "by": by,
            "reason": reason,
            "created_at": now,
        }
        async with self._writer.begin() as conn:
            result = await conn.execute(schedule_overrides.insert().values(row))
        key = result.inserted_primary_key
        assert key is not None
        return _override({**row, "id": key[0]})

    async def overrides(
        self, schedule: str | None = None, ending_after: datetime | None = None
    ) -> list[Override]:
        """Overrides not removed, oldest first; of one schedule, ending after an instant."""
        query = _live_overrides(schedule is not None, ending_after is not None)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query, {"schedule": schedule, "after": ending_after})).all()
        return [_override(dict(r._mapping)) for r in rows]

    async def remove_override(self, schedule: str, id: int, by: str, now: datetime) -> bool:
        """True if a live override of that schedule was removed."""
        async with self._writer.begin() as conn:
            result = await conn.execute(
                update(schedule_overrides)
                .where(
                    schedule_overrides.c.id == id,
                    schedule_overrides.c.schedule == schedule,
                    schedule_overrides.c.removed_at.is_(None),
                )
                .values(removed_at=now, removed_by=by)
            )
        return bool(result.rowcount)

    # ------------------------------------------------------------------- calendar feeds

    async def new_feed_secret(self, schedule: str, by: str, now: datetime) -> str:
        """A new secret for the schedule's feed; the one before stops working."""
        secret = secrets.token_urlsafe(24)
        async with self._writer.begin() as conn:
            await conn.execute(delete(calendar_feeds).where(calendar_feeds.c.schedule == schedule))
            await conn.execute(
                calendar_feeds.insert().values(
                    schedule=schedule, secret_hash=_hash(secret), created_at=now, created_by=by
                )
            )
        return secret

    async def revoke_feed(self, schedule: str) -> bool:
        async with self._writer.begin() as conn:
            result = await conn.execute(
                delete(calendar_feeds).where(calendar_feeds.c.schedule == schedule)
            )
        return bool(result.rowcount)

    async def feed_allows(self, schedule: str, secret: str) -> bool:
        async with self._engine.connect() as conn:
            found = await conn.scalar(
                select(calendar_feeds.c.schedule).where(
                    calendar_feeds.c.schedule == schedule,
                    calendar_feeds.c.secret_hash == _hash(secret),
                )
            )
        return found is not None


def _override(row: Mapping[str, Any]) -> Override:
    return Override(
        id=int(row["id"]),
        schedule=str(row["schedule"]),
        person=str(row["person"]),
        start=row["starts_at"],
        end=row["ends_at"],
        by=str(row["by"]),
        reason=row["reason"],
        created_at=row["created_at"],
    )
