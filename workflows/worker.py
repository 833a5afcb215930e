"""The tocsin worker: runs incident workflows and their activities."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import temporalio.workflow
from prometheus_client import start_http_server
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.worker import (
    FixedSizeSlotSupplier,
    PollerBehaviorSimpleMaximum,
    UnsandboxedWorkflowRunner,
    Worker,
    WorkerTuner,
    WorkflowRunner,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from adapters.acklinks import AckLinks
from adapters.console import ConsoleNotifier
from adapters.email import Mailer, OutboxMailer, SmtpMailer
from adapters.heap import HeapTrimmer, glibc_trim
from adapters.records import RecordsStore, migrate
from adapters.slack.client import REGISTRY as SLACK_METRICS
from adapters.slack.client import SlackApi
from adapters.slack.notifier import SlackNotifier
from adapters.webhooks import WebhookSender
from alerts.catalog import Catalog, load_catalog
from domain.notify import DirectMessenger, Notifier
from domain.playbook import KeyAccounts, PlaybookSet
from domain.whatif import Replay
from playbooks.loader import (
    load_accounts,
    load_heartbeats,
    load_playbooks,
    load_slack_channels,
)
from playbooks.roster import RosterSource
from playbooks.templates import Templates, load_templates
from workflows.announcements.activities import AnnouncementActivities
from workflows.announcements.workflow import ConfirmSubscriptionWorkflow, MaintenanceWorkflow
from workflows.config import WorkerConfig
from workflows.connect import connect_with_retry
from workflows.drills.activities import DrillActivities
from workflows.drills.workflow import DrillWorkflow
from workflows.fanout import Fanout
from workflows.heartbeats.activities import HeartbeatActivities
from workflows.heartbeats.client import start_monitors
from workflows.heartbeats.workflow import HeartbeatWorkflow
from workflows.incident.activities import IncidentActivities
from workflows.incident.client import IncidentService
from workflows.incident.workflow import IncidentWorkflow
from workflows.liveness import Heartbeating
from workflows.oncall.activities import OnCallActivities
from workflows.oncall.client import watch_schedules
from workflows.oncall.workflow import HandoffWorkflow
from workflows.pager.activities import PageChannels, PagerActivities
from workflows.pager.workflow import PagerWorkflow
from workflows.queues import paging_queue
from workflows.reviews.activities import ReviewActivities
from workflows.reviews.workflow import ActionItemWorkflow, ReviewWorkflow
from workflows.slots import MOST_PAPERWORK, CountingPages, EagerPages, PageWork, Paperwork
from workflows.statements.activities import StatementActivities
from workflows.statements.workflow import StatementsWorkflow
from workflows.whatif.activities import WhatIfActivities
from workflows.whatif.workflow import WhatIfWorkflow

log = logging.getLogger(__name__)

# One package each under workflows/: a workflow, its activities, client and models.
PROCESSES = (
    "incident", "pager", "statements", "announcements", "reviews", "drills", "whatif", "oncall",
    "heartbeats",
)  # fmt: skip

# In the strict sandbox the workflow module itself is re-imported for every run, so the
# sandbox guards it against the clock, randomness and I/O. What it imports is plain data and
# pure functions: passing those through spares re-importing pydantic models per run.
_PASSTHROUGH = (
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "domain",
    "workflows.ids",
    "workflows.protocol",
    "workflows.retry",
    "workflows.queues",
    *(f"workflows.{process}.models" for process in PROCESSES),
)


def keep_bytecode(cache: Path) -> None:
    """The sandbox imports each workflow module afresh for every workflow it starts. Without
    bytecode on disk (PYTHONDONTWRITEBYTECODE, usual in containers) every such import compiles
    the module's source: a tenth of the worker's time in a storm of new incidents. The
    worker then keeps its bytecode in a directory of its own, away from the source tree that
    setting keeps clean. Set before anything is imported, the prefix would hide the bytecode
    pip wrote for every installed package and the worker's start would compile them all."""
    if sys.dont_write_bytecode:
        sys.pycache_prefix = str(cache)
        sys.dont_write_bytecode = False


