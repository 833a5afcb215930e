"""Run a scenario (a declaration and what people did at which offsets) through the real
``IncidentWorkflow`` and its activities on Temporal's time-skipping server, with a notifier
that only records and a records database of its own: what the live system would have paged,
breached and set due, in seconds rather than hours."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from adapters.email import OutboxMailer
from adapters.records import RecordsStore
from adapters.webhooks import WebhookSender
from alerts.catalog import Catalog
from domain.errors import IncidentConflict, InvalidAction
from domain.models import Actor, Declaration, EventKind, Incident, NotificationKind, Recipient
from domain.notify import Notification
from domain.playbook import PlaybookSet
from playbooks.loader import load_accounts
from playbooks.roster import ShiftedRoster
from playbooks.templates import load_templates
from workflows.ids import (
    mint_incident_id,
    pager_workflow_id,
    review_workflow_id,
    statements_workflow_id,
    workflow_id,
)
from workflows.incident.client import IncidentService
from workflows.playtest.cases import Action, What, show
from workflows.playtest.timers import StalledClock, fired_by
from workflows.worker import Outbound, Workers, build_worker

_T = TypeVar("_T")

# The channel every recorded message would have gone through: the notifier stands in for
# Slack, the only paging channel a roster names today.
CHANNEL = "slack"
# What a message to a person asks of them, as a case names it.
_PERSONAL = {
    NotificationKind.PAGE: What.PAGED,
    NotificationKind.ESCALATION: What.PAGED,
    NotificationKind.BREACH: What.PAGED,
    NotificationKind.ENGAGE: What.ENGAGED,
    NotificationKind.NOTICE: What.INFORMED,
}


@dataclass(frozen=True, order=True)
class Happened:
    """One line of a timeline, at its offset from the declaration (whole seconds)."""

    at: timedelta
    what: What
    who: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Scenario:
    """An incident and what people did to it: a test case, or a recorded incident replayed."""

    title: str
    declaration: Declaration | None
    payload: dict[str, Any] | None
    actions: Sequence[Action]
    horizon: timedelta
    # Replaying a record: an acknowledgement by someone these playbooks did not reach by
    # then is not given (a test case applies every action as written).
    acks_need_a_page: bool = False
    # The instant the incident is declared at, for on-call schedules (the server's clock
    # cannot be set there); None: the server's own time.
    at: datetime | None = None


@dataclass
class Outcome:
    incident: Incident
    happened: list[Happened]
    # Actions not applied (an ack by someone never paged, or one the workflow refused), why.
    refused: list[str] = field(default_factory=list)
    escalations: int = 0


class Recorder:
    """A notifier that delivers nothing and keeps everything, bundles unpacked."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    async def send(self, notification: Notification) -> str | None:
        self.sent.append(notification)
        return None

    async def send_bundle(
        self, recipient: Recipient, pages: list[Notification], key: str
    ) -> str | None:
        self.sent.extend(pages)
        return None


def _seconds(delta: timedelta) -> timedelta:
    """Whole seconds, down: a timer's work runs a moment after its instant, never before."""
    return timedelta(seconds=int(delta.total_seconds()))


