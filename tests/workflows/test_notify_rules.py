"""A person's notification rules: each step a durable timer, sent only while the page is
unacknowledged, through the real channels (an SMTP server and an Apprise ``json://``
receiver on loopback); e-mail and push to one person bundled to one a minute; the rules
outlive a worker's restart between two steps."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from adapters.acklinks import AckLinks
from adapters.email import SmtpConfig, SmtpMailer
from adapters.records import RecordsStore, migrate
from adapters.slack.client import REGISTRY, SlackApi
from adapters.slack.notifier import SlackNotifier
from domain.models import (
    Actor,
    Declaration,
    EventKind,
    Function,
    IncidentType,
    Level,
    Person,
    Recipient,
    Role,
    Status,
    Tier,
)
from domain.notify import Notifier
from domain.playbook import SlackChannels
from playbooks.loader import load_playbooks, load_roster
from playbooks.roster import RosterSource
from testkit.fake_slack import DEFAULT_TOKEN, serve_fake_slack
from testkit.mail import SmtpServer, smtp_server
from testkit.pages import a_page
from testkit.playbooks import playbook_dir
from testkit.push import PushReceiver, push_receiver
from testkit.waiting import eventually
from tests.conftest import RecordingNotifier, outbound
from workflows.ids import person_pager_id
from workflows.incident.client import IncidentService
from workflows.pager.client import hand_to_pager, stop_pages
from workflows.worker import Outbound, Workers, build_worker

ADA = "Ada Okafor"
ADA_MAIL = "ada@example.com"
ADA_LINE = "      - {name: Ada Okafor, slack_user_id: U0TECH001, email: ada@example.com}"
ACK_SECRET = SecretStr("ack-secret-for-tests")
# The bundled playbooks' timings: level A escalates to the secondary at 5m.
BUNDLED: dict[str, str] = {}


def with_rules(directory: Path, rules: str, *, slack: bool = True) -> Path:
    """The bundled playbooks with Ada's ``notify:`` set to ``rules`` (YAML flow)."""
    playbook_dir(directory, BUNDLED)
    roster = directory / "roster.yaml"
    text = roster.read_text(encoding="utf-8")
    assert ADA_LINE in text
    slack_id = "slack_user_id: U0TECH001, " if slack else ""
    line = f"      - {{name: Ada Okafor, {slack_id}email: ada@example.com, notify: {rules}}}"
    roster.write_text(text.replace(ADA_LINE, line), encoding="utf-8")
    return directory


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
async def push() -> AsyncIterator[PushReceiver]:
    async with push_receiver() as receiver:
        yield receiver


@dataclasses.dataclass
class Paging:
    env: WorkflowEnvironment
    store: RecordsStore
    notifier: Notifier
    service: IncidentService
    task_queue: str
    directory: Path
    out: Outbound

    def worker(self) -> Workers:
        # No cache, so no sticky queue: the test server never hands a stopped worker's
        # sticky tasks to the next one, as Temporal's own servers do after a timeout.
        return build_worker(
            self.env.client, self.task_queue, self.store, self.notifier,
            RosterSource(self.directory), self.out, max_cached_workflows=0,
        )  # fmt: skip


@pytest.fixture
async def paging(
    ts_env: WorkflowEnvironment, tmp_path: Path, smtp: SmtpServer
) -> AsyncIterator[Paging]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    await migrate(url)
    store = RecordsStore.from_url(url)
    mailer = SmtpMailer(SmtpConfig(host=smtp.host, port=smtp.port, starttls=False))
    directory = tmp_path / "playbooks"
    out = dataclasses.replace(outbound(tmp_path, mailer=mailer), ack_secret=ACK_SECRET)
    task_queue = f"tocsin-rules-{tmp_path.name}"
    service = IncidentService(ts_env.client, task_queue, load_playbooks())
    try:
        yield Paging(ts_env, store, RecordingNotifier(), service, task_queue, directory, out)
    finally:
        await store.close()


async def _declare(paging: Paging, title: str = "Checkout failing") -> str:
    incident = await paging.service.declare(
        Declaration(
            title=title,
            level=Level.A,
            type=IncidentType.SERVICE_OUTAGE,
            declared_by=Actor(name="Alice"),
            service="checkout",
        )
    )
    return incident.id


