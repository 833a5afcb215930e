"""Incidents in Slack end to end: the real ``slack_sdk`` client against the fake Slack, the
real worker and workflows, and the API receiving requests signed as Slack signs them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from temporalio.service import RPCError

from adapters.slack import layout
from adapters.slack.notifier import METADATA_EVENT
from domain.models import Actor, Declaration, EventKind, Incident, IncidentType, Level, Status
from testkit.waiting import eventually
from tests.slack.conftest import ADA, BEN, DARA, SlackStack, button, post_signed
from workflows.ids import workflow_id
from workflows.incident.workflow import IncidentWorkflow

ADA_NAME = "Ada Okafor"


async def declare(stack: SlackStack, **overrides: Any) -> Incident:
    fields: dict[str, Any] = {
        "title": "Checkout failing",
        "level": Level.A,
        "type": IncidentType.SERVICE_OUTAGE,
        "declared_by": Actor(name="Alice"),
        "service": "checkout",
    }
    fields.update(overrides)
    return await stack.service.declare(Declaration.model_validate(fields))


async def finish(stack: SlackStack, incident: Incident) -> None:
    with contextlib.suppress(RPCError):
        await stack.env.client.get_workflow_handle(workflow_id(incident.id)).terminate()


def channel_of(stack: SlackStack, incident: Incident) -> str:
    found = stack.fake.channel_by_name(layout.channel_name(incident))
    assert found is not None, [c.name for c in stack.fake.channels.values()]
    return found.id


def cards(stack: SlackStack, channel: str) -> list[dict[str, Any]]:
    return [
        m
        for m in stack.fake.messages(channel)
        if (m.get("metadata") or {}).get("event_payload", {}).get("key", "").endswith("/card")
    ]


def keys(messages: list[dict[str, Any]]) -> list[str]:
    return [
        m["metadata"]["event_payload"]["key"]
        for m in messages
        if (m.get("metadata") or {}).get("event_type") == METADATA_EVENT
    ]


def has_button(message: dict[str, Any], action_id: str) -> bool:
    return any(
        element.get("action_id") == action_id
        for block in message.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
    )


async def until(check: Callable[[], Any], within: float = 15.0) -> Any:
    return await eventually(check, within=within)


async def test_declaring_opens_a_channel_posts_the_card_and_pages_in_direct_messages(
    slack: SlackStack,
) -> None:
    incident = await declare(slack)

    await until(lambda: stack_ready(slack, incident))
    channel = channel_of(slack, incident)
    assert layout.channel_name(incident).startswith(f"inc-{incident.id}-checkout-failing")
    assert not slack.fake.channels[channel].is_private
    # Lead (technical support) and support (customer service) are invited; brand / PR is only
    # informed, in its own channel.
    assert {ADA, DARA} <= slack.fake.members(channel)
    (card,) = cards(slack, channel)
    assert has_button(card, layout.ACK)
    assert has_button(card, layout.RESOLVE)
    card_text = str(card["blocks"])
    assert "Checkout failing" in card_text
    assert "service outage" in card_text
    (page,) = slack.fake.dms_to(ADA)
    assert has_button(page, layout.ACK)
    assert "PAGE" in page["text"]
    announcements = slack.fake.messages(slack.announce)
    assert len(announcements) == 1
    assert incident.id in announcements[0]["text"]
    notices = slack.fake.messages(slack.brand_pr)
    assert len(notices) == 1
    assert "informed" in notices[0]["text"]
    await finish(slack, incident)


async def acknowledged(stack: SlackStack, incident: Incident) -> Incident | None:
    """The incident once acknowledged: a button answers at once, the work follows."""
    live = await stack.service.current(incident.id)
    return live if live.acknowledged_at is not None else None


def stack_ready(stack: SlackStack, incident: Incident) -> bool:
    found = stack.fake.channel_by_name(layout.channel_name(incident))
    # The pages go first and the invitations into the channel follow them (ADR 0022).
    return (
        found is not None
        and len(cards(stack, found.id)) == 1
        and len(stack.fake.dms_to(ADA)) == 1
        and len(stack.fake.dms_to(DARA)) == 1
        and {ADA, DARA} <= stack.fake.members(found.id)
        and len(stack.fake.messages(stack.brand_pr)) == 1
        and len(stack.fake.messages(stack.announce)) == 1
    )


async def _acknowledge_from_the_direct_message(stack: SlackStack) -> None:
    incident = await declare(stack)
    await until(lambda: stack_ready(stack, incident))
    channel = channel_of(stack, incident)
    dm = stack.fake.im_channel(ADA)

    hook = stack.fake.response_url("actions/ack-from-dm")
    response = await post_signed(
        stack, "/slack/interactions", button(layout.ACK, incident.id, ADA, dm, hook)
    )

    assert response.status_code == 200
    (told,) = await until(lambda: stack.fake.responses_to("actions/ack-from-dm") or None)
    assert told["response_type"] == "ephemeral"
    assert told["replace_original"] is False
    assert told["text"].startswith("Acknowledged: ")
    assert f"[{incident.id}]" in told["text"]
    acked = await stack.service.current(incident.id)
    assert acked.acknowledged_by == "Ada Okafor"  # the roster's name for U0TECH001
    assert acked.status is Status.ACKNOWLEDGED

    def card_updated() -> bool:
        (card,) = cards(stack, channel)
        return "Ada Okafor" in str(card["blocks"]) and not has_button(card, layout.ACK)

    await until(card_updated)
    assert stack.fake.calls_to("chat.update")
    assert len(cards(stack, channel)) == 1  # updated in place, never posted again
    timeline = await stack.store.timeline(incident.id)
    ack = next(e for e in timeline if e.kind is EventKind.ACKNOWLEDGED)
    assert ack.data["slack_user_id"] == ADA
    await finish(stack, incident)


async def test_acknowledge_button_acknowledges_and_updates_the_card_in_place(
    slack: SlackStack,
) -> None:
    await _acknowledge_from_the_direct_message(slack)


async def test_acknowledge_button_on_the_dev_server(dev_slack: SlackStack) -> None:
    await _acknowledge_from_the_direct_message(dev_slack)


async def test_someone_not_in_the_roster_can_acknowledge_under_their_slack_name(
    slack: SlackStack,
) -> None:
    incident = await declare(slack, level=Level.C)
    stranger = "U0STRANGER"
    payload = button(layout.ACK, incident.id, stranger)

    response = await post_signed(slack, "/slack/interactions", payload)

    assert response.status_code == 200
    acked = await until(lambda: acknowledged(slack, incident))
    assert acked.acknowledged_by == "someone"
    await eventually(lambda: slack_id_recorded(slack, incident.id, stranger), within=10)
    await finish(slack, incident)


async def slack_id_recorded(stack: SlackStack, incident_id: str, user: str) -> bool:
    return any(
        e.kind is EventKind.ACKNOWLEDGED and e.data.get("slack_user_id") == user
        for e in await stack.store.timeline(incident_id)
    )


async def test_a_second_acknowledgement_is_refused_privately(slack: SlackStack) -> None:
    incident = await declare(slack)
    await until(lambda: stack_ready(slack, incident))
    channel = channel_of(slack, incident)
    await post_signed(slack, "/slack/interactions", button(layout.ACK, incident.id, ADA))
    await until(lambda: acknowledged(slack, incident))

    # Without a response_url (older Slack clients), the private answer is an ephemeral message.
    await post_signed(slack, "/slack/interactions", button(layout.ACK, incident.id, DARA, channel))

    (told,) = await until(lambda: slack.fake.ephemerals(channel) or None)
    assert told["user_shown"] == DARA
    assert "already acknowledged by Ada Okafor" in told["text"]
    assert (await slack.service.current(incident.id)).acknowledged_by == "Ada Okafor"
    await finish(slack, incident)


async def test_data_leak_incidents_get_a_private_channel(slack: SlackStack) -> None:
    incident = await declare(slack, type=IncidentType.DATA_LEAK, title="Export of customer data")

    await until(lambda: slack.fake.channel_by_name(layout.channel_name(incident)) is not None)

    assert slack.fake.channels[channel_of(slack, incident)].is_private
    await finish(slack, incident)


async def test_escalation_and_breach_page_the_next_tiers_by_direct_message(
    slack: SlackStack,
) -> None:
    incident = await declare(slack)
    await until(lambda: stack_ready(slack, incident))

    await slack.env.sleep(timedelta(minutes=5, seconds=30))  # A: step 1 pages secondaries

    await until(lambda: len(slack.fake.dms_to(BEN)) == 1)
    (page,) = slack.fake.dms_to(BEN)
    assert "ESCALATE" in page["text"]
    assert has_button(page, layout.ACK)
    # The invitation follows the page.
    await until(lambda: BEN in slack.fake.members(channel_of(slack, incident)))
    await finish(slack, incident)


async def test_a_rate_limited_post_is_sent_exactly_once_after_retry_after(
    slack: SlackStack,
) -> None:
    slack.fake.fail_next(1, status=429, retry_after=1, method="chat.postMessage")

    incident = await declare(slack, level=Level.C)

    await until(lambda: stack_ready(slack, incident))
    posts = slack.fake.calls_to("chat.postMessage")
    limited = [c for c in posts if c.status == 429]
    assert len(limited) == 1
    retried = next(c for c in posts if c.at > limited[0].at and c.args == limited[0].args)
    assert retried.at - limited[0].at >= 1.0
    all_keys = [k for ch in slack.fake.channels for k in keys(slack.fake.messages(ch))]
    assert len(all_keys) == len(set(all_keys))  # nothing posted twice
    await finish(slack, incident)


@pytest.mark.parametrize("failure", ["lost-response", "worker-died"])
async def test_a_post_whose_outcome_was_lost_is_not_posted_again(
    slack: SlackStack, failure: str
) -> None:
    if failure == "lost-response":
        # Slack posted the card, but the client saw a 502: the activity fails and retries.
        slack.fake.fail_next(1, status=502, method="chat.postMessage", processed=True)
    else:
        # Slack answered, then the worker died before recording the message's ts.
        slack.refs.fail_next_ts = 1

    incident = await declare(slack, level=Level.C)

    await until(lambda: stack_ready(slack, incident), within=30)
    # The activity's retry looks for its message before posting, finds it and adopts it.
    await until(lambda: bool(slack.fake.calls_to("conversations.history")), within=30)
    await eventually(lambda: all_recorded(slack), within=30)
    all_keys = [k for ch in slack.fake.channels for k in keys(slack.fake.messages(ch))]
    assert len(all_keys) == len(set(all_keys)), all_keys
    await finish(slack, incident)


async def all_recorded(stack: SlackStack) -> bool:
    """Every message the fake holds has its ts recorded: no activity is still retrying."""
    for channel in stack.fake.channels:
        for message in stack.fake.messages(channel):
            key = (message.get("metadata") or {}).get("event_payload", {}).get("key")
            if key and await stack.store.get_ref(f"slack:msg:{key}") != message["ts"]:
                return False
    return True


async def test_slack_down_delays_no_timer_and_the_pages_follow_when_it_is_back(
    slack: SlackStack,
) -> None:
    slack.fake.fail_next(10_000, status=503)
    incident = await declare(slack, level=Level.C)

    await slack.env.sleep(timedelta(minutes=61))  # past C's 60-minute window

    timeline = await slack.store.timeline(incident.id)
    breach = next(e for e in timeline if e.kind is EventKind.BREACHED)
    assert breach.data["late_by_ms"] < 1000  # on time, though Slack never answered
    assert slack.fake.dms_to(ADA) == []
    slack.fake.clear_faults()
    await slack.env.sleep(timedelta(minutes=2))  # the activities' next retry
    await until(lambda: len(slack.fake.dms_to(ADA)) >= 1, within=30)
    await finish(slack, incident)


async def test_the_card_respects_block_kit_limits_for_long_input(slack: SlackStack) -> None:
    incident = await declare(slack, title="x" * 200, description="y" * 9000)

    await until(lambda: slack.fake.channel_by_name(layout.channel_name(incident)) is not None)
    await until(lambda: len(cards(slack, channel_of(slack, incident))) == 1)

    (card,) = cards(slack, channel_of(slack, incident))
    assert len(card["blocks"]) <= 50
    for block in card["blocks"]:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
    assert len(layout.channel_name(incident)) <= 80
    await finish(slack, incident)


# --------------------------------------------------------------------- storms and faults


async def test_a_storm_reaches_a_person_as_one_bundle_acknowledged_with_one_press(
    slack: SlackStack,
) -> None:
    first = await declare(slack, title="Checkout failing")
    await until(lambda: len(slack.fake.dms_to(ADA)) == 1)
    started = await slack.env.get_current_time()
    storm = [await declare(slack, title=f"Service {n} down") for n in range(3)]

    async def all_handed_over() -> bool:
        for incident in storm:
            if ADA_NAME not in {p.name for p in (await slack.service.current(incident.id)).paged}:
                return False
        return True

    await until(all_handed_over)
    assert len(slack.fake.dms_to(ADA)) == 1  # the bundle waits for the window to close
    elapsed = await slack.env.get_current_time() - started
    await slack.env.sleep(timedelta(seconds=31) - elapsed)
    await until(lambda: len(slack.fake.dms_to(ADA)) == 2)

    bundle = slack.fake.dms_to(ADA)[1]
    buttons = [
        block["accessory"]
        for block in bundle["blocks"]
        if block.get("accessory", {}).get("action_id") == layout.ACK
    ]
    assert sorted(b["value"] for b in buttons) == sorted(i.id for i in storm)
    (ack_all,) = [
        element
        for block in bundle["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert ack_all["action_id"] == layout.ACK_ALL
    assert ack_all["text"]["text"] == "Acknowledge all (3)"

    hook = slack.fake.response_url("actions/ack-all")
    press = button(layout.ACK_ALL, ack_all["value"], ADA, slack.fake.im_channel(ADA), hook)
    response = await post_signed(slack, "/slack/interactions", press)

    assert response.status_code == 200
    (told,) = await until(lambda: slack.fake.responses_to("actions/ack-all") or None)
    assert told["text"].startswith("Acknowledged 3 of 3")
    for incident in storm:
        live = await slack.service.current(incident.id)
        assert live.acknowledged_by == ADA_NAME
    assert (await slack.service.current(first.id)).acknowledged_at is None
    for incident in [first, *storm]:
        await finish(slack, incident)


async def test_a_slack_error_retrying_cannot_fix_is_recorded_and_the_incident_still_closes(
    slack: SlackStack,
) -> None:
    # The first person paged has left the company: their direct message can never go out.
    slack.fake.fail_next(error="user_disabled", method="conversations.open")
    incident = await declare(slack)

    async def failure() -> list[Any]:
        timeline = await slack.store.timeline(incident.id)
        return [e for e in timeline if e.kind is EventKind.NOTIFICATION_FAILED]

    (failed,) = await until(failure)
    assert failed.data["reason"] == "user_disabled"
    assert "will not be retried" in failed.text
    gone, other = {ADA_NAME: (ADA, DARA), "Dara Nwosu": (DARA, ADA)}[failed.data["recipient"]]
    await until(lambda: len(slack.fake.dms_to(other)) == 1)  # the other page went out
    assert slack.fake.dms_to(gone) == []
    await slack.service.resolve(incident.id, Actor(name="Bob"), "fixed anyway")
    handle = slack.env.client.get_workflow_handle_for(
        IncidentWorkflow.run, workflow_id(incident.id)
    )
    assert (await handle.result()).status is Status.RESOLVED
