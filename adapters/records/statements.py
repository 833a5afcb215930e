"""Customer statements, their deliveries, subscribers, component overrides and maintenance."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import utcnow
from adapters.records.tables import (
    component_overrides,
    customer_messages,
    deliveries,
    incidents,
    maintenances,
    subscribers,
)
from adapters.records.upsert import insert_for, insert_or_set, locked, newer_wins
from domain.statements import (
    Channel,
    Delivery,
    DeliveryStatus,
    Maintenance,
    Override,
    Statement,
    StatementStatus,
)


class Subscriber(BaseModel):
    id: str
    kind: str  # email | webhook
    email: str | None = None
    webhook_url: str | None = None
    status: str  # pending | active | disabled
    source: str  # api | public
    created_at: AwareDatetime
    confirmed_at: AwareDatetime | None = None
    disabled_reason: str | None = None


def token_hash(token: str) -> str:
    """Tokens in links are random; only their hash is kept, so the records leak none."""
    return hashlib.sha256(token.encode()).hexdigest()


class StatementRecords:
    def __init__(self, engine: AsyncEngine, writer: AsyncEngine) -> None:
        self._engine = engine
        self._writer = writer

    # ------------------------------------------------------------------------ statements

    async def save(self, message: Statement) -> None:
        """Record a statement; an older version never overwrites a newer one."""
        row: dict[str, Any] = message.model_dump()
        row["stage"], row["status"] = message.stage.value, message.status.value
        row["updated_at"] = utcnow()
        async with self._writer.begin() as conn:
            await conn.execute(newer_wins(conn, customer_messages), row)

    async def get(self, message_id: str) -> Statement | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(customer_messages).where(customer_messages.c.id == message_id)
                )
            ).first()
        return None if row is None else _message(row._mapping)

    async def of_incident(self, incident_id: str) -> list[Statement]:
        query = (
            select(customer_messages)
            .where(customer_messages.c.incident_id == incident_id)
            .order_by(customer_messages.c.drafted_at, customer_messages.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_message(row._mapping) for row in rows]

    async def published_since(self, since: datetime) -> list[Statement]:
        """Every statement customers saw (published, or published and later corrected) of
        incidents that are not drills, newest first. A statement is on the status page once
        its delivery there is done: after the key accounts were told."""
        on_page = select(deliveries.c.message_id).where(
            deliveries.c.channel == Channel.STATUS_PAGE.value,
            deliveries.c.status == DeliveryStatus.DELIVERED.value,
        )
        query = (
            select(customer_messages)
            .where(
                customer_messages.c.status.in_(
                    [StatementStatus.PUBLISHED.value, StatementStatus.SUPERSEDED.value]
                ),
                customer_messages.c.drill.is_(False),
                customer_messages.c.published_at >= since,
                customer_messages.c.id.in_(on_page),
            )
            .order_by(customer_messages.c.published_at.desc(), customer_messages.c.id.desc())
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_message(row._mapping) for row in rows]

    async def breaches_by_level(self) -> dict[str, int]:
        """Statements of real incidents not approved by their due time, by the level now."""
        return {level: n for (level, drill), n in (await self.breaches()).items() if not drill}

    async def breaches(self) -> dict[tuple[str, bool], int]:
        """Statements not approved by their due time, by the incident's level and drill."""
        query = (
            select(incidents.c.level, incidents.c.drill, func.count())
            .select_from(
                customer_messages.join(incidents, incidents.c.id == customer_messages.c.incident_id)
            )
            .where(customer_messages.c.breached.is_(True))
            .group_by(incidents.c.level, incidents.c.drill)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {(level, bool(drill)): int(n) for level, drill, n in rows}

    async def breaches_by_incident(self) -> dict[str, int]:
        query = (
            select(customer_messages.c.incident_id, func.count())
            .where(customer_messages.c.breached.is_(True))
            .group_by(customer_messages.c.incident_id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {incident_id: int(n) for incident_id, n in rows}

    async def delivery_counts(self) -> dict[tuple[str, str], int]:
        """Deliveries by channel and status, over every statement and announcement."""
        query = select(deliveries.c.channel, deliveries.c.status, func.count()).group_by(
            deliveries.c.channel, deliveries.c.status
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {(channel, status): int(n) for channel, status, n in rows}

    # ------------------------------------------------------------------------ deliveries

    async def record_delivery(self, delivery: Delivery) -> None:
        row = delivery.model_dump()
        row["channel"], row["status"] = delivery.channel.value, delivery.status.value
        async with self._writer.begin() as conn:
            await conn.execute(
                insert_or_set(
                    conn,
                    deliveries,
                    ("message_id", "channel", "target"),
                    *("status", "attempts", "at", "error"),
                ),
                row,
            )

    async def deliveries(self, message_id: str) -> list[Delivery]:
        query = (
            select(deliveries)
            .where(deliveries.c.message_id == message_id)
            .order_by(deliveries.c.channel, deliveries.c.target)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [Delivery.model_validate(dict(row._mapping)) for row in rows]

    async def delivery(self, message_id: str, channel: str, target: str) -> Delivery | None:
        query = select(deliveries).where(
            deliveries.c.message_id == message_id,
            deliveries.c.channel == channel,
            deliveries.c.target == target,
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else Delivery.model_validate(dict(row._mapping))

    # ----------------------------------------------------------------------- subscribers

    async def add_subscriber(
        self,
        subscriber: Subscriber,
        *,
        secret: str | None,
        unsubscribe_token: str,
        confirm_token: str | None = None,
    ) -> None:
        row = subscriber.model_dump()
        row.update(
            secret=secret,
            unsubscribe_token=unsubscribe_token,
            confirm_token_hash=token_hash(confirm_token) if confirm_token else None,
        )
        async with self._writer.begin() as conn:
            await conn.execute(subscribers.insert().values(row))

    async def subscriber(self, subscriber_id: str) -> Subscriber | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(subscribers).where(subscribers.c.id == subscriber_id))
            ).first()
        return None if row is None else _subscriber(row._mapping)

    async def subscriber_by_email(self, email: str) -> Subscriber | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(subscribers).where(subscribers.c.email == email))
            ).first()
        return None if row is None else _subscriber(row._mapping)

    async def list_subscribers(
        self, *, status: str | None = None, kind: str | None = None
    ) -> list[Subscriber]:
        query = select(subscribers).order_by(subscribers.c.created_at, subscribers.c.id)
        if status is not None:
            query = query.where(subscribers.c.status == status)
        if kind is not None:
            query = query.where(subscribers.c.kind == kind)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_subscriber(row._mapping) for row in rows]

    async def webhook_secret(self, subscriber_id: str) -> str | None:
        async with self._engine.connect() as conn:
            secret: str | None = await conn.scalar(
                select(subscribers.c.secret).where(subscribers.c.id == subscriber_id)
            )
        return secret

    async def confirm(self, token: str) -> Subscriber | None:
        """The pending subscriber of this confirmation link, now active; None if unknown."""
        async with self._writer.begin() as conn:
            row = (
                await conn.execute(
                    locked(
                        conn,
                        select(subscribers).where(
                            subscribers.c.confirm_token_hash == token_hash(token)
                        ),
                    )
                )
            ).first()
            if row is None:
                return None
            await conn.execute(
                subscribers.update()
                .where(subscribers.c.id == row.id)
                .values(status="active", confirmed_at=utcnow(), confirm_token_hash=None)
            )
        found = await self.subscriber(row.id)
        return found

    async def unsubscribe(self, token: str) -> Subscriber | None:
        """Forget the subscriber of this unsubscribe link; None if the link is unknown."""
        async with self._writer.begin() as conn:
            row = (
                await conn.execute(
                    select(subscribers).where(subscribers.c.unsubscribe_token == token)
                )
            ).first()
            if row is None:
                return None
            await conn.execute(subscribers.delete().where(subscribers.c.id == row.id))
        return _subscriber(row._mapping)

    async def by_unsubscribe_token(self, token: str) -> Subscriber | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(subscribers).where(subscribers.c.unsubscribe_token == token)
                )
            ).first()
        return None if row is None else _subscriber(row._mapping)

    async def remove_subscriber(self, subscriber_id: str) -> bool:
        async with self._writer.begin() as conn:
            result = await conn.execute(
                subscribers.delete().where(subscribers.c.id == subscriber_id)
            )
        return bool(result.rowcount)

    async def disable_subscriber(self, subscriber_id: str, reason: str) -> None:
        async with self._writer.begin() as conn:
            await conn.execute(
                subscribers.update()
                .where(subscribers.c.id == subscriber_id)
                .values(status="disabled", disabled_reason=reason)
            )

    async def renew_confirmation(self, subscriber_id: str, token: str) -> None:
        """A fresh confirmation link for a sign-up not confirmed yet; the old one is dead."""
        async with self._writer.begin() as conn:
            await conn.execute(
                subscribers.update()
                .where(subscribers.c.id == subscriber_id, subscribers.c.status == "pending")
                .values(confirm_token_hash=token_hash(token))
            )

    async def unsubscribe_token(self, subscriber_id: str) -> str | None:
        async with self._engine.connect() as conn:
            token: str | None = await conn.scalar(
                select(subscribers.c.unsubscribe_token).where(subscribers.c.id == subscriber_id)
            )
        return token

    # ------------------------------------------------------------------ the status page

    async def set_override(self, override: Override) -> None:
        async with self._writer.begin() as conn:
            await conn.execute(
                insert_or_set(
                    conn,
                    component_overrides,
                    ("component",),
                    *(c.name for c in component_overrides.c),
                ),
                override.model_dump(),
            )

    async def clear_override(self, component: str) -> None:
        async with self._writer.begin() as conn:
            await conn.execute(
                component_overrides.delete().where(component_overrides.c.component == component)
            )

    async def overrides(self) -> dict[str, Override]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(component_overrides))).all()
        return {row.component: Override.model_validate(dict(row._mapping)) for row in rows}

    async def save_maintenance(self, maintenance: Maintenance) -> None:
        async with self._writer.begin() as conn:
            stmt = insert_for(conn, maintenances).values(maintenance.model_dump())
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[maintenances.c.id],
                    set_={
                        c.name: stmt.excluded[c.name]
                        for c in maintenances.c
                        if c.name not in _COUNTED_APART
                    },
                    where=maintenances.c.version < stmt.excluded.version,
                )
            )

    async def count_suppressed(self, maintenance_id: str, alerts: int) -> None:
        async with self._writer.begin() as conn:
            await conn.execute(
                update(maintenances)
                .where(maintenances.c.id == maintenance_id)
                .values(alerts_suppressed=maintenances.c.alerts_suppressed + alerts)
            )

    async def suppressed_total(self) -> int:
        async with self._engine.connect() as conn:
            total = await conn.scalar(select(func.sum(maintenances.c.alerts_suppressed)))
        return int(total or 0)

    async def maintenances(
        self, *, ending_after: datetime | None = None, status: str | None = None
    ) -> list[Maintenance]:
        query = select(maintenances).order_by(maintenances.c.starts_at)
        if ending_after is not None:
            query = query.where(maintenances.c.ends_at >= ending_after)
        if status is not None:
            query = query.where(maintenances.c.status == status)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [Maintenance.model_validate(dict(row._mapping)) for row in rows]

    async def maintenance(self, maintenance_id: str) -> Maintenance | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(maintenances).where(maintenances.c.id == maintenance_id))
            ).first()
        return None if row is None else Maintenance.model_validate(dict(row._mapping))


_COUNTED_APART = ("id", "alerts_suppressed")


def _message(values: Any) -> Statement:
    return Statement.model_validate({k: values[k] for k in Statement.model_fields})


def _subscriber(values: Any) -> Subscriber:
    return Subscriber.model_validate({k: values[k] for k in Subscriber.model_fields})


__all__: Sequence[str] = [
    "Maintenance",
    "Override",
    "StatementRecords",
    "Subscriber",
    "token_hash",
]