async def test_each_step_goes_at_its_time_and_none_after_the_acknowledgement(
    paging: Paging, smtp: SmtpServer, push: PushReceiver
) -> None:
    with_rules(
        paging.directory,
        f"[{{channel: slack}}, {{channel: email, after: 2m}}, "
        f"{{channel: apprise, after: 4m, url: '{push.url()}'}}]",
    )
    recording = paging.notifier
    assert isinstance(recording, RecordingNotifier)
    async with paging.worker():
        incident_id = await _declare(paging)
        await eventually(lambda: recording.messages_to(ADA))
        await paging.env.sleep(timedelta(minutes=1))
        assert smtp.inbox.to(ADA_MAIL) == []
        await paging.env.sleep(timedelta(minutes=1, seconds=5))
        mail = (await eventually(lambda: smtp.inbox.to(ADA_MAIL)))[0]
        assert mail.subject == f"[tocsin] Level A {incident_id}: Checkout failing"
        # The link the API checks: signed for this incident and this person.
        assert mail.link("/ack/") == AckLinks(ACK_SECRET, "http://tocsin.test").link(
            incident_id, ADA
        )
        acked = await paging.service.acknowledge(incident_id, Actor(name=ADA))
        assert acked.status is Status.ACKNOWLEDGED

        async def acknowledged_on_record() -> bool:
            stored = await paging.store.get_incident(incident_id)
            return stored is not None and stored.status is Status.ACKNOWLEDGED

        await eventually(acknowledged_on_record)
        # The acknowledgement stops the pager's third step rather than letting it fire: the
        # pager ends once its open windows close, having scheduled two steps only.
        pager = paging.env.client.get_workflow_handle(
            person_pager_id(paging.task_queue, Person(name=ADA, slack_user_id="U0TECH001"))
        )
        await paging.env.sleep(timedelta(minutes=1, seconds=5))  # its windows, not step 3's 4m

        async def ended() -> bool:
            return (await pager.describe()).close_time is not None

        await eventually(ended)
        history = await pager.fetch_history()
        steps = [
            e
            for e in history.events
            if e.HasField("activity_task_scheduled_event_attributes")
            and e.activity_task_scheduled_event_attributes.activity_type.name == "deliver_page_step"
        ]
        assert len(steps) == 2
        assert push.pushes == []
        timeline = await paging.store.timeline(incident_id)
        assert f"{ADA} paged by email (step 2 of their rules)" in [e.text for e in timeline]


async def test_push_through_apprise_bundles_a_storm_to_one_a_minute(
    paging: Paging, push: PushReceiver
) -> None:
    with_rules(paging.directory, f"[{{channel: apprise, url: '{push.url()}'}}]", slack=False)
    recording = paging.notifier
    assert isinstance(recording, RecordingNotifier)
    async with paging.worker():
        first = await _declare(paging, "Checkout failing")
        await eventually(lambda: push.pushes)
        others = [await _declare(paging, f"Storm {n}") for n in range(3)]
        await paging.env.sleep(timedelta(seconds=30))
        await asyncio.sleep(0.5)
        assert len(push.pushes) == 1
        assert push.pushes[0]["title"] == f"[tocsin] Level A {first}: Checkout failing"
        assert "Acknowledge: http://tocsin.test/ack/" in push.pushes[0]["message"]
        await paging.env.sleep(timedelta(seconds=31))
        await eventually(lambda: len(push.pushes) == 2)
        bundle = push.pushes[1]
        assert bundle["title"].startswith("[tocsin] 3 pages, the first: Level A")
        assert all(incident in bundle["message"] for incident in others)
        # Slack's pages were never asked for: her rules name push only.
        assert recording.messages_to(ADA) == []


async def test_the_rules_outlive_a_restart_between_two_steps(
    paging: Paging, smtp: SmtpServer
) -> None:
    with_rules(paging.directory, "[{channel: slack}, {channel: email, after: 2m}]")
    recording = paging.notifier
    assert isinstance(recording, RecordingNotifier)
    async with paging.worker():
        incident_id = await _declare(paging)
        await eventually(lambda: recording.messages_to(ADA))
        # Let the first steps' activities finish: one cut off would hold the test server's
        # clock until its own timeout.
        await asyncio.sleep(1)
    assert smtp.inbox.to(ADA_MAIL) == []
    # A new worker (a new process: nothing cached) holds only what Temporal kept.
    async with paging.worker():
        await paging.env.sleep(timedelta(minutes=2, seconds=5))
        mail = (await eventually(lambda: smtp.inbox.to(ADA_MAIL), within=20))[0]
        assert incident_id in mail.subject
    assert len(recording.messages_to(ADA)) == 1
    timeline = await paging.store.timeline(incident_id)
    assert EventKind.PAGED in {e.kind for e in timeline}


