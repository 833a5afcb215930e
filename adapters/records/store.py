"""The records store: incidents and their timelines, kept after Temporal drops the histories.

Only activities write here and each write is idempotent, so a retried activity, or two running
at once for the same incident, leave the same rows as a single run would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.clock import utcnow
from adapters.records.drills import DrillRecords
from adapters.records.engine import create_engine, writer
from adapters.records.oncall import OnCallRecords
from adapters.records.reads import IncidentReads
from adapters.records.reviews import ReviewRecords
from adapters.records.rows import (
    append_event_once_in,
    event_row,
    incident_row,
    merge_paged,
)
from adapters.records.statements import StatementRecords
from adapters.records.tables import incidents, leases, notifications, timeline_events
from adapters.records.tokens import TokenRecords
from adapters.records.upsert import insert_or_set, keep_first, locked, newer_wins
from domain.models import (
    EventKind,
    Incident,
    NotificationKind,
    PagedPerson,
    Recipient,
    TimelineEvent,
)

PING_TIMEOUT_SECONDS = 5.0

_Write = Callable[[AsyncConnection], Awaitable[None]]


@dataclass
class _Batch:
    """Writes held back until the next write that cannot wait, or the end of the batch."""

    writes: list[_Write] = field(default_factory=list)
    # What this batch wrote to ``notifications`` (or found there afresh), for its own reads
    # before they are committed.
    refs: dict[str, str | None] = field(default_factory=dict)
    # Each incident's ``notifications`` rows (key → external id) as read once by this batch,
    # for its checks of what that incident was sent (issue 22).
    read: dict[str, dict[str, str | None]] = field(default_factory=dict)


def _ref(key: str, value: str, incident_id: str) -> dict[str, Any]:
    """The row of a ref: what an outbound adapter finds again under ``key``."""
    return {
        "key": key,
        "incident_id": incident_id,
        "kind": "ref",
        "recipient": "",
        "external_id": value,
        "sent_at": utcnow(),
    }


class RecordsStore(IncidentReads):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._writer = writer(engine)
        # The batch of the activity running in this task, if any: this store's own.
        self._batch: ContextVar[_Batch | None] = ContextVar(
            f"records_batch_{id(self)}", default=None
        )
        self.statements = StatementRecords(engine, self._writer)
        self.reviews = ReviewRecords(engine, self._writer)
        self.drills = DrillRecords(engine, self._writer)
        self.tokens = TokenRecords(engine, self._writer)
        self.oncall = OnCallRecords(engine, self._writer)

    @classmethod
    def from_url(cls, url: str) -> RecordsStore:
        return cls(create_engine(url))

    async def close(self) -> None:
        await self._engine.dispose()

    async def ping(self) -> None:
        """Raise if the database does not answer within a few seconds."""
        async with asyncio.timeout(PING_TIMEOUT_SECONDS), self._engine.connect() as conn:
            await conn.execute(select(1))

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """One effects batch's writes in as few transactions as its sends allow: the writes
        that record what was decided or done wait, in order, for the next write that cannot
        wait (a lease, a pending mark before a send: ``flush``) and go in its transaction;
        the rest go when the batch ends, also when it ends in an error, since what they record
        happened. Reads in the batch see its own ``notifications`` writes."""
        if self._batch.get() is not None:
            yield  # already in one: its owner flushes
            return
        token = self._batch.set(_Batch())
        try:
            yield
        finally:
            try:
                await self.flush()
            finally:
                self._batch.reset(token)

    async def flush(self) -> None:
        """Commit what the current batch holds back; nothing to do outside a batch. Every
        send calls it first, so a send never goes out before the records that precede it."""
        batch = self._batch.get()
        if batch is not None and batch.writes:
            async with self._begin():
                pass

    @contextlib.asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction that first writes what the current batch held back, so the
        records are committed in the order they were written."""
        async with self._writer.begin() as conn:
            batch = self._batch.get()
            if batch is not None:
                writes, batch.writes = batch.writes, []
                for write in writes:
                    await write(conn)
            yield conn

    async def _write(self, write: _Write) -> None:
        """``write`` in the current batch, or now in a transaction of its own."""
        batch = self._batch.get()
        if batch is not None:
            batch.writes.append(write)
            return
        async with self._begin() as conn:
            await write(conn)

    async def apply(self, incident: Incident, events: Sequence[TimelineEvent]) -> None:
        """Record a snapshot of ``incident`` and new timeline events, in one transaction.

        The snapshot replaces the stored one only if its version is higher, because snapshots
        may arrive out of order; events already stored (same incident and seq) are left alone.
        """
        strangers = sorted({e.incident_id for e in events if e.incident_id != incident.id})
        if strangers:
            raise ValueError(f"events of other incidents {strangers} applied to {incident.id!r}")
        row = incident_row(incident)

        async def write(conn: AsyncConnection) -> None:
            stored = await conn.scalar(
                locked(conn, select(incidents.c.paged).where(incidents.c.id == incident.id))
            )
            if stored:
                row["paged"] = merge_paged(stored, row["paged"])
            await conn.execute(newer_wins(conn, incidents), row)
            if events:
                # Ascending seq: concurrent writers then take row locks in the same order.
                rows = [event_row(e) for e in sorted(events, key=lambda e: e.seq)]
                await conn.execute(keep_first(conn, timeline_events, "incident_id", "seq"), rows)

        await self._write(write)

    async def note_reached(
        self,
        incident: Incident,
        reached: Sequence[tuple[NotificationKind, datetime, Sequence[Recipient]]],
    ) -> None:
        """Fold who a burst of notifications reached into the stored ``paged`` list, as the
        workflow will fold them into its own state (``lifecycle.note_reached``)."""
        entries: list[dict[str, Any]] = []
        for kind, at, recipients in reached:
            for recipient in recipients:
                entries.append(
                    PagedPerson(
                        name=recipient.person.name,
                        function=recipient.function,
                        tier=recipient.tier,
                        role=recipient.role,
                        kind=kind,
                        at=at,
                    ).model_dump(mode="json")
                )

        async def write(conn: AsyncConnection) -> None:
            stored = await conn.scalar(
                locked(conn, select(incidents.c.paged).where(incidents.c.id == incident.id))
            )
            if stored is None:
                return  # not recorded yet; its first snapshot will carry the list
            merged = stored
            for entry in entries:
                merged = merge_paged(merged, [entry], counting=True)
            await conn.execute(
                incidents.update().where(incidents.c.id == incident.id).values(paged=merged)
            )

        await self._write(write)

    async def add_events(self, incident_id: str, events: Sequence[TimelineEvent]) -> None:
        """Timeline events written by another workflow than the incident's (its statements):
        inserted once each, the snapshot left alone."""
        strangers = sorted({e.incident_id for e in events if e.incident_id != incident_id})
        if strangers:
            raise ValueError(f"events of other incidents {strangers} added to {incident_id!r}")
        if not events:
            return
        async with self._begin() as conn:
            await conn.execute(
                keep_first(conn, timeline_events, "incident_id", "seq"),
                [event_row(e) for e in sorted(events, key=lambda e: e.seq)],
            )

    async def append_event_once(
        self,
        key: str,
        *,
        incident_id: str,
        base: int,
        kind: EventKind,
        text: str,
        at: datetime,
        actor: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> TimelineEvent | None:
        """A timeline event written outside any workflow's numbering (a review's, an action
        item's), numbered after ``base`` and the last such event, at most once per ``key``:
        the event and its key are written in one transaction. None if it was written before."""
        async with self._begin() as conn:
            return await append_event_once_in(
                conn, key, incident_id, base, kind, text, at, actor, data
            )

    async def note_event_once(
        self,
        key: str,
        *,
        incident_id: str,
        base: int,
        kind: EventKind,
        text: str,
        at: datetime,
        actor: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """``append_event_once`` for a writer that needs no answer: in a batch, it waits
        for the batch's next transaction."""

        async def write(conn: AsyncConnection) -> None:
            await append_event_once_in(conn, key, incident_id, base, kind, text, at, actor, data)

        await self._write(write)

    async def notification_sent(self, key: str, *, incident_id: str | None = None) -> bool:
        """Whether ``key`` is recorded. In a batch, with the ``incident_id`` that every record
        of ``key`` is written with, the answer comes from that incident's rows as the batch
        read them once (``_incident_rows``); otherwise from the database now."""
        found, _ = await self._recorded(key, incident_id)
        return found

    async def _recorded(self, key: str, incident_id: str | None) -> tuple[bool, str | None]:
        batch = self._batch.get()
        if batch is not None and key in batch.refs:
            return True, batch.refs[key]
        if batch is not None and incident_id is not None:
            rows = await self._incident_rows(batch, incident_id)
            return key in rows, rows.get(key)
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(notifications.c.external_id).where(notifications.c.key == key)
                )
            ).first()
        return row is not None, None if row is None else row.external_id

    async def _incident_rows(self, batch: _Batch, incident_id: str) -> dict[str, str | None]:
        """The incident's ``notifications`` as committed when the batch first asked: what was
        sent before it began, by any process. A later send by another process is not seen;
        what makes that safe is the check a Slack post makes as it commits its pending mark
        (``set_ref_if_absent``), and the rows being final once written (a card's ref, which
        changes, is read afresh under its lease)."""
        rows = batch.read.get(incident_id)
        if rows is None:
            query = select(notifications.c.key, notifications.c.external_id).where(
                notifications.c.incident_id == incident_id
            )
            async with self._engine.connect() as conn:
                rows = {row.key: row.external_id for row in await conn.execute(query)}
            batch.read[incident_id] = rows
        return rows

    async def record_notification(
        self,
        key: str,
        *,
        incident_id: str,
        kind: str,
        recipient: str,
        external_id: str | None = None,
    ) -> None:
        """Remember a sent notification; recording the same key again keeps the first record."""
        batch = self._batch.get()
        if batch is not None and key not in batch.read.get(incident_id, {}):
            batch.refs.setdefault(key, external_id)  # the first record is kept

        async def write(conn: AsyncConnection) -> None:
            await conn.execute(
                keep_first(conn, notifications, "key"),
                {
                    "key": key,
                    "incident_id": incident_id,
                    "kind": kind,
                    "recipient": recipient,
                    "external_id": external_id,
                    "sent_at": utcnow(),
                },
            )

        await self._write(write)

    async def get_notification_external_id(
        self, key: str, *, incident_id: str | None = None
    ) -> str | None:
        """What was recorded with ``key`` (a Slack ts, a ref); ``incident_id`` as for
        ``notification_sent``."""
        _, external_id = await self._recorded(key, incident_id)
        return external_id

    async def set_ref(self, key: str, value: str, *, incident_id: str) -> None:
        """Remember (or replace) what an outbound adapter needs to find again, such as the
        Slack channel of an incident or the ts of its card."""
        batch = self._batch.get()
        if batch is not None:
            batch.refs[key] = value

        async def write(conn: AsyncConnection) -> None:
            await conn.execute(
                insert_or_set(conn, notifications, ("key",), "external_id", "sent_at"),
                _ref(key, value, incident_id),
            )

        await self._write(write)

    async def get_ref(self, key: str, *, incident_id: str | None = None) -> str | None:
        return await self.get_notification_external_id(key, incident_id=incident_id)

    async def set_ref_if_absent(self, key: str, value: str, *, incident_id: str) -> str | None:
        """Record ``value`` under ``key`` unless something is recorded there already, in one
        transaction with what the batch held back: a Slack post's pending mark, committed
        before the message leaves (ADR 0008). None when this call recorded it; else what was
        there (another process's mark or message), even when the batch's rows predate it."""
        batch = self._batch.get()
        async with self._begin() as conn:
            inserted = await conn.execute(
                keep_first(conn, notifications, "key"), _ref(key, value, incident_id)
            )
            if inserted.rowcount == 1:
                stored = None
            else:
                stored = await conn.scalar(
                    select(notifications.c.external_id).where(notifications.c.key == key)
                )
        if batch is not None:
            batch.refs[key] = value if stored is None else stored
        return stored

    async def claim(self, name: str, holder: str, seconds: float) -> bool:
        """Take the lease ``name`` for ``seconds`` if it is free, lapsed or already
        ``holder``'s; False if someone else holds it."""
        now = utcnow()
        async with self._begin() as conn:
            current = (
                await conn.execute(locked(conn, select(leases).where(leases.c.name == name)))
            ).first()
            if current is not None and current.holder != holder and current.expires_at > now:
                return False
            await conn.execute(
                insert_or_set(conn, leases, ("name",), "holder", "expires_at"),
                {"name": name, "holder": holder, "expires_at": now + timedelta(seconds=seconds)},
            )
        return True

    async def reserve_turn(self, name: str, interval: float) -> float:
        """Seconds to wait before the next use of ``name`` (a Slack channel), that use
        reserved: one per ``interval`` across every worker process sharing this database
        (ADR 0008's pacing). The reservation lives in ``leases`` as the next free instant."""
        now = utcnow()
        key = f"pace:{name}"
        async with self._begin() as conn:
            # The row first, so that PostgreSQL has a row to lock when two ask at once.
            await conn.execute(
                keep_first(conn, leases, "name"), {"name": key, "holder": "pace", "expires_at": now}
            )
            free_at = await conn.scalar(
                locked(conn, select(leases.c.expires_at).where(leases.c.name == key))
            )
            at = max(now, free_at) if free_at is not None else now
            await conn.execute(
                leases.update()
                .where(leases.c.name == key)
                .values(expires_at=at + timedelta(seconds=interval))
            )
        return (at - now).total_seconds()

    async def lease_holder(self, name: str) -> str | None:
        """Who holds the lease ``name`` now; None when it is free or lapsed."""
        async with self._engine.connect() as conn:
            current = (await conn.execute(select(leases).where(leases.c.name == name))).first()
        if current is None or current.expires_at <= utcnow():
            return None
        return str(current.holder)

    async def release(self, name: str, holder: str) -> None:
        async with self._begin() as conn:
            await conn.execute(
                leases.delete().where(leases.c.name == name, leases.c.holder == holder)
            )
