"""The fake Slack driven by the real ``AsyncWebClient``, retry handlers included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from testkit.fake_slack import BOT_USER_ID, FakeSlack, serve_fake_slack

METADATA = {"event_type": "tocsin_post", "event_payload": {"key": "INC-1/card", "n": 1}}
BLOCKS: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]


def client_for(fake: FakeSlack, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=fake.token, base_url=fake.base_url, **kwargs)


async def slack_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as raised:
        await call
    return raised.value


async def test_auth_test_and_tokens(fake_slack: FakeSlack) -> None:
    answer = await client_for(fake_slack).auth_test()
    assert answer["user_id"] == BOT_USER_ID
    assert answer["team_id"]
    assert answer["bot_id"]

    bad = AsyncWebClient(token="xoxb-wrong", base_url=fake_slack.base_url)
    error = await slack_error(bad.auth_test())
    assert error.response.status_code == 200
    assert error.response["error"] == "invalid_auth"

    anonymous = AsyncWebClient(base_url=fake_slack.base_url)
    error = await slack_error(anonymous.chat_postMessage(channel="C1", text="x"))
    assert error.response["error"] == "not_authed"

    assert [c.token for c in fake_slack.calls] == [fake_slack.token, "xoxb-wrong", None]
    assert all(c.status == 200 for c in fake_slack.calls)


async def test_post_update_history_with_metadata(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    channel = (await client.conversations_create(name="inc-1"))["channel"]["id"]

    posted = await client.chat_postMessage(
        channel=channel, text="first", blocks=BLOCKS, metadata=METADATA
    )
    assert posted["channel"] == channel
    assert posted["message"]["metadata"] == METADATA
    assert posted["message"]["blocks"] == BLOCKS
    assert posted["message"]["user"] == BOT_USER_ID
    second = await client.chat_postMessage(channel=channel, text="second")
    assert float(second["ts"]) > float(posted["ts"])

    updated = await client.chat_update(channel=channel, ts=posted["ts"], text="first, edited")
    assert (updated["channel"], updated["ts"]) == (channel, posted["ts"])
    stored = fake_slack.messages(channel)
    assert [m["text"] for m in stored] == ["first, edited", "second"]
    assert stored[0]["blocks"] == BLOCKS  # kept: the update gave no blocks
    assert stored[0]["metadata"] == METADATA

    history = await client.conversations_history(channel=channel, include_all_metadata=True)
    assert [m["ts"] for m in history["messages"]] == [second["ts"], posted["ts"]]
    assert history["messages"][1]["metadata"] == METADATA
    assert history["has_more"] is False
    plain = await client.conversations_history(channel=channel)
    assert all("metadata" not in m for m in plain["messages"])

    # The recorded arguments are structures, as sent.
    call = fake_slack.calls_to("chat.postMessage")[0]
    assert call.args["metadata"] == METADATA
    assert call.args["blocks"] == BLOCKS

    error = await slack_error(client.chat_update(channel=channel, ts="1.000001", text="x"))
    assert error.response["error"] == "message_not_found"
    error = await slack_error(client.chat_postMessage(channel="C9999999", text="x"))
    assert error.response["error"] == "channel_not_found"
    error = await slack_error(client.api_call("chat.postMessage", json={"channel": channel}))
    assert error.response["error"] == "no_text"


async def test_history_pages_newest_first(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    channel = (await client.conversations_create(name="paged"))["channel"]["id"]
    sent = [(await client.chat_postMessage(channel=channel, text=str(i)))["ts"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await client.conversations_history(channel=channel, limit=2, cursor=cursor)
        pages += 1
        seen += [m["ts"] for m in page["messages"]]
        if not page["has_more"]:
            break
        cursor = page["response_metadata"]["next_cursor"]
    assert seen == list(reversed(sent))
    assert pages == 3
    error = await slack_error(client.conversations_history(channel="#paged"))
    assert error.response["error"] == "channel_not_found"  # IDs only


async def test_post_by_name_join_and_form_encoded(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    announce = fake_slack.add_channel("announcements", bot_is_member=False)
    error = await slack_error(client.chat_postMessage(channel="#announcements", text="x"))
    assert error.response["error"] == "not_in_channel"
    await client.conversations_join(channel=announce)
    posted = await client.chat_postMessage(channel="#announcements", text="hello")
    assert posted["channel"] == announce
    assert fake_slack.messages(announce)[0]["text"] == "hello"

    # Form-encoded, JSON strings for blocks and metadata, as with data=...
    await client.api_call(
        "chat.postMessage",
        data={
            "channel": announce,
            "text": "form",
            "blocks": json.dumps(BLOCKS),
            "metadata": json.dumps(METADATA),
        },
    )
    call = fake_slack.calls[-1]
    assert call.args["blocks"] == BLOCKS
    assert call.args["metadata"] == METADATA
    assert fake_slack.messages(announce)[-1]["metadata"] == METADATA


async def test_create_channel_name_rules(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    for name, code in [
        ("Inc-Upper", "invalid_name_specials"),
        ("inc 1", "invalid_name_specials"),
        ("inc#1", "invalid_name_specials"),
        ("x" * 81, "invalid_name_maxlength"),
        ("", "invalid_name_required"),
        ("---", "invalid_name_punctuation"),
    ]:
        error = await slack_error(client.conversations_create(name=name))
        assert error.response["error"] == code, name

    created = await client.conversations_create(name="inc-2024_01", is_private=True)
    channel = created["channel"]
    assert channel["id"].startswith("C")
    assert channel["is_private"] is True
    assert channel["name"] == "inc-2024_01"
    assert fake_slack.calls_to("conversations.create")[-1].args["is_private"] == "1"
    assert fake_slack.channel_by_name("inc-2024_01") is fake_slack.channels[channel["id"]]
    await client.conversations_create(name="x" * 80)

    error = await slack_error(client.conversations_create(name="inc-2024_01"))
    assert error.response["error"] == "name_taken"

    info = await client.conversations_info(channel=channel["id"])
    assert info["channel"]["name"] == "inc-2024_01"
    error = await slack_error(client.conversations_info(channel="C7777777"))
    assert error.response["error"] == "channel_not_found"


async def test_list_pages_and_filters(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    for i in range(5):
        await client.conversations_create(name=f"pub-{i}")
    await client.conversations_create(name="secret", is_private=True)
    fake_slack.add_channel("not-mine", is_private=True, bot_is_member=False)
    fake_slack.add_channel("old", is_archived=True)

    names: list[str] = []
    cursor = None
    while True:
        page = await client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=2, cursor=cursor
        )
        names += [c["name"] for c in page["channels"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert names == ["pub-0", "pub-1", "pub-2", "pub-3", "pub-4", "secret"]
    default = await client.conversations_list()
    assert [c["name"] for c in default["channels"]] == [*names[:5], "old"]


async def test_invite_and_already_in_channel(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    channel = (await client.conversations_create(name="inc-3"))["channel"]["id"]
    await client.conversations_invite(channel=channel, users=["U0000001", "U0000002"])
    assert fake_slack.members(channel) == {BOT_USER_ID, "U0000001", "U0000002"}

    error = await slack_error(client.conversations_invite(channel=channel, users="U0000001"))
    assert error.response["error"] == "already_in_channel"
    await client.conversations_invite(channel=channel, users="U0000001,U0000003")  # one is new
    assert "U0000003" in fake_slack.members(channel)

    for users, code in [
        ("bogus", "user_not_found"),
        (BOT_USER_ID, "cant_invite_self"),
    ]:
        error = await slack_error(client.conversations_invite(channel=channel, users=users))
        assert error.response["error"] == code
    error = await slack_error(client.conversations_invite(channel="C5555555", users="U0000001"))
    assert error.response["error"] == "channel_not_found"

    members = await client.conversations_members(channel=channel)
    assert members["members"] == [BOT_USER_ID, "U0000001", "U0000002", "U0000003"]


async def test_conversations_open_is_stable_and_dms(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    first = await client.conversations_open(users="U0000001")
    im = first["channel"]["id"]
    assert im.startswith("D")
    again = await client.conversations_open(users=["U0000001"])
    assert again["channel"]["id"] == im
    assert again["already_open"] is True
    other = await client.conversations_open(users="U0000002")
    assert other["channel"]["id"] != im

    await client.chat_postMessage(channel=im, text="you are paged")
    await client.chat_postMessage(channel="U0000001", text="by user id")  # Slack's DM shortcut
    assert [m["text"] for m in fake_slack.dms_to("U0000001")] == ["you are paged", "by user id"]
    assert fake_slack.dms_to("U0000009") == []

    ephemeral = await client.chat_postEphemeral(channel=im, user="U0000001", text="only you")
    assert ephemeral["message_ts"]
    assert fake_slack.ephemerals(im)[0]["user_shown"] == "U0000001"


async def test_views_users_and_unknown_method(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Ack"}, "blocks": BLOCKS}
    opened = await client.views_open(trigger_id="1.2.abc", view=modal)
    view_id = opened["view"]["id"]
    assert fake_slack.views[view_id]["blocks"] == BLOCKS
    updated = await client.views_update(view_id=view_id, view={**modal, "blocks": []})
    assert updated["view"]["id"] == view_id
    assert fake_slack.views[view_id]["blocks"] == []
    error = await slack_error(client.views_update(view_id="V404", view=modal))
    assert error.response["error"] == "not_found"

    fake_slack.add_user("U0000001", "ada", "Ada Lovelace", display_name="ada")
    user = (await client.users_info(user="U0000001"))["user"]
    assert (user["name"], user["real_name"]) == ("ada", "Ada Lovelace")
    assert user["profile"]["display_name"] == "ada"
    error = await slack_error(client.users_info(user="U0000404"))
    assert error.response["error"] == "user_not_found"

    error = await slack_error(client.api_call("pins.nothing"))
    assert error.response["error"] == "unknown_method"


async def test_429_is_retried_after_retry_after(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack, retry_handlers=[AsyncRateLimitErrorRetryHandler(1)])
    channel = (await client.conversations_create(name="limited"))["channel"]["id"]
    fake_slack.fail_next(1, status=429, retry_after=1, method="chat.postMessage")

    await client.chat_postMessage(channel=channel, text="eventually")

    first, second = fake_slack.calls_to("chat.postMessage")
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1
    assert len(fake_slack.messages(channel)) == 1


async def test_500_is_retried_by_the_server_error_handler(fake_slack: FakeSlack) -> None:
    handler = AsyncServerErrorRetryHandler(
        max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.05)
    )
    client = client_for(fake_slack, retry_handlers=[handler])
    fake_slack.fail_next(1, status=500)
    assert (await client.auth_test())["ok"] is True
    assert [c.status for c in fake_slack.calls] == [500, 200]

    # Two plain-text 503s outlast one retry: the client raises with the status.
    fake_slack.fail_next(2, status=503, plain=True)
    error = await slack_error(client.auth_test())
    assert error.response.status_code == 503
    assert [c.status for c in fake_slack.calls[2:]] == [503, 503]


async def test_429_without_retry_handler_raises(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)  # the default handlers retry connection errors only
    fake_slack.fail_next(1, status=429, retry_after=7)
    error = await slack_error(client.auth_test())
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "7"
    assert error.response["error"] == "ratelimited"
    assert fake_slack.calls[-1].status == 429
    assert (await client.auth_test())["ok"] is True  # the fault is spent


async def test_fault_filters_and_lost_responses(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    channel = (await client.conversations_create(name="faults"))["channel"]["id"]
    fake_slack.fail_next(1, status=200, error="fatal_error", method="chat.update")
    await client.auth_test()  # another method: not faulted
    posted = await client.chat_postMessage(channel=channel, text="x")
    error = await slack_error(client.chat_update(channel=channel, ts=posted["ts"], text="y"))
    assert error.response["error"] == "fatal_error"
    assert fake_slack.messages(channel)[0]["text"] == "x"

    # processed=True: Slack posted it, the client saw a 500.
    fake_slack.fail_next(1, status=500, processed=True)
    error = await slack_error(client.chat_postMessage(channel=channel, text="lost"))
    assert error.response.status_code == 500
    assert [m["text"] for m in fake_slack.messages(channel)] == ["x", "lost"]


async def test_serve_own_instance_with_token() -> None:
    fake = FakeSlack(token="xoxb-other")
    async with serve_fake_slack(fake) as served:
        assert served is fake
        assert served.base_url.startswith("http://127.0.0.1:")
        assert served.base_url.endswith("/api/")
        assert (await client_for(served).auth_test())["ok"] is True
    with pytest.raises(RuntimeError):
        _ = fake.base_url
