"""The tocsin worker: runs incident workflows and their activities."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta

from prometheus_client import start_http_server
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from playbooks.loader import load_playbooks, load_slack_channels
from tocsin.notify import ConsoleNotifier, Notifier
from tocsin.notify.slack.api import REGISTRY as SLACK_METRICS
from tocsin.notify.slack.api import SlackApi
from tocsin.notify.slack.notifier import SlackNotifier
from tocsin.records import RecordsStore, migrate
from tocsin.settings import Settings
from workflows.activities import IncidentActivities, Records, RosterSource
from workflows.connect import connect
from workflows.incident import IncidentWorkflow

log = logging.getLogger(__name__)

# Domain modules are pure data; passing them through spares the sandbox from re-importing
# pydantic models for every workflow run, which costs far more than the run itself. The
# workflow module itself goes through too: it holds no module-level state (only constants),
# and re-executing it, with @workflow.defn inspecting every handler, was most of the worker's
# CPU per new incident in the benchmark. Calls stay restricted inside the sandbox either way.
_PASSTHROUGH = (
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "tocsin",
    "playbooks",
    "yaml",
    "workflows",
    "alerts",
)


def sandbox_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*_PASSTHROUGH)
    )


def build_worker(client: Client, task_queue: str, activities: IncidentActivities) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[IncidentWorkflow],
        activities=[activities.record, activities.notify],
        workflow_runner=sandbox_runner(),
        graceful_shutdown_timeout=timedelta(seconds=5),
    )


async def connect_with_retry(settings: Settings, deadline: float = 60.0) -> Client:
    """Temporal may still be starting (``tocsin up``, compose): keep trying for a while."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline
    while True:
        try:
            return await connect(settings.temporal_address, settings.temporal_namespace)
        except RuntimeError as exc:
            if loop.time() > give_up:
                raise RuntimeError(
                    f"cannot reach Temporal at {settings.temporal_address}: {exc}"
                ) from None
            await asyncio.sleep(1)


def default_notifier(settings: Settings, store: RecordsStore) -> Notifier:
    """Slack when a bot token is set, else the console (stdout and a log file)."""
    if settings.slack_bot_token is not None and settings.slack_enabled:
        api = SlackApi(
            settings.slack_bot_token.get_secret_value(),
            settings.slack_api_url,
            settings.slack_min_interval_seconds,
        )
        log.info("notifications go to Slack at %s", settings.slack_api_url)
        return SlackNotifier(api, store, load_slack_channels(settings.playbooks_dir))
    return ConsoleNotifier(log_path=settings.data_dir / "logs" / "notifications.log")


async def run_worker(settings: Settings, notifier: Notifier | None = None) -> None:
    # A broken playbook directory stops the worker before it takes any work.
    load_playbooks(settings.playbooks_dir)
    roster = RosterSource(settings.playbooks_dir)
    url = settings.resolved_database_url()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await migrate(url)
    store = RecordsStore.from_url(url)
    if notifier is None:
        notifier = default_notifier(settings, store)
    if settings.worker_metrics_port is not None:
        start_http_server(settings.worker_metrics_port, settings.api_host, registry=SLACK_METRICS)
    records: Records = store
    activities = IncidentActivities(records, notifier, roster)
    client = await connect_with_retry(settings)
    worker = build_worker(client, settings.task_queue, activities)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    log.info("worker polling task queue %s on %s", settings.task_queue, settings.temporal_address)
    try:
        async with worker:
            await stop.wait()
    finally:
        await store.close()
