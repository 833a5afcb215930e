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
    # By level and drill.
    open_by_level: Mapping[tuple[Level, bool], int]
    time_to_ack: Mapping[tuple[Level, bool], Histogram]
    breaches_by_level: Mapping[tuple[Level, bool], int]
    escalations_by_level: Mapping[tuple[Level, bool], int]
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
    # Each figure under the level that held at the moment it is about: an acknowledgement
    # under the level it came at, a breach under the level whose window it breached.
    ack_level = func.coalesce(c.ack_level, c.level)
    breach_level = func.coalesce(c.breach_level, c.level)
    keys = [(level, drill) for level in Level for drill in (False, True)]
    open_by_level = dict.fromkeys(keys, 0)
    escalations = dict.fromkeys(keys, 0)
    breaches = dict.fromkeys(keys, 0)
    empty = Histogram(buckets=(*((b, 0) for b in TTA_BUCKETS), (math.inf, 0)), sum=0.0, count=0)
    histograms = dict.fromkeys(keys, empty)
    current = await conn.execute(
        select(
            c.level,
            c.drill,
            func.count(case((c.status != Status.RESOLVED.value, 1))),
            func.coalesce(func.sum(c.escalation_count), 0),
        ).group_by(c.level, c.drill)
    )
    for level_value, drill, n_open, n_escalations in current:
        key = (Level(level_value), bool(drill))
        open_by_level[key] = int(n_open)
        escalations[key] = int(n_escalations)
    breached = await conn.execute(
        select(breach_level, c.drill, func.count())
        .where(c.window_breached.is_(True))
        .group_by(breach_level, c.drill)
    )
    for level_value, drill, n in breached:
        breaches[Level(level_value), bool(drill)] = int(n)
    # COUNT ignores the NULL that CASE yields when the condition is false.
    bucket_columns = [func.count(case((tta <= bound, 1))) for bound in TTA_BUCKETS]
    acked = await conn.execute(
        select(
            ack_level, c.drill, func.count(tta), func.coalesce(func.sum(tta), 0.0), *bucket_columns
        )
        .where(tta.is_not(None))
        .group_by(ack_level, c.drill)
    )
    for level_value, drill, n_acked, tta_sum, *cumulative in acked:
        histograms[Level(level_value), bool(drill)] = Histogram(
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