class _StrictSandbox(SandboxedWorkflowRunner):
    """Checks each workflow class in a sandbox of its own once per process, not once per
    ``Worker``: the check imports the class's module afresh, and the tests build a worker
    for every test. What it checks (the module's imports and its definition) cannot change
    while the process runs; every workflow run is still sandboxed in full."""

    _checked: ClassVar[set[type]] = set()

    def prepare_workflow(self, defn: temporalio.workflow._Definition) -> None:
        if defn.cls in self._checked:
            return
        super().prepare_workflow(defn)
        self._checked.add(defn.cls)


def sandbox_runner() -> SandboxedWorkflowRunner:
    """The strict sandbox: what the tests and the replay of recorded histories run the
    workflows in, so a call to the clock, randomness or I/O from workflow code fails CI."""
    return _StrictSandbox(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*_PASSTHROUGH)
    )


def workflow_runner(*, strict: bool = False) -> WorkflowRunner:
    """ADR 0023: the worker runs its workflows outside the sandbox, which cost a third of the
    CPU of every workflow run and a copy of its module per cached workflow. Determinism is
    guarded before the code ships instead: the ruff bans, the strict sandbox under every
    workflow test and replay, and the test of what workflow modules import."""
    return sandbox_runner() if strict else UnsandboxedWorkflowRunner()


@dataclass(frozen=True)
class Outbound:
    """What the customer statements reach customers with."""

    mailer: Mailer
    webhooks: WebhookSender
    templates: Templates
    accounts: KeyAccounts
    public_url: str = "http://127.0.0.1:8080"
    # Review policies and who leads each type; None opens no reviews.
    playbooks: PlaybookSet | None = None
    # What drills grade their injected alerts with; with the playbooks, drills can run.
    catalog: Catalog | None = None
    # Signs the acknowledge links of e-mail and push pages; None sends them without one.
    ack_secret: SecretStr | None = None

    def page_channels(self) -> PageChannels:
        links = AckLinks(self.ack_secret, self.public_url) if self.ack_secret else None
        return PageChannels(mailer=self.mailer, links=links)


# The paging queue's slots: direct messages only, each a short activity or workflow task.
PAGING_SLOTS = 20
# The task queue's workflow task slots (the SDK's default); its activities' are ``Paperwork``'s.
MAIN_SLOTS = 100
# Open workflow task polls per worker, half of them for workflows not in its cache.
WORKFLOW_POLLS = 40


class Workers:
    """The worker of the task queue and the paging queue's (ADR 0022), run together: every
    worker process serves both, so pages go out as long as any worker runs."""

    def __init__(self, main: Worker, pages: Worker) -> None:
        self.main = main
        self.pages = pages
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Workers:
        await self._stack.enter_async_context(self.pages)
        await self._stack.enter_async_context(self.main)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.__aexit__(exc_type, exc, tb)
        self._stack = contextlib.AsyncExitStack()