class Rehearsal:
    """Scenarios under one set of playbooks, one after another, on a worker of their own
    (``async with``). Everything a scenario started is terminated when it is over, so its
    timers never hold back the next one's clock; incidents never share an id, so the records
    and the recorder tell their notifications apart."""

    def __init__(
        self,
        env: WorkflowEnvironment,
        store: RecordsStore,
        playbooks_dir: Path,
        playbooks: PlaybookSet,
        catalog: Catalog,
        scratch: Path,
    ) -> None:
        self._env = env
        self._store = store
        self._dir = playbooks_dir
        self._playbooks = playbooks
        self._catalog = catalog
        self._scratch = scratch
        self._roster = ShiftedRoster(playbooks_dir)
        self._recorder = Recorder()
        self._task_queue = f"rehearsal-{uuid.uuid4()}"
        self._worker: Workers

    @property
    def playbooks(self) -> PlaybookSet:
        return self._playbooks

    async def __aenter__(self) -> Rehearsal:
        outbound = Outbound(
            mailer=OutboxMailer(self._scratch / "outbox"),
            webhooks=WebhookSender(allow_private=False),
            templates=load_templates(self._dir),
            accounts=load_accounts(self._dir),
            public_url="http://tocsin.invalid",
            playbooks=self._playbooks,
            catalog=self._catalog,
        )
        self._worker = build_worker(
            self._env.client,
            self._task_queue,
            self._store,
            self._recorder,
            self._roster,
            outbound,
            pages_first=False,
        )
        await self._worker.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._worker.__aexit__(None, None, None)

    async def run(self, scenario: Scenario) -> Outcome:
        """One scenario, on this rehearsal's worker (started once: a worker per scenario
        would spend more time starting and stopping than the scenario takes)."""
        service = self.service()
        incident = await self._declare(service, scenario)
        try:
            return await self._play(service, self._recorder, incident, scenario)
        finally:
            await self._end(incident, self._recorder, self._task_queue)

    async def _declare(
        self, service: IncidentService, scenario: Scenario, batch_at: datetime | None = None
    ) -> Incident:
        """With ``batch_at`` the incident counts from that instant: every incident of a batch
        does, so their timers fall due together and the server skips to each once."""
        now = batch_at or await self._env.get_current_time()
        if scenario.declaration is not None:
            # Placed before the declaration pages: its id is chosen here, not by the service.
            incident_id = mint_incident_id(now)
            self._roster.place(incident_id, now, scenario.at)
            incident = await (
                service.declare_at(scenario.declaration, incident_id, batch_at)
                if batch_at is not None
                else service.declare(scenario.declaration, incident_id)
            )
            self._roster.place(incident.id, incident.declared_at, scenario.at)
            return incident
        self._roster.default = scenario.at - now if scenario.at is not None else timedelta(0)
        try:
            opened = await service.raise_alerts(scenario.payload or {}, now)
            if opened is None:
                raise ValueError(f"{scenario.title}: the Alertmanager payload opens no incident")
            self._roster.place(opened.id, opened.declared_at, scenario.at)
            await _settle(self._recorder)  # the opening pages, still under the default
        finally:
            self._roster.default = timedelta(0)
        return opened

    async def _play(
        self, service: IncidentService, recorder: Recorder, incident: Incident, scenario: Scenario
    ) -> Outcome:
        start = incident.declared_at
        refused: list[str] = []
        for action in sorted(scenario.actions, key=lambda a: a.at):
            await self._advance_to(start + action.at)
            await self._act(service, incident, scenario, action, refused, start + action.at)
        # Pages that follow within a bundle window go out when it closes: wait that long too.
        await self._advance_to(start + scenario.horizon + self._after_horizon())
        await _settle(recorder)
        return await self._outcome(service, incident, refused)

    def _after_horizon(self) -> timedelta:
        return self._roster.current().paging.bundle_window + timedelta(seconds=1)

    async def _act(
        self,
        service: IncidentService,
        incident: Incident,
        scenario: Scenario,
        action: Action,
        refused: list[str],
        at: datetime,
    ) -> None:
        """One action, once the clock is at ``at`` and the incident's timers set for then (or
        less than ``BATCH_TOLERANCE`` later, or due while it applies) have fired: at one instant,
        timers go first (ADR 0028); why it was not applied, if not."""
        await self._timers_first(incident, at)
        if action.ack and scenario.acks_need_a_page:
            await _settle(self._recorder)
            if not _reached(self._recorder, incident.id, action.by):
                refused.append(
                    f"{action.by} acknowledged at {show(action.at)}, but was not paged "
                    "by then: counted as not given"
                )
                return
        await self._timers_first(incident, at)  # the clock ran on while the pages settled
        try:
            await _apply(service, incident.id, action)
        except (IncidentConflict, InvalidAction) as exc:
            refused.append(f"{show(action.at)} {action.what} by {action.by}: {exc}")

    async def _timers_first(self, incident: Incident, at: datetime) -> None:
        handle = self._env.client.get_workflow_handle(workflow_id(incident.id))
        await fired_by(handle, at + BATCH_TOLERANCE, self._env.get_current_time)

    async def _outcome(
        self, service: IncidentService, incident: Incident, refused: list[str]
    ) -> Outcome:
        final = await self._final(service, incident)
        happened = await self._timeline(final, self._recorder, incident.declared_at)
        timeline = await self._store.timeline(final.id)
        escalations = sum(1 for e in timeline if e.kind is EventKind.ESCALATED)
        return Outcome(final, happened, refused, escalations)

    async def _final(self, service: IncidentService, incident: Incident) -> Incident:
        """The incident as its workflow left it. A closed workflow's result is that state
        already: querying it would replay its whole history on the worker, the dearest step of
        a batch's end. Time must not skip meanwhile (other workflows of the batch still hold
        timers), so the wait for the result does not unlock it; it is over already."""
        handle = self._env.client.get_workflow_handle(
            workflow_id(incident.id), result_type=Incident
        )
        described = await handle.describe()
        if described.status is not WorkflowExecutionStatus.COMPLETED:
            return await service.current(incident.id)
        with self._env.auto_time_skipping_disabled():
            final: Incident = await handle.result()
        return final

    async def run_many(self, scenarios: Sequence[Scenario]) -> list[Outcome]:
        """Scenarios side by side on the one clock (``side_by_side``)."""
        [outcomes] = await Rehearsal.side_by_side([(self, scenarios)])
        return outcomes

    @staticmethod
    async def side_by_side(
        runs: Sequence[tuple[Rehearsal, Sequence[Scenario]]],
    ) -> list[list[Outcome]]:
        """Scenarios side by side on the one clock (ADR 0028), each run under its own rehearsal's
        playbooks (what-if's two sides of one batch go together, so the clock stops at each
        instant once for both): declared together, then every action applied when the clock
        reaches its incident's declaration plus its offset, instant after instant, so time skips
        only between them and no scenario's timers run past another's action. Actions less than
        ``BATCH_TOLERANCE`` apart share an instant: the latest of them (declarations of one batch
        are a moment apart). At an instant, the timers each incident set for it fire first, then
        its actions apply (``Rehearsal._act``). The rehearsals must share a stage."""
        env = runs[0][0]._env
        services = [rehearsal.service() for rehearsal, _ in runs]
        scenarios = [s for _, run in runs for s in run]
        owner = [
            (r, service) for (r, run), service in zip(runs, services, strict=True) for _ in run
        ]
        batch_at = await env.get_current_time()
        incidents = await _bounded(
            r._declare(service, s, batch_at)
            for (r, service), s in zip(owner, scenarios, strict=True)
        )
        refused: list[list[str]] = [[] for _ in scenarios]
        try:
            for group in _instants(incidents, scenarios):
                instant = max(at for at, _, _ in group)
                await runs[0][0]._advance_to(instant)
                await _bounded(
                    owner[i][0]._act(
                        owner[i][1], incidents[i], scenarios[i], a, refused[i], instant
                    )
                    for _, i, a in group
                )
            end = max(i.declared_at + s.horizon for i, s in zip(incidents, scenarios, strict=True))
            await runs[0][0]._advance_to(end + max(r._after_horizon() for r, _ in runs))
            for rehearsal, _ in runs:
                await _settle(rehearsal._recorder)
            outcomes = await _bounded(
                r._outcome(service, incident, refused[i])
                for i, ((r, service), incident) in enumerate(zip(owner, incidents, strict=True))
            )
        finally:
            for (rehearsal, _), mine in zip(runs, _split(incidents, runs), strict=True):
                await rehearsal._end_all(mine, rehearsal._recorder, rehearsal._task_queue)
        return _split(outcomes, runs)

    def service(self) -> IncidentService:
        return IncidentService(
            self._env.client, self._task_queue, self._playbooks, catalog=self._catalog
        )

    async def _advance_to(self, at: datetime) -> None:
        now = await self._env.get_current_time()
        if at > now:
            try:
                await self._env.sleep(at - now)
            except RPCError as exc:
                # A stopped workflow task keeps the server from skipping time (ADR 0028), so
                # the skip runs at the wall clock's pace and its call times out.
                raise StalledClock(at - now) from exc

    async def _timeline(
        self, incident: Incident, recorder: Recorder, start: datetime
    ) -> list[Happened]:
        found: set[Happened] = set()
        for n in recorder.sent:
            what = _PERSONAL.get(n.kind)
            if what is None or n.recipient is None or n.incident.id != incident.id:
                continue
            found.add(
                Happened(_seconds(n.event.at - start), what, n.recipient.person.name, CHANNEL)
            )
        for event in await self._store.timeline(incident.id):
            if event.kind is EventKind.BREACHED:
                found.add(Happened(_seconds(event.at - start), What.BREACHED))
        for message in await self._store.statements.of_incident(incident.id):
            if message.due_at is not None:
                found.add(Happened(_seconds(message.due_at - start), What.STATEMENT_DUE))
        review = await self._store.reviews.of_incident(incident.id)
        if review is not None and review.due_at is not None:
            found.add(Happened(_seconds(review.due_at - start), What.REVIEW_DUE))
        return sorted(found, key=lambda h: (h.at, h.what, h.who or ""))

    async def _end(self, incident: Incident, recorder: Recorder, task_queue: str) -> None:
        """Terminate whatever the scenario left running: the incident, its statements and
        review, and the pager of everyone it reached."""
        await self._end_all([incident], recorder, task_queue)

    async def _end_all(
        self, incidents: Sequence[Incident], recorder: Recorder, task_queue: str
    ) -> None:
        ids = {
            wid
            for incident in incidents
            for wid in (
                workflow_id(incident.id),
                statements_workflow_id(incident.id),
                review_workflow_id(incident.id),
            )
        }
        ids |= {pager_workflow_id(task_queue, n.recipient) for n in recorder.sent if n.recipient}
        await _bounded(self._terminate(wid) for wid in sorted(ids))

    async def _terminate(self, wid: str) -> None:
        with contextlib.suppress(RPCError):
            await self._env.client.get_workflow_handle(wid).terminate("rehearsal over")


