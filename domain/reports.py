"""Response reports and the quarterly digest, as pure functions over incident records.

Every figure counts from declaration (the moment tocsin knew), and under the level that held
at the moment it is about: an acknowledgement under the level in force when it came, a
breach under the level whose window it breached; the count, resolution time and statement
breaches under the incident's level as it ended. Drills are left out unless asked for.
The README lists these definitions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from domain.models import Function, Incident, IncidentType, Level, Source, Status
from domain.reviews import ActionItem, Review, ReviewStatus

DEFINITIONS: dict[str, str] = {
    "month": "the month (UTC) the incident was declared in",
    "count": "incidents declared, under their level as it ended",
    "acknowledged": "incidents acknowledged, under the level in force when acknowledged",
    "mtta_seconds": "mean time from declaration to acknowledgement, of those acknowledged",
    "mttr_seconds": "mean time from declaration to resolution, of those resolved",
    "within_window_ratio": (
        "acknowledged within the response window, out of the incidents the window judged "
        "(acknowledged, or breached unacknowledged), under the level of that moment"
    ),
    "breaches": "response windows breached, under the level whose window it was",
    "statement_breaches": "statements for customers not approved by their due time",
    "cleared_by_alerts": (
        "incidents mitigated or resolved by their alerts clearing with nobody acknowledging; "
        "counted apart, not as acknowledged"
    ),
    "partner_within_target_ratio": (
        "external partners that acknowledged within their own respond_within, out of the "
        "engagements their target judged (acknowledged, or past it unanswered), under the "
        "level in force when each was engaged; counted apart from the response window"
    ),
    "drills": "left out unless drill=true is asked for",
}


@dataclass
class ResponseRow:
    level: Level
    month: str  # YYYY-MM, of declaration (UTC)
    count: int = 0
    acknowledged: int = 0
    within_window: int = 0
    decided_by_window: int = 0  # acknowledged or breached: those the window judged
    breaches: int = 0
    statement_breaches: int = 0
    cleared_by_alerts: int = 0
    partners_within_target: int = 0
    partners_judged: int = 0  # acknowledged, or past their target unanswered
    _ack_seconds: list[float] = field(default_factory=list, repr=False)
    _resolve_seconds: list[float] = field(default_factory=list, repr=False)

    @property
    def mtta_seconds(self) -> float | None:
        return sum(self._ack_seconds) / len(self._ack_seconds) if self._ack_seconds else None

    @property
    def mttr_seconds(self) -> float | None:
        values = self._resolve_seconds
        return sum(values) / len(values) if values else None

    @property
    def within_window_ratio(self) -> float | None:
        if not self.decided_by_window:
            return None
        return self.within_window / self.decided_by_window

    @property
    def partner_within_target_ratio(self) -> float | None:
        if not self.partners_judged:
            return None
        return self.partners_within_target / self.partners_judged


def month_of(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m}"


def cleared_by_alerts(incident: Incident) -> bool:
    """Mitigated or resolved by its alerts clearing, with nobody acknowledging it."""
    return (
        incident.source is Source.ALERTMANAGER
        and incident.acknowledged_at is None
        and (incident.mitigated_at is not None or incident.status is Status.RESOLVED)
    )


def response_rows(
    incidents: Iterable[Incident],
    statement_breaches: Mapping[str, int],
    *,
    drills: bool = False,
) -> list[ResponseRow]:
    """Rows by level and month of declaration, most serious level first, oldest month first."""
    rows: dict[tuple[Level, str], ResponseRow] = {}

    def row(level: Level, month: str) -> ResponseRow:
        return rows.setdefault((level, month), ResponseRow(level, month))

    for incident in incidents:
        if incident.drill and not drills:
            continue
        month = month_of(incident.declared_at)
        final = row(incident.level, month)
        final.count += 1
        final.statement_breaches += statement_breaches.get(incident.id, 0)
        if cleared_by_alerts(incident):
            final.cleared_by_alerts += 1
        if incident.resolved_at is not None:
            final._resolve_seconds.append(
                (incident.resolved_at - incident.declared_at).total_seconds()
            )
        if incident.acknowledged_at is not None:
            at_ack = row(incident.ack_level or incident.level, month)
            at_ack.acknowledged += 1
            at_ack.decided_by_window += 1
            at_ack._ack_seconds.append(
                (incident.acknowledged_at - incident.declared_at).total_seconds()
            )
            if incident.acknowledged_within_window:
                at_ack.within_window += 1
        if incident.window_breached:
            at_breach = row(incident.breach_level or incident.level, month)
            at_breach.breaches += 1
            if incident.acknowledged_at is None:
                at_breach.decided_by_window += 1
        for response in incident.partners:
            judged = response.within_target
            if judged is not None:
                at_engagement = row(response.level, month)
                at_engagement.partners_judged += 1
                at_engagement.partners_within_target += judged
    order = {Level.A: 0, Level.B: 1, Level.C: 2}
    return sorted(rows.values(), key=lambda r: (order[r.level], r.month))


# ------------------------------------------------------------------------------ quarter


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int  # 1..4

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """``2026Q4``; ValueError otherwise."""
        year, sep, number = text.strip().upper().partition("Q")
        if not sep or not year.isdigit() or number not in ("1", "2", "3", "4"):
            raise ValueError(f"{text!r} is not a quarter like 2026Q4")
        if not 1970 <= int(year) <= 9998:
            raise ValueError(f"{text!r}: the year must be between 1970 and 9998")
        return cls(int(year), int(number))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, 3 * (self.number - 1) + 1, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        if self.number == 4:
            return datetime(self.year + 1, 1, 1, tzinfo=UTC)
        return datetime(self.year, 3 * self.number + 1, 1, tzinfo=UTC)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


@dataclass
class Digest:
    quarter: Quarter
    by_level_and_type: dict[tuple[Level, IncidentType], int]
    response: list[ResponseRow]
    window_breaches: int
    statement_breaches: int
    top_causes: list[tuple[str, int]]
    repeat_services: list[tuple[str, int]]
    open_actions: list[ActionItem]
    overdue_actions: list[ActionItem]
    reviews_published: int
    reviews_missing: int
    leadership_incidents: list[str]
    drills: list[dict[str, object]] = field(default_factory=list)


def digest(
    quarter: Quarter,
    incidents: Sequence[Incident],
    statement_breaches: Mapping[str, int],
    reviews: Sequence[Review],
    actions: Sequence[ActionItem],
    now: datetime,
    drills: Sequence[dict[str, object]] = (),
) -> Digest:
    real = [i for i in incidents if not i.drill and quarter.start <= i.declared_at < quarter.end]
    ids = {i.id for i in real}
    by_type: Counter[tuple[Level, IncidentType]] = Counter((i.level, i.type) for i in real)
    published = [r for r in reviews if r.incident_id in ids and r.status is ReviewStatus.PUBLISHED]
    causes = Counter((r.cause_category or "unclassified").strip().lower() for r in published)
    services = Counter(i.service for i in real if i.service)
    mine = [a for a in actions if a.incident_id in ids]
    return Digest(
        quarter=quarter,
        by_level_and_type=dict(by_type),
        response=response_rows(real, statement_breaches),
        window_breaches=sum(1 for i in real if i.window_breached),
        statement_breaches=sum(statement_breaches.get(i, 0) for i in ids),
        top_causes=causes.most_common(5),
        repeat_services=[(s, n) for s, n in services.most_common() if n > 1],
        open_actions=[a for a in mine if a.status.is_open],
        overdue_actions=[a for a in mine if a.overdue(now)],
        reviews_published=len(published),
        reviews_missing=sum(1 for i in real if i.status is Status.RESOLVED) - len(published),
        leadership_incidents=sorted(
            i.id for i in real if any(p.function is Function.LEADERSHIP for p in i.paged)
        ),
        drills=list(drills),
    )
