"""The Slack Web API client's connections: one session per process, its connections kept open
between calls (the SDK alone opens a session and a connection per call), closed at shutdown."""

from __future__ import annotations

import asyncio

import pytest

from adapters.slack import client
from adapters.slack.client import SlackApi
from testkit.fake_slack import FakeSlack
from tests.slack.conftest import ADA, BOT_TOKEN


async def test_calls_share_one_connection_until_the_client_is_closed(
    fake_slack: FakeSlack,
) -> None:
    api = SlackApi(BOT_TOKEN, fake_slack.base_url, min_interval=0.0)
    channel = fake_slack.add_channel("incidents")
    try:
        for n in range(5):
            await api.call("chat.postMessage", channel=channel, text=f"line {n}")
        ports = {call.client_port for call in fake_slack.calls_to("chat.postMessage")}
        assert len(ports) == 1

        await api.aclose()
        opened = await api.call("conversations.open", users=ADA)
        assert opened["ok"]
        (reopened,) = fake_slack.calls_to("conversations.open")
        assert reopened.client_port not in ports
    finally:
        await api.aclose()
    assert len(fake_slack.messages(channel)) == 5


async def test_pacing_forgets_channels_whose_turn_has_come_and_still_paces_the_rest(
    fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client, "_PACED_CHANNELS", 3)
    api = SlackApi(BOT_TOKEN, fake_slack.base_url, min_interval=0.3)
    channels = [fake_slack.add_channel(f"inc-{n}") for n in range(5)]
    try:
        for channel in channels[:4]:
            await api.call("chat.postMessage", channel=channel, text="first")
        await api.call("chat.postMessage", channel=channels[0], text="second")
        await asyncio.sleep(0.45)
        await api.call("chat.postMessage", channel=channels[4], text="first")
    finally:
        await api.aclose()

    first, second = [
        c.at for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == channels[0]
    ]
    assert second - first >= 0.29
    # Every channel but the last had its turn: the process remembers only the last.
    assert list(api._next_post) == [channels[4]]