async def test_a_page_and_its_stop_in_one_task_send_the_page_once_and_no_later_step(
    paging: Paging, smtp: SmtpServer
) -> None:
    """The incident re-paged and was resolved at once: the page and the stop reach the pager
    before any worker runs it, so its first task holds both. The page was decided before the
    resolution; it goes, and its e-mail step does not."""
    with_rules(paging.directory, "[{channel: slack}, {channel: email, after: 2m}]")
    ada = load_roster(paging.directory).people(Function.TECHNICAL_SUPPORT, Tier.PRIMARY)[0]
    recipient = Recipient(
        person=ada, function=Function.TECHNICAL_SUPPORT, tier=Tier.PRIMARY, role=Role.LEAD
    )
    page = a_page(1, recipient, await paging.env.get_current_time())
    client = paging.env.client
    await hand_to_pager(client, paging.task_queue, page, recipient, timedelta(0))
    await stop_pages(client, paging.task_queue, page.incident.id, [ada])
    recording = paging.notifier
    assert isinstance(recording, RecordingNotifier)
    pager = client.get_workflow_handle(person_pager_id(paging.task_queue, ada))
    async with paging.worker():
        await eventually(lambda: recording.messages_to(ADA))
        await paging.env.sleep(timedelta(minutes=3))

        async def ended() -> bool:
            return (await pager.describe()).close_time is not None

        await eventually(ended)
    assert [[n.key for n in m] for m in recording.messages_to(ADA)] == [[page.key]]
    assert smtp.inbox.to(ADA_MAIL) == []
    history = await pager.fetch_history()
    tasks = [e for e in history.events if e.HasField("workflow_task_completed_event_attributes")]
    signals = [
        e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    # Both signals came before the first task: one task saw them together.
    assert history.events.index(signals[-1]) < history.events.index(tasks[0])


async def test_slack_failing_moves_the_page_to_email_at_once(
    paging: Paging, smtp: SmtpServer
) -> None:
    with_rules(paging.directory, "[{channel: slack}, {channel: email, after: 10m}]")
    before = _fallbacks()
    async with serve_fake_slack() as fake:
        fake.add_channel("incidents")
        channels = SlackChannels(announce={level: "#incidents" for level in Level})
        api = SlackApi(DEFAULT_TOKEN, fake.base_url, min_interval=0.0)
        paging.notifier = SlackNotifier(api, paging.store, channels)
        # Slack's edge answering 500 to every direct message: down, as far as pages go.
        fake.fail_next(1000, status=500, method="conversations.open")
        try:
            async with paging.worker():
                incident_id = await _declare(paging)
                mail = (await eventually(lambda: smtp.inbox.to(ADA_MAIL)))[0]
                assert incident_id in mail.subject
                fake.clear_faults()
        finally:
            await api.aclose()

    timeline = [e.text for e in await paging.store.timeline(incident_id)]
    assert (
        f"slack page to {ADA} failed (slack_unavailable); falling back to email at once" in timeline
    )
    assert f"{ADA} paged by email (step 2 of their rules)" in timeline
    assert _fallbacks() == before + 1


def _fallbacks() -> float:
    value = REGISTRY.get_sample_value(
        "tocsin_page_fallbacks_total", {"channel": "slack", "to": "email"}
    )
    return value or 0.0


async def test_smtp_refusing_moves_the_page_to_push_at_once(
    paging: Paging, smtp: SmtpServer, push: PushReceiver
) -> None:
    with_rules(
        paging.directory,
        f"[{{channel: email}}, {{channel: apprise, after: 10m, url: '{push.url()}'}}]",
        slack=False,
    )
    smtp.inbox.refusing = "550 5.1.1 mailbox unavailable"
    async with paging.worker():
        incident_id = await _declare(paging)
        [pushed] = await eventually(lambda: push.pushes)
        assert incident_id in pushed["title"]
    assert smtp.inbox.refused >= 1
    timeline = [e.text for e in await paging.store.timeline(incident_id)]
    assert f"email page to {ADA} failed (smtp_550); falling back to apprise at once" in timeline


async def test_a_push_service_failing_moves_the_page_to_email_at_once(
    paging: Paging, smtp: SmtpServer, push: PushReceiver
) -> None:
    with_rules(
        paging.directory,
        f"[{{channel: apprise, url: '{push.url()}'}}, {{channel: email, after: 10m}}]",
        slack=False,
    )
    push.failing = 503
    async with paging.worker():
        incident_id = await _declare(paging)
        mail = (await eventually(lambda: smtp.inbox.to(ADA_MAIL)))[0]
        assert incident_id in mail.subject
    assert push.refused >= 1
    timeline = [e.text for e in await paging.store.timeline(incident_id)]
    assert (
        f"apprise page to {ADA} failed (apprise_failed); falling back to email at once" in timeline
    )