# Actions of a batch this close together are applied at one instant, the latest of them;
# a timer set for less than this after an action's instant fires before it.
BATCH_TOLERANCE = timedelta(seconds=1)
# Calls to the server in flight at once from one batch.
_IN_FLIGHT = 64


def _instants(
    incidents: Sequence[Incident], scenarios: Sequence[Scenario]
) -> list[list[tuple[datetime, int, Action]]]:
    """Every action of the batch at its instant, grouped: each group within
    ``BATCH_TOLERANCE`` of its first, groups in order of time."""
    steps = sorted(
        ((incident.declared_at + action.at, i, j), action)
        for i, (incident, scenario) in enumerate(zip(incidents, scenarios, strict=True))
        for j, action in enumerate(sorted(scenario.actions, key=lambda a: a.at))
    )
    groups: list[list[tuple[datetime, int, Action]]] = []
    for (at, i, _), action in steps:
        if not groups or at - groups[-1][0][0] > BATCH_TOLERANCE:
            groups.append([])
        groups[-1].append((at, i, action))
    return groups


async def _bounded(calls: Iterable[Awaitable[_T]], limit: int = _IN_FLIGHT) -> list[_T]:
    """The calls, at most ``limit`` at once, their results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(call: Awaitable[_T]) -> _T:
        async with gate:
            return await call

    return list(await asyncio.gather(*(one(c) for c in calls)))


def _split(
    items: Sequence[_T], runs: Sequence[tuple[Rehearsal, Sequence[Scenario]]]
) -> list[list[_T]]:
    """``items`` (one per scenario of every run, in order) back into one list per run."""
    parts: list[list[_T]] = []
    first = 0
    for _, run in runs:
        parts.append(list(items[first : first + len(run)]))
        first += len(run)
    return parts


def _reached(recorder: Recorder, incident_id: str, name: str) -> bool:
    return any(
        n.incident.id == incident_id
        and n.recipient is not None
        and n.recipient.person.name == name
        and _PERSONAL.get(n.kind) in (What.PAGED, What.ENGAGED)
        for n in recorder.sent
    )


async def _apply(service: IncidentService, incident_id: str, action: Action) -> None:
    by = Actor(name=action.by)
    if action.ack:
        await service.acknowledge(incident_id, by)
    elif action.level is not None:
        await service.change_level(incident_id, action.level, "level changed", by)
    elif action.update is not None:
        await service.post_update(incident_id, action.update, by)
    elif action.mitigate:
        await service.mitigate(incident_id, by)
    else:
        await service.resolve(incident_id, by)


async def _settle(recorder: Recorder) -> None:
    """Background activities (pages, records) finish in real time after the clock moved:
    wait until nothing new has been sent for a few polls."""
    quiet, seen = 0, -1
    while quiet < 4:
        await asyncio.sleep(0.05)
        quiet = quiet + 1 if len(recorder.sent) == seen else 0
        seen = len(recorder.sent)
