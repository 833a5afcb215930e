"""What-if: replay recorded incidents under the playbooks in force today and under candidate
playbooks, and put the two outcomes side by side.

Each incident is declared with its recorded level, type and service, and its recorded
acknowledgements, level changes, updates and resolution are applied at their recorded offsets
by the same people. A person who acknowledged but would not have been paged by the playbooks
replayed is not counted as acknowledging: the report says so."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from adapters.records import RecordsStore
from alerts.catalog import Catalog
from domain.errors import WhatIfFailed
from domain.models import Actor, Declaration, EventKind, Incident, Level, TimelineEvent
from domain.playbook import PlaybookSet
from domain.whatif import (
    IncidentWhatIf,
    PageAt,
    Replay,
    Side,
    Total,
    Totals,
    WhatIfReport,
    WhatIfRequest,
)
from playbooks.base import PlaybookError
from playbooks.loader import load_playbooks
from workflows.playtest.cases import Action, What
from workflows.playtest.runner import Outcome, Rehearsal, Scenario
from workflows.playtest.stage import stage
from workflows.playtest.timers import StalledClock

# Incidents replayed side by side on one clock, under both playbook sets at once (each set on
# a worker and pagers of its own). With 200 under one set, one instant's pages to one person
# took longer to arrive than the pager's bundle window, and the time-skipping server's timer
# defect stopped the pager (ADR 0028).
BATCH = 100


def _offset(event: TimelineEvent, start: datetime) -> timedelta:
    return max(event.at - start, timedelta(0))


def actions_of(incident: Incident, timeline: Sequence[TimelineEvent]) -> list[Action]:
    """What people did to the incident, as offsets from its declaration."""
    start = incident.declared_at
    actions: list[Action] = []
    for e in timeline:
        by = e.actor or "tocsin"
        at = _offset(e, start)
        if e.kind is EventKind.ACKNOWLEDGED:
            actions.append(Action(at=at, by=by, ack=True))
        elif e.kind is EventKind.LEVEL_CHANGED:
            actions.append(Action(at=at, by=by, level=Level(e.data["to"])))
        elif e.kind is EventKind.UPDATE_POSTED:
            actions.append(Action(at=at, by=by, update=e.text or "update"))
        elif e.kind is EventKind.MITIGATED:
            actions.append(Action(at=at, by=by, mitigate=True))
        elif e.kind is EventKind.RESOLVED:
            actions.append(Action(at=at, by=by, resolve=True))
    return actions


def first_level(incident: Incident, timeline: Sequence[TimelineEvent]) -> Level:
    for e in timeline:
        if e.kind is EventKind.DECLARED and "level" in e.data:
            return Level(e.data["level"])
    return incident.level


def scenario_of(
    incident: Incident, timeline: Sequence[TimelineEvent], longest_window: timedelta
) -> Scenario:
    actions = actions_of(incident, timeline)
    last = max((_offset(e, incident.declared_at) for e in timeline), default=timedelta(0))
    # Long enough to see a breach the recorded actions would have missed.
    horizon = max(last, longest_window)
    return Scenario(
        title=incident.title,
        declaration=Declaration(
            title=incident.title,
            level=first_level(incident, timeline),
            type=incident.type,
            service=incident.service,
            declared_by=Actor(name="what-if"),
        ),
        payload=None,
        actions=actions,
        horizon=horizon,
        acks_need_a_page=True,
        at=incident.declared_at,  # schedules decide at the recorded instant
    )


def _approved_at(timeline: Sequence[TimelineEvent], start: datetime) -> list[timedelta]:
    return sorted(_offset(e, start) for e in timeline if e.kind is EventKind.STATEMENT_APPROVED)


def side_of(outcome: Outcome, approvals: list[timedelta]) -> Side:
    pages = [h for h in outcome.happened if h.what is What.PAGED and h.who]
    first: dict[str, timedelta] = {}
    for h in pages:
        if h.who is not None and h.who not in first:
            first[h.who] = h.at
    due = sorted(h.at for h in outcome.happened if h.what is What.STATEMENT_DUE)
    # A statement's deadline is met when the recorded approval of the same rank came by then.
    met = sum(1 for i, at in enumerate(due) if i < len(approvals) and approvals[i] <= at)
    inc = outcome.incident
    return Side(
        paged=[PageAt(who=w, at_seconds=int(t.total_seconds())) for w, t in first.items()],
        acknowledged_within_window=inc.acknowledged_at is not None and not inc.window_breached,
        breaches=sum(1 for h in outcome.happened if h.what is What.BREACHED),
        escalation_steps=outcome.escalations,
        pages_per_person=dict(Counter(h.who for h in pages if h.who)),
        statements_due=len(due),
        statements_met=met,
        acks_not_given=outcome.refused,
    )


def total_of(sides: Sequence[Side]) -> Total:
    load: Counter[str] = Counter()
    for side in sides:
        load.update(side.pages_per_person)
    return Total(
        incidents=len(sides),
        acknowledged_within_window=sum(s.acknowledged_within_window for s in sides),
        breaches=sum(s.breaches for s in sides),
        escalation_steps=sum(s.escalation_steps for s in sides),
        pages=sum(load.values()),
        pages_per_person=dict(sorted(load.items())),
        statements_due=sum(s.statements_due for s in sides),
        statements_met=sum(s.statements_met for s in sides),
        acks_not_given=sum(len(s.acks_not_given) for s in sides),
    )


class NoIncidents(ValueError):
    pass


async def recorded(store: RecordsStore, request: WhatIfRequest) -> list[Incident]:
    found = await store.incidents_declared(request.since, request.until, drill=False)
    if request.level is not None:
        found = [i for i in found if i.level is request.level]
    return found


def _longest(playbooks: PlaybookSet) -> timedelta:
    return max(p.response_window for p in playbooks.levels.values())


async def what_if(
    records: RecordsStore,
    request: WhatIfRequest,
    today: tuple[Path, PlaybookSet],
    candidate: tuple[Path, PlaybookSet],
    test_server: Path,
    catalog: Catalog,
    progress: Callable[[Incident], None] = lambda _: None,
    batch: int = BATCH,
) -> WhatIfReport:
    """``batch`` incidents at a time share the clock under both playbook sets
    (``Rehearsal.side_by_side``): a second per incident one after another, a small fraction of that
    side by side (ADR 0028)."""
    incidents = await recorded(records, request)
    if not incidents:
        raise NoIncidents(describe_range(request) + ": no incidents recorded")
    longest = max(_longest(today[1]), _longest(candidate[1]))
    rows: list[IncidentWhatIf] = []
    async with (
        stage(test_server, catalog) as on,
        on.under(*today) as now,
        on.under(*candidate) as then,
    ):
        for first in range(0, len(incidents), batch):
            chunk = incidents[first : first + batch]
            for incident in chunk:
                progress(incident)
            timelines = {i.id: await records.timeline(i.id) for i in chunk}
            rows += await _replay_batch(chunk, timelines, longest, now, then)
    return WhatIfReport(
        since=request.since,
        until=request.until,
        level=request.level,
        incidents=rows,
        totals=Totals(
            today=total_of([r.today for r in rows]),
            candidate=total_of([r.candidate for r in rows]),
        ),
    )


async def _replay_batch(
    incidents: Sequence[Incident],
    timelines: Mapping[str, Sequence[TimelineEvent]],
    longest: timedelta,
    today: Rehearsal,
    candidate: Rehearsal,
) -> list[IncidentWhatIf]:
    scenarios = [scenario_of(i, timelines.get(i.id, []), longest) for i in incidents]
    now, then = await Rehearsal.side_by_side([(today, scenarios), (candidate, scenarios)])
    rows = []
    for incident, scenario, a, b in zip(incidents, scenarios, now, then, strict=True):
        approvals = _approved_at(timelines.get(incident.id, []), incident.declared_at)
        rows.append(
            IncidentWhatIf(
                id=incident.id,
                title=incident.title,
                level=scenario.declaration.level if scenario.declaration else incident.level,
                declared_at=incident.declared_at,
                today=side_of(a, approvals),
                candidate=side_of(b, approvals),
            )
        )
    return rows


def describe_range(request: WhatIfRequest) -> str:
    until = f" until {request.until:%Y-%m-%d %H:%M}" if request.until else ""
    level = f", level {request.level}" if request.level else ""
    return f"since {request.since:%Y-%m-%d %H:%M}{until}{level}"


def replayer(database_url: str, today_dir: Path, test_server: Path, catalog: Catalog) -> Replay:
    """The replay a worker runs for ``POST /api/v1/playbooks/what-if``: today's playbooks as
    the worker has them, the candidate directory as the request names it."""

    async def replay(request: WhatIfRequest, playbooks: str) -> WhatIfReport:
        today = _loaded(today_dir, "today's playbooks")
        # The API validated the candidate; it can have changed on disk since.
        candidate = _loaded(Path(playbooks), "the candidate playbooks")
        store = RecordsStore.from_url(database_url)
        try:
            return await what_if(store, request, today, candidate, test_server, catalog)
        except StalledClock as exc:
            # The server's defect strikes at random instants: another attempt can finish.
            raise WhatIfFailed(str(exc), again=True) from exc
        except NoIncidents as exc:
            return WhatIfReport(
                since=request.since,
                until=request.until,
                level=request.level,
                totals=Totals(today=Total(), candidate=Total()),
                note=str(exc),
            )
        finally:
            await store.close()

    return replay


def _loaded(directory: Path, which: str) -> tuple[Path, PlaybookSet]:
    try:
        return directory, load_playbooks(directory)
    except PlaybookError as exc:
        problems = "; ".join(exc.problems)
        raise WhatIfFailed(
            f"{which} ({directory}) do not validate: {problems}", again=False
        ) from exc
