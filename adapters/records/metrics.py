"""What ``/metrics`` reports from the records, computed by SQL aggregates over all incidents."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.records.tables import incidents, notifications
from domain.models import IncidentType, Level, Status
from domain.notify import FAILED

# Upper bounds in seconds, chosen around the 15/30/60-minute response windows.
TTA_BUCKETS: tuple[float, ...] = (30, 60, 120, 300, 600, 900, 1800, 2700, 3600, 7200)


@dataclass(frozen=True)
class Histogram:
    """Cumulative counts: ``buckets`` pairs each upper bound with the number of observations
    at or below it, ending with ``math.inf`` (which equals ``count``)."""

    buckets: tuple[tuple[float, int], ...]
    sum: float
    count: int


@dataclass(frozen=True)
class MetricsSnapshot:
    """Every level (and every level, type and drill combination) is present, at zero if no
    incident has it, so that Prometheus series exist before the first incident."""

    incidents_total: Mapping[tuple[Level, IncidentType, bool], int]
    open_by_level: Mapping[Level, int]
    time_to_ack: Mapping[Level, Histogram]
    breaches_by_level: Mapping[Level, int]
    escalations_by_level: Mapping[Level, int]
    # Notifications a channel refused for good, by the channel's reason.
    failed_notifications: Mapping[str, int]


async def query_metrics(conn: AsyncConnection) -> MetricsSnapshot:
    c = incidents.c
    totals: dict[tuple[Level, IncidentType, bool], int] = {
        (level, kind, drill): 0
        for level in Level
        for kind in IncidentType
        for drill in (False, True)
    }
    rows = await conn.execute(
        select(c.level, c.type, c.drill, func.count()).group_by(c.level, c.type, c.drill)
    )
    for level, kind, drill, n in rows:
        totals[Level(level), IncidentType(kind), bool(drill)] = int(n)

    tta = c.time_to_ack_seconds
    # COUNT ignores the NULL that CASE yields when the condition is false.
    bucket_columns = [func.count(case((tta <= bound, 1))) for bound in TTA_BUCKETS]
    per_level = await conn.execute(
        select(
            c.level,
            func.count(case((c.status != Status.RESOLVED.value, 1))),
            func.count(case((c.window_breached.is_(True), 1))),
            func.coalesce(func.sum(c.escalation_count), 0),
            func.count(tta),
            func.coalesce(func.sum(tta), 0.0),
            *bucket_columns,
        ).group_by(c.level)
    )
    open_by_level = dict.fromkeys(Level, 0)
    breaches = dict.fromkeys(Level, 0)
    escalations = dict.fromkeys(Level, 0)
    empty = Histogram(buckets=(*((b, 0) for b in TTA_BUCKETS), (math.inf, 0)), sum=0.0, count=0)
    histograms = dict.fromkeys(Level, empty)
    for level_value, n_open, n_breached, n_escalations, n_acked, tta_sum, *cumulative in per_level:
        level = Level(level_value)
        open_by_level[level] = int(n_open)
        breaches[level] = int(n_breached)
        escalations[level] = int(n_escalations)
        histograms[level] = Histogram(
            buckets=(
                *zip(TTA_BUCKETS, (int(n) for n in cumulative), strict=True),
                (math.inf, int(n_acked)),
            ),
            sum=float(tta_sum),
            count=int(n_acked),
        )
    failed = await conn.execute(
        select(notifications.c.kind, func.count())
        .where(notifications.c.kind.like(f"{FAILED}:%"))
        .group_by(notifications.c.kind)
    )
    failed_notifications = {kind.removeprefix(f"{FAILED}:"): int(n) for kind, n in failed}
    return MetricsSnapshot(
        failed_notifications=failed_notifications,
        incidents_total=totals,
        open_by_level=open_by_level,
        time_to_ack=histograms,
        breaches_by_level=breaches,
        escalations_by_level=escalations,
    )