def build_worker(
    client: Client,
    task_queue: str,
    store: RecordsStore,
    notifier: Notifier,
    roster: RosterSource,
    outbound: Outbound,
    whatif: Replay | None = None,
    strict_sandbox: bool = False,
    pages_first: bool = True,
    **options: Any,
) -> Workers:
    """The workers of every process (the task queue's and the paging queue's); ``options``
    go to both Temporal ``Worker``s as they are. ``pages_first``: the task queue's activities
    wait while this process hands over or delivers pages (ADR 0032); a rehearsal, whose
    records are its outcome and whose pages reach no one, gives them every slot."""
    incidents = IncidentActivities(
        store, notifier, roster, client, task_queue, playbooks=outbound.playbooks
    )
    reviews = ReviewActivities(store, notifier, roster)
    pagers = PagerActivities(store, notifier, roster, outbound.page_channels())
    fanout = Fanout(store, outbound.mailer, outbound.webhooks, outbound.public_url)
    statements = StatementActivities(
        store,
        notifier,
        roster,
        outbound.templates,
        outbound.accounts,
        outbound.mailer,
        fanout,
    )
    # Drills and maintenance windows send alerts through the intake; both need the catalog.
    intake = (
        IncidentService(client, task_queue, outbound.playbooks, catalog=outbound.catalog)
        if outbound.playbooks is not None and outbound.catalog is not None
        else None
    )
    announcements = AnnouncementActivities(store, outbound.mailer, fanout, intake)
    messenger = notifier if isinstance(notifier, DirectMessenger) else None
    oncall = OnCallActivities(store, messenger, roster)
    heartbeats = HeartbeatActivities(store, intake)
    workflows: list[type] = [
        IncidentWorkflow,
        PagerWorkflow,
        StatementsWorkflow,
        ConfirmSubscriptionWorkflow,
        MaintenanceWorkflow,
        ReviewWorkflow,
        ActionItemWorkflow,
        HandoffWorkflow,
        HeartbeatWorkflow,
    ]
    extra_activities: list[Callable[..., Any]] = []
    if intake is not None and outbound.playbooks is not None:
        drills = DrillActivities(store, notifier, roster, intake, outbound.playbooks)
        workflows.append(DrillWorkflow)
        extra_activities = [drills.begin_drill, drills.inject_step, drills.finish_drill]
    if whatif is not None:
        workflows.append(WhatIfWorkflow)
        extra_activities.append(WhatIfActivities(whatif).replay)
    runner = workflow_runner(strict=strict_sandbox)
    # Pages before paperwork in this process too (ADR 0032).
    pages = PageWork()
    # More workflow task polls, half of them for workflows not in the cache: with the SDK's
    # five, one was, and a storm's first workflow tasks, which decide its pages, came one
    # poll round trip at a time (ADR 0032).
    options = {
        "workflow_task_poller_behavior": PollerBehaviorSimpleMaximum(WORKFLOW_POLLS),
        "nonsticky_to_sticky_poll_ratio": 0.5,
        **options,
    }
    paging = Worker(
        client,
        task_queue=paging_queue(task_queue),
        workflows=[PagerWorkflow],
        # hand_pages for incidents that paged before ADR 0037, which keep handing over here.
        activities=[incidents.hand_pages, pagers.deliver, pagers.deliver_step],
        workflow_runner=runner,
        max_concurrent_workflow_tasks=PAGING_SLOTS,
        max_concurrent_activities=PAGING_SLOTS,
        graceful_shutdown_timeout=timedelta(seconds=5),
        interceptors=[Heartbeating(), CountingPages(pages)],
        **options,
    )
    main = Worker(
        client,
        task_queue=task_queue,
        workflows=workflows,
        activities=[
            incidents.apply_effects,
            # Started eagerly by the workflow task that decided the pages (ADR 0037).
            incidents.hand_pages,
            oncall.next_handoff,
            oncall.announce_handoff,
            incidents.record,
            incidents.notify,
            pagers.deliver,
            pagers.deliver_step,
            statements.draft_body,
            statements.record,
            statements.ask_approval,
            statements.apply_effects,
            statements.preview,
            statements.notify_key_accounts,
            statements.publish_to_status_page,
            statements.email_subscribers,
            statements.call_webhooks,
            statements.report_deliveries,
            announcements.send_confirmation,
            announcements.record_maintenance,
            announcements.announce_maintenance,
            announcements.release_alerts,
            reviews.open_review,
            reviews.current_review,
            reviews.follow_review,
            reviews.current_action,
            reviews.follow_action,
            heartbeats.raise_alarm,
            *extra_activities,
        ],
        workflow_runner=runner,
        graceful_shutdown_timeout=timedelta(seconds=5),
        interceptors=[Heartbeating(), EagerPages(pages)],
        tuner=WorkerTuner.create_composite(
            workflow_supplier=FixedSizeSlotSupplier(MAIN_SLOTS),
            activity_supplier=(
                Paperwork(pages) if pages_first else FixedSizeSlotSupplier(MOST_PAPERWORK)
            ),
            local_activity_supplier=FixedSizeSlotSupplier(MAIN_SLOTS),
            nexus_supplier=FixedSizeSlotSupplier(MAIN_SLOTS),
        ),
        **options,
    )
    return Workers(main, paging)


