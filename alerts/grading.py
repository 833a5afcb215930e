"""Grading an alert into level A, B or C (DESIGN.md §1).

An explicit ``level`` label wins. Otherwise the weighted score decides:
affected users 0.4, business criticality 0.3, timeliness 0.2, exposure 0.1, each factor in
[0, 1]. The score is computed in both cases and recorded with every factor and the rule that
decided, so a responder can see why the incident got its level.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from alerts.catalog import Catalog, Exposure
from alerts.models import Alert, AlertStatus
from domain.durations import humanize
from domain.models import GradeFactor, Grading, IncidentType, Level

WEIGHTS: Mapping[str, float] = {
    "affected_users": 0.4,
    "criticality": 0.3,
    "timeliness": 0.2,
    "exposure": 0.1,
}

LEVEL_LABEL = "level"
TYPE_LABEL = "type"
SERVICE_LABEL = "service"


def weighted_score(values: Mapping[str, float]) -> float:
    """The weighted sum of factor values, each clamped to [0, 1]; rounded so that the same
    alert always yields the same recorded score."""
    total = sum(WEIGHTS[name] * _clamp(values.get(name, 0.0)) for name in WEIGHTS)
    return round(min(1.0, max(0.0, total)), 4)


def level_for(score: float, catalog: Catalog) -> Level:
    if score >= catalog.thresholds.A:
        return Level.A
    if score >= catalog.thresholds.B:
        return Level.B
    return Level.C


def incident_type(alert: Alert, catalog: Catalog) -> tuple[IncidentType, str | None]:
    """The ``type`` label if it names a known type, else the service's default type."""
    service, _ = catalog.lookup(alert.labels.get(SERVICE_LABEL))
    raw = alert.labels.get(TYPE_LABEL)
    if raw is None:
        return service.default_type, None
    try:
        return IncidentType(raw), None
    except ValueError:
        known = ", ".join(t.value for t in IncidentType)
        return service.default_type, (
            f"type label {raw!r} ignored: not one of {known}; "
            f"used the service default {service.default_type.value}"
        )


def grade(alert: Alert, catalog: Catalog, now: datetime) -> Grading:
    notes: list[str] = []
    service_name = alert.labels.get(SERVICE_LABEL)
    service, known = catalog.lookup(service_name)
    if not known:
        notes.append(
            f"service {service_name!r} is not in the service catalog; used its defaults"
            if service_name
            else "no service label; used the service catalog's defaults"
        )
    kind, type_note = incident_type(alert, catalog)
    if type_note:
        notes.append(type_note)

    factors = [
        _affected_users(alert, catalog, service.user_base, notes),
        _factor(
            "criticality",
            service.criticality.coefficient,
            f"{service_name or 'unknown service'} is {service.criticality.value}",
        ),
        _timeliness(alert, now, service.usual_handling_time),
        _exposure(alert, kind, service.exposure, notes),
    ]
    score = weighted_score({f.name: f.value for f in factors})
    level, rule = level_for(score, catalog), "score"

    raw_level = alert.labels.get(LEVEL_LABEL)
    if raw_level is not None:
        try:
            level, rule = Level(raw_level.strip().upper()), "label"
        except ValueError:
            notes.append(f"level label {raw_level!r} ignored: not one of A, B, C; graded by score")
    return Grading(
        level=level,
        rule=rule,
        score=score,
        factors=factors,
        thresholds={"A": catalog.thresholds.A, "B": catalog.thresholds.B},
        alert=alert.name,
        notes=notes,
    )


def most_serious(gradings: Iterable[Grading]) -> Grading | None:
    """The grading that sets the incident's level: highest level, then highest score."""
    return max(gradings, key=lambda g: (g.level.rank, g.score), default=None)


def grade_firing(alerts: Iterable[Alert], catalog: Catalog, now: datetime) -> list[Grading]:
    return [grade(a, catalog, now) for a in alerts if a.status is AlertStatus.FIRING]


# --------------------------------------------------------------------------------- factors


def _factor(name: str, value: float, basis: str) -> GradeFactor:
    value = _clamp(value)
    weight = WEIGHTS[name]
    return GradeFactor(
        name=name,
        weight=weight,
        value=round(value, 4),
        contribution=round(weight * value, 4),
        basis=basis,
    )


def _affected_users(
    alert: Alert, catalog: Catalog, user_base: int, notes: list[str]
) -> GradeFactor:
    total = catalog.total_users
    count = _number(alert.labels.get("affected_users"), "affected_users", notes, upper=None)
    if count is not None:
        return _factor("affected_users", count / total, f"{count:,.0f} of {total:,} users")
    ratio = _number(alert.labels.get("affected_ratio"), "affected_ratio", notes, upper=1.0)
    if ratio is not None:
        affected = ratio * user_base
        return _factor(
            "affected_users",
            affected / total,
            f"{ratio:.0%} of the service's {user_base:,} users, of {total:,}",
        )
    return _factor(
        "affected_users",
        user_base / total,
        f"all {user_base:,} users of the service assumed affected, of {total:,}",
    )


def _timeliness(alert: Alert, now: datetime, usual: timedelta) -> GradeFactor:
    lasted = max(timedelta(0), now - alert.startsAt)
    return _factor(
        "timeliness",
        lasted / usual if usual > timedelta(0) else 1.0,
        f"firing for {humanize(lasted)} of a usual {humanize(usual)}",
    )


def _exposure(alert: Alert, kind: IncidentType, default: Exposure, notes: list[str]) -> GradeFactor:
    raw = alert.labels.get("exposure")
    if raw is not None:
        try:
            exposure = Exposure(raw)
            return _factor("exposure", exposure.coefficient, f"exposure label {exposure.value}")
        except ValueError:
            known = ", ".join(e.value for e in Exposure)
            notes.append(f"exposure label {raw!r} ignored: not one of {known}")
    if kind is IncidentType.DATA_LEAK:
        return _factor("exposure", Exposure.DATA.coefficient, "a data-leak incident")
    return _factor("exposure", default.coefficient, f"the service catalog says {default.value}")


def _number(raw: str | None, name: str, notes: list[str], upper: float | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if math.isnan(value) or value < 0 or (upper is not None and value > upper):
        bound = f"between 0 and {upper:g}" if upper is not None else "a number of users"
        notes.append(f"{name} label {raw!r} ignored: not {bound}")
        return None
    return value


def _clamp(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, value))
