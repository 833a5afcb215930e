"""A person's direct messages: the channel is opened once per process, and opened again when
Slack no longer knows the one remembered; a page goes before the incident's channel is made."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.records import RecordsStore, migrate
from adapters.slack.client import SlackApi
from adapters.slack.notifier import SlackNotifier
from domain.models import (
    Function,
    Person,
    Recipient,
    Role,
    Tier,
)
from domain.notify import Notification
from domain.playbook import SlackChannels
from testkit.fake_slack import FakeSlack
from testkit.pages import a_page
from tests.slack.conftest import ADA, BOT_TOKEN

T0 = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
LEAD = Recipient(
    person=Person(name="Ada Okafor", slack_user_id=ADA),
    function=Function.TECHNICAL_SUPPORT,
    tier=Tier.PRIMARY,
    role=Role.LEAD,
)


def page(n: int) -> Notification:
    return a_page(n, LEAD, T0)


@pytest.fixture
async def notifier(fake_slack: FakeSlack, tmp_path: Path) -> AsyncIterator[SlackNotifier]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    await migrate(url)
    store = RecordsStore.from_url(url)
    slack = SlackNotifier(SlackApi(BOT_TOKEN, fake_slack.base_url, 0.0), store, SlackChannels())
    yield slack
    await slack.aclose()
    await store.close()


def pages_seen_by_ada(fake_slack: FakeSlack) -> list[str]:
    im = fake_slack.im_channel(ADA)
    assert im is not None
    return [m["metadata"]["event_payload"]["key"] for m in fake_slack.messages(im)]


async def test_pages_to_one_person_open_the_direct_message_channel_once(
    fake_slack: FakeSlack, notifier: SlackNotifier
) -> None:
    for n in range(3):
        await notifier.send(page(n))

    assert pages_seen_by_ada(fake_slack) == [page(n).key for n in range(3)]
    assert len(fake_slack.calls_to("conversations.open")) == 1


async def test_a_direct_message_channel_slack_no_longer_knows_is_opened_again(
    fake_slack: FakeSlack, notifier: SlackNotifier
) -> None:
    await notifier.send(page(0))
    await notifier.ensure_channel(page(1).incident)
    fake_slack.fail_next(method="chat.postMessage", error="channel_not_found")

    await notifier.send(page(1))

    assert pages_seen_by_ada(fake_slack) == [page(0).key, page(1).key]
    assert len(fake_slack.calls_to("conversations.open")) == 2


async def test_the_page_goes_before_the_invitation_and_a_refused_invitation_leaves_it_sent(
    fake_slack: FakeSlack, notifier: SlackNotifier
) -> None:
    fake_slack.fail_next(method="conversations.invite", error="restricted_action")

    await notifier.send(page(0))

    assert pages_seen_by_ada(fake_slack) == [page(0).key]
    methods = [call.method for call in fake_slack.calls]
    assert methods.index("chat.postMessage") < methods.index("conversations.invite")


async def test_a_page_goes_before_the_incident_s_channel_is_made_and_names_it_once_made(
    fake_slack: FakeSlack, notifier: SlackNotifier
) -> None:
    """The first page of an incident does not wait on Slack making its channel: the lead is
    asked into the channel after it. A later page names the channel."""
    await notifier.send(page(0))

    methods = [call.method for call in fake_slack.calls]
    assert methods.index("chat.postMessage") < methods.index("conversations.create")
    im = fake_slack.im_channel(ADA)
    assert im is not None
    [first] = fake_slack.messages(im)
    assert "<#" not in str(first["blocks"])
    channel = await notifier.ensure_channel(page(0).incident)  # made by then: not again
    assert len(fake_slack.calls_to("conversations.create")) == 1
    assert ADA in fake_slack.members(channel)

    later = page(0).model_copy(update={"key": f"{page(0).key}/again"})
    await notifier.send(later)
    assert f"Join <#{channel}>." in str(fake_slack.messages(im)[-1]["blocks"])