def outbound_for(config: WorkerConfig) -> Outbound:
    mailer: Mailer = (
        SmtpMailer(config.smtp)
        if config.smtp is not None
        else OutboxMailer(config.outbox_dir or Path("outbox"))
    )
    return Outbound(
        mailer=mailer,
        webhooks=WebhookSender(allow_private=config.webhook_allow_private),
        templates=load_templates(config.playbooks_dir),
        accounts=load_accounts(config.playbooks_dir),
        public_url=config.public_url,
        ack_secret=config.ack_secret,
        playbooks=load_playbooks(config.playbooks_dir),
        catalog=load_catalog(config.services_file)
        if config.services_file is not None
        else load_catalog(),
    )


def default_notifier(config: WorkerConfig, store: RecordsStore) -> Notifier:
    """Slack when a bot token is set, else the console (stdout and a log file)."""
    if config.slack is not None:
        log.info("notifications go to Slack at %s", config.slack.api_url)
        channels = load_slack_channels(config.playbooks_dir)
        # Pacing per channel is kept in the records database, so several worker processes
        # post at most one message a second to a channel between them (ADR 0008).
        api = SlackApi.from_config(config.slack, pacer=store.reserve_turn)
        return SlackNotifier(api, store, channels)
    return ConsoleNotifier(log_path=config.notifications_log)


async def run_worker(
    config: WorkerConfig,
    notifier: Notifier | None = None,
    *,
    bytecode_cache: Path | None = None,
    whatif: Replay | None = None,
) -> None:
    # A broken playbook directory stops the worker before it takes any work.
    load_playbooks(config.playbooks_dir)
    roster = RosterSource(config.playbooks_dir)
    await migrate(config.database_url)
    store = RecordsStore.from_url(config.database_url)
    # A notifier given by the caller is the caller's to close.
    owned = notifier is None
    if notifier is None:
        notifier = default_notifier(config, store)
    if config.metrics_port is not None:
        start_http_server(config.metrics_port, config.metrics_host, registry=SLACK_METRICS)
    client = await connect_with_retry(config.temporal_address, config.temporal_namespace)
    outbound = outbound_for(config)
    worker = build_worker(
        client,
        config.task_queue,
        store,
        notifier,
        roster,
        outbound,
        whatif,
        max_cached_workflows=config.cached_workflows,
    )
    if bytecode_cache is not None:
        # Only now: the worker's build id has read the bytecode of every module loaded so far,
        # from where pip put it; the cache is for what the sandbox imports from here on.
        keep_bytecode(bytecode_cache)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    # Everything imported and built so far lives as long as the process. Left to the cyclic
    # collector, each of its full passes walked those 240,000 objects again and held the event
    # loop 150 to 260 ms: a page's workflow task waited that long (ADR 0034).
    gc.collect()
    gc.freeze()
    log.info("worker polling task queue %s on %s", config.task_queue, config.temporal_address)
    try:
        async with worker:
            await start_monitors(client, config.task_queue, load_heartbeats(config.playbooks_dir))
            watcher = asyncio.create_task(watch_schedules(client, config.task_queue, roster, stop))
            # What a storm freed goes back to the system once it is over (ADR 0036).
            trimmer = asyncio.create_task(HeapTrimmer(glibc_trim()).run(stop))
            await stop.wait()
            await watcher
            await trimmer
    finally:
        await outbound.webhooks.aclose()
        if owned and isinstance(notifier, SlackNotifier):
            await notifier.aclose()
        await store.close()
