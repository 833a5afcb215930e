"""What Slack's requests do, seen as a Slack user sees them: forged or malformed requests are
refused and change nothing, ``/incident`` answers privately in the incident's channel and
nowhere else, buttons open the right forms, forms change the incident, and every answer comes
within Slack's 3-second budget."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from adapters.clock import utcnow
from adapters.slack import layout
from adapters.slack.client import SlackApi
from adapters.slack.config import SlackConfig
from adapters.slack.notifier import incident_of_channel_ref
from api.app import create_app
from api.deps import Runtime
from domain.models import EventKind, Incident, IncidentType, Level, Status
from playbooks.base import DEFAULT_DIR
from playbooks.roster import RosterSource
from testkit.fake_slack import FakeSlack
from testkit.playbooks import playbook_dir
from testkit.waiting import eventually
from tests.api.conftest import api_config
from tests.slack.conftest import (
    ADA,
    API_TOKEN,
    BEN,
    BOT_TOKEN,
    DARA,
    SIGNING_SECRET,
    SlackStack,
    button,
    command,
    interaction,
    open_slack_stack,
    post_signed,
    signed,
)
from tests.slack.test_slack_flow import acknowledged, declare, finish, until
from workflows.incident.client import IncidentService

COMMANDS = "/slack/commands"
INTERACTIONS = "/slack/interactions"
SLACK_BUDGET_SECONDS = 3.0

# ------------------------------------------------------------------------------- helpers


async def opened(stack: SlackStack, **overrides: Any) -> tuple[Incident, str]:
    """A declared incident and its channel's id, once ``/incident`` works in that channel."""
    incident = await declare(stack, **overrides)
    name = layout.channel_name(incident)
    await until(lambda: stack.fake.channel_by_name(name) is not None)
    found = stack.fake.channel_by_name(name)
    assert found is not None
    ref = incident_of_channel_ref(found.id)

    async def known() -> bool:
        return await stack.store.get_ref(ref) == incident.id

    await eventually(known, within=15)
    return incident, found.id


def sign_at(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Headers signed for any timestamp text, as a forger would send them."""
    base = b"v0:" + timestamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def without(headers: Mapping[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key != name}


async def send(
    stack: SlackStack, path: str, body: bytes, headers: Mapping[str, str]
) -> httpx.Response:
    # Bytes, so that a header may carry any Latin-1 character, as HTTP allows.
    raw = {key.encode(): value.encode("latin-1") for key, value in headers.items()}
    async with stack.http() as http:
        return await http.post(path, content=body, headers=raw)


def forgeries(body: bytes, other: bytes) -> list[tuple[str, dict[str, str]]]:
    """Headers no genuine Slack request carries, each sent with ``body``."""
    now = int(time.time())
    good = signed(body)
    return [
        ("wrong secret", signed(body, secret="not-" + SIGNING_SECRET)),
        ("signed another body", signed(other)),
        ("stale timestamp", signed(body, at=now - 301)),
        ("far-future timestamp", signed(body, at=now + 86_400)),
        ("non-numeric timestamp", sign_at(body, "yesterday")),
        ("non-ASCII digit timestamp", sign_at(body, "\u00b2")),
        ("signature of an empty body", sign_at(b"", str(now))),
        ("missing X-Slack-Signature", without(good, "X-Slack-Signature")),
        ("missing X-Slack-Request-Timestamp", without(good, "X-Slack-Request-Timestamp")),
    ]


async def say(stack: SlackStack, text: str, channel: str, user: str = ADA) -> str:
    """``/incident <text>`` typed in ``channel``: the private reply's text."""
    response = await post_signed(stack, COMMANDS, command(text, channel, user))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["response_type"] == "ephemeral", answer
    return str(answer["text"])


async def press(stack: SlackStack, body: bytes) -> None:
    response = await post_signed(stack, INTERACTIONS, body)
    assert response.status_code == 200, response.text
    assert response.json() == {}


async def submit(
    stack: SlackStack, callback_id: str, metadata: str, values: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """A modal submitted by Ada: Slack's ``view_submission``; tocsin's answer."""
    payload = {
        "type": "view_submission",
        "user": {"id": ADA, "username": "ada", "name": "ada"},
        "view": {
            "id": f"V{uuid.uuid4().hex[:8].upper()}",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": metadata,
            "state": {"values": {block: {"value": v} for block, v in values.items()}},
        },
    }
    response = await post_signed(stack, INTERACTIONS, interaction(payload))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def text(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def option(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value}}


def trigger_of(body: bytes) -> str:
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    return str(payload["trigger_id"])


def opened_views(stack: SlackStack) -> list[dict[str, Any]]:
    """The modals tocsin asked Slack to open, oldest first, with the trigger that opened it."""
    return [
        {**call.args["view"], "trigger_id": call.args["trigger_id"]}
        for call in stack.fake.calls_to("views.open")
        if call.status == 200
    ]


def loc_names(response: httpx.Response) -> list[str]:
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    return [str(part) for error in detail for part in error["loc"]]


def what_people_changed(incident: Incident) -> dict[str, Any]:
    return incident.model_dump(
        include={
            "title",
            "level",
            "status",
            "acknowledged_at",
            "acknowledged_by",
            "last_update_at",
            "mitigated_at",
            "resolved_at",
            "resolved_by",
            "resolution_summary",
        }
    )


async def unchanged(stack: SlackStack, before: Incident) -> None:
    """Nobody acknowledged, re-levelled, updated, mitigated or resolved the incident."""
    now = await stack.service.current(before.id)
    assert what_people_changed(now) == what_people_changed(before)


def told(stack: SlackStack) -> list[str]:
    """Every private message tocsin posted, in any channel."""
    return [m["text"] for c in stack.fake.channels for m in stack.fake.ephemerals(c)]


# ---------------------------------------------------------------------------- signatures


async def test_forged_slash_commands_are_refused_and_change_nothing(slack: SlackStack) -> None:
    incident, channel = await opened(slack)
    body = command("ack", channel)

    for case, headers in forgeries(body, command("help", channel)):
        response = await send(slack, COMMANDS, body, headers)
        assert response.status_code == 401, (case, response.text)
        assert isinstance(response.json()["detail"], str), case

    await unchanged(slack, incident)
    reply = await say(slack, "ack", channel)  # the same request, signed by Slack, works
    assert reply.startswith("Acknowledged")
    assert (await slack.service.current(incident.id)).acknowledged_by == "Ada Okafor"
    await finish(slack, incident)


async def test_forged_button_presses_are_refused_and_change_nothing(slack: SlackStack) -> None:
    incident, channel = await opened(slack)
    body = button(layout.ACK, incident.id, ADA, channel)
    harmless = interaction({"type": "view_closed", "user": {"id": ADA}})

    for case, headers in forgeries(body, harmless):
        response = await send(slack, INTERACTIONS, body, headers)
        assert response.status_code == 401, (case, response.text)

    await unchanged(slack, incident)
    assert told(slack) == []
    await press(slack, body)
    acked = await until(lambda: acknowledged(slack, incident))
    assert acked.acknowledged_by == "Ada Okafor"
    await finish(slack, incident)


async def test_without_a_signing_secret_every_slack_request_is_refused(
    slack: SlackStack, tmp_path: Path
) -> None:
    incident, channel = await opened(slack)
    requests = [
        (COMMANDS, command("ack", channel)),
        (INTERACTIONS, button(layout.ACK, incident.id, ADA, channel)),
    ]

    for secret in (None, SecretStr("")):
        config = api_config(
            tmp_path,
            api_token=SecretStr(API_TOKEN),
            task_queue=slack.task_queue,
            slack=SlackConfig(SecretStr(BOT_TOKEN), slack.fake.base_url, 0.0),
            slack_signing_secret=secret,
        )
        app = create_app(config)
        app.state.runtime = Runtime(
            store=slack.store,
            service=slack.service,
            slack=SlackApi(BOT_TOKEN, slack.fake.base_url, min_interval=0.0),
            roster=RosterSource(DEFAULT_DIR),
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tocsin.test") as http:
            for path, body in requests:
                response = await http.post(path, content=body, headers=signed(body))
                assert response.status_code == 401, (secret, path, response.text)
                assert "TOCSIN_SLACK_SIGNING_SECRET" in response.json()["detail"]

    await unchanged(slack, incident)
    await finish(slack, incident)


# ---------------------------------------------------------------------- malformed bodies


async def test_signed_but_malformed_requests_are_refused_naming_the_field(
    slack: SlackStack,
) -> None:
    incident, channel = await opened(slack)
    ack_command = {"command": "/incident", "text": "ack", "user_id": ADA, "channel_id": channel}
    cases: list[tuple[str, str, bytes, str]] = [
        ("no payload", INTERACTIONS, urlencode({"actions": "ack"}).encode(), "payload"),
        ("payload not JSON", INTERACTIONS, urlencode({"payload": "{ack"}).encode(), "payload"),
        (
            "block_actions without actions",
            INTERACTIONS,
            interaction({"type": "block_actions", "user": {"id": ADA}, "channel": {"id": channel}}),
            "actions",
        ),
        (
            "view_submission without view",
            INTERACTIONS,
            interaction({"type": "view_submission", "user": {"id": ADA}}),
            "view",
        ),
        (
            "interaction without type",
            INTERACTIONS,
            interaction({"user": {"id": ADA}, "actions": [{"action_id": layout.ACK}]}),
            "type",
        ),
        (
            "command without user_id",
            COMMANDS,
            urlencode({k: v for k, v in ack_command.items() if k != "user_id"}).encode(),
            "user_id",
        ),
        (
            "command without channel_id",
            COMMANDS,
            urlencode({k: v for k, v in ack_command.items() if k != "channel_id"}).encode(),
            "channel_id",
        ),
        ("body not UTF-8", COMMANDS, b"text=ack&user_id=\xff\xfe", "body"),
    ]

    for case, path, body, field in cases:
        response = await post_signed(slack, path, body)
        assert response.status_code == 422, (case, response.text)
        assert field in loc_names(response), (case, response.text)

    await unchanged(slack, incident)
    assert told(slack) == []
    assert slack.fake.calls_to("views.open") == []
    await finish(slack, incident)


# ------------------------------------------------------------------------ slash commands


async def test_ack_and_status_in_the_incident_channel(slack: SlackStack) -> None:
    incident, channel = await opened(slack)

    status = await say(slack, "status", channel)
    assert f"[{incident.id}]" in status
    assert "Triggered" in status

    acked = await say(slack, "ack", channel)

    assert acked.startswith("Acknowledged")
    assert "by Ada Okafor" in acked
    now = await slack.service.current(incident.id)
    assert now.acknowledged_by == "Ada Okafor"  # the roster's name for U0TECH001
    assert now.status is Status.ACKNOWLEDGED
    again = await say(slack, "ack", channel, user=DARA)
    assert again.startswith("Not done: already acknowledged by Ada Okafor")
    assert (await slack.service.current(incident.id)).acknowledged_by == "Ada Okafor"
    status = await say(slack, "status", channel)
    assert f"[{incident.id}]" in status
    assert "Acknowledged" in status
    await finish(slack, incident)


async def test_level_update_mitigated_and_resolve_in_the_incident_channel(
    slack: SlackStack,
) -> None:
    incident, channel = await opened(slack)

    usage = await say(slack, "level X", channel)
    assert usage.startswith("Usage: `/incident level <A|B|C> <reason>`")
    assert (await say(slack, "level B", channel)).startswith("Usage:")  # a reason is needed
    await unchanged(slack, incident)

    changed = await say(slack, "level B because EU only", channel)
    assert changed.startswith("Level changed to B")
    assert (await slack.service.current(incident.id)).level is Level.B

    assert (await say(slack, "update", channel)).startswith("Usage: `/incident update <text>`")
    assert (await say(slack, "update Rolled back", channel)).startswith("Update posted")

    async def update_recorded() -> bool:
        return any(
            e.kind is EventKind.UPDATE_POSTED and "Rolled back" in e.text
            for e in await slack.store.timeline(incident.id)
        )

    await eventually(update_recorded, within=15)

    assert (await say(slack, "mitigated", channel)).startswith("Marked mitigated")
    assert (await slack.service.current(incident.id)).status is Status.MITIGATED

    resolved = await say(slack, "resolve fixed the pool", channel)
    assert resolved.startswith("Resolved")

    async def resolved_recorded() -> bool:
        record = await slack.store.get_incident(incident.id)
        return record is not None and record.status is Status.RESOLVED

    await eventually(resolved_recorded, within=15)
    record = await slack.store.get_incident(incident.id)
    assert record is not None
    assert record.resolution_summary == "fixed the pool"
    assert record.resolved_by == "Ada Okafor"
    assert (await say(slack, "ack", channel)).startswith("Not done:")  # it is over
    await finish(slack, incident)


async def test_help_and_unknown_commands_answer_with_the_command_list(slack: SlackStack) -> None:
    incident, channel = await opened(slack)

    assert await say(slack, "help", channel) == layout.HELP
    assert await say(slack, "", channel) == layout.HELP
    for verb in ("declare", "ack", "level", "update", "mitigated", "resolve", "status"):
        assert f"`/incident {verb}" in layout.HELP, verb
    unknown = await say(slack, "page everyone", channel)
    assert unknown.startswith("Unknown command `page`")
    assert layout.HELP in unknown

    await unchanged(slack, incident)
    await finish(slack, incident)


async def test_commands_outside_an_incident_channel_say_where_to_run_them(
    slack: SlackStack,
) -> None:
    incident, _ = await opened(slack)
    random = slack.fake.add_channel("random")

    for channel in (random, slack.announce, "D0NOTACHANNEL"):
        for verb in ("ack", "status", "resolve x", "level B it grew", "update hi"):
            reply = await say(slack, verb, channel)
            assert reply == layout.NOT_IN_INCIDENT, (channel, verb)
        assert await say(slack, "help", channel) == layout.HELP

    await unchanged(slack, incident)
    await finish(slack, incident)


# ------------------------------------------------------------------------ declaring forms


async def test_declare_opens_the_form_and_submitting_it_declares_the_incident(
    slack: SlackStack,
) -> None:
    channel = slack.fake.add_channel("ops")
    body = command("declare", channel)

    response = await post_signed(slack, COMMANDS, body)

    assert response.status_code == 200
    assert response.content == b""  # an empty 200: nothing to read, the form opens
    (view,) = opened_views(slack)
    assert view["callback_id"] == layout.DECLARE
    assert view["private_metadata"] == channel
    assert view["trigger_id"] == parse_qs(body.decode())["trigger_id"][0]

    values = {
        "title": text("Checkout down"),
        "level": option("B"),
        "type": option(IncidentType.SERVICE_OUTAGE.value),
        "service": text("checkout"),
        "description": text(""),
    }
    for blank in ("", "   "):
        refused = await submit(slack, layout.DECLARE, channel, {**values, "title": text(blank)})
        assert refused["response_action"] == "errors"
        assert set(refused["errors"]) == {"title"}

    assert await submit(slack, layout.DECLARE, channel, values) == {}

    async def declared() -> bool:
        return len(await slack.store.list_incidents()) == 1

    await eventually(declared, within=15)
    (incident,) = await slack.store.list_incidents()  # the refused forms declared nothing
    assert incident.title == "Checkout down"
    assert incident.level is Level.B
    assert incident.type is IncidentType.SERVICE_OUTAGE
    assert incident.service == "checkout"
    assert incident.declared_by == "Ada Okafor"
    await until(lambda: slack.fake.channel_by_name(layout.channel_name(incident)) is not None)
    assert len(slack.fake.calls_to("conversations.create")) == 1
    await finish(slack, incident)


async def test_the_declare_form_refuses_a_missing_level_or_type(slack: SlackStack) -> None:
    channel = slack.fake.add_channel("ops")
    values = {
        "title": text("Checkout down"),
        "level": {"type": "static_select", "selected_option": None},
        "type": option("meteor_strike"),
    }

    refused = await submit(slack, layout.DECLARE, channel, values)

    assert refused["response_action"] == "errors"
    assert set(refused["errors"]) == {"level", "type"}
    assert await slack.store.list_incidents() == []
    assert slack.fake.calls_to("conversations.create") == []


# ------------------------------------------------------------------------------- buttons


async def test_buttons_open_their_forms_and_the_forms_change_the_incident(
    slack: SlackStack,
) -> None:
    incident, channel = await opened(slack)
    expected = [layout.CHANGE_LEVEL, layout.POST_UPDATE, layout.RESOLVE]
    triggers: list[str] = []

    for action_id in expected:
        body = button(action_id, incident.id, ADA, channel)
        triggers.append(trigger_of(body))
        await press(slack, body)

    views = opened_views(slack)
    assert [v["callback_id"] for v in views] == expected
    assert [v["private_metadata"] for v in views] == [incident.id] * 3
    assert [v["trigger_id"] for v in views] == triggers
    assert told(slack) == []  # nothing went wrong, so nothing to tell
    await unchanged(slack, incident)

    no_reason = await submit(
        slack, layout.CHANGE_LEVEL, incident.id, {"level": option("C"), "reason": text("")}
    )
    assert no_reason["response_action"] == "errors"
    assert "reason" in no_reason["errors"]
    await unchanged(slack, incident)
    level_values = {"level": option("B"), "reason": text("EU only")}
    assert await submit(slack, layout.CHANGE_LEVEL, incident.id, level_values) == {}
    assert (await slack.service.current(incident.id)).level is Level.B

    update_values = {"text": text("Rolled back the deploy")}
    assert await submit(slack, layout.POST_UPDATE, incident.id, update_values) == {}
    assert (await slack.service.current(incident.id)).last_update_at is not None

    await press(slack, button(layout.MITIGATE, incident.id, ADA, channel))

    async def mitigated() -> bool:
        return (await slack.service.current(incident.id)).status is Status.MITIGATED

    await eventually(mitigated)

    resolve_values = {"summary": text("pool resized")}
    assert await submit(slack, layout.RESOLVE, incident.id, resolve_values) == {}

    async def resolved() -> bool:
        record = await slack.store.get_incident(incident.id)
        return record is not None and record.status is Status.RESOLVED

    await eventually(resolved, within=15)
    late = await submit(slack, layout.CHANGE_LEVEL, incident.id, level_values)
    assert late["response_action"] == "errors"
    assert "resolved" in late["errors"]["level"]
    await finish(slack, incident)


# --------------------------------------------------------------------------------- speed


async def test_answers_come_within_slacks_three_seconds_on_a_real_server(
    dev_slack: SlackStack,
) -> None:
    by_button, _ = await opened(dev_slack, level=Level.C)
    by_command, channel = await opened(dev_slack, level=Level.C, title="Search slow")

    started = time.perf_counter()
    await press(dev_slack, button(layout.ACK, by_button.id, ADA, channel))
    button_took = time.perf_counter() - started
    started = time.perf_counter()
    reply = await say(dev_slack, "ack", channel)
    command_took = time.perf_counter() - started

    print(f"ACK button answered in {button_took:.3f} s, /incident ack in {command_took:.3f} s")
    assert button_took < SLACK_BUDGET_SECONDS
    assert command_took < SLACK_BUDGET_SECONDS
    assert reply.startswith("Acknowledged")
    assert (await dev_slack.service.current(by_button.id)).acknowledged_by == "Ada Okafor"
    assert (await dev_slack.service.current(by_command.id)).acknowledged_by == "Ada Okafor"
    await finish(dev_slack, by_button)
    await finish(dev_slack, by_command)


async def test_while_temporal_is_stalled_slack_is_answered_at_once_and_the_outcome_follows(
    dev_slack: SlackStack,
) -> None:
    slack = dev_slack
    by_button, channel = await opened(slack, level=Level.C)
    await slack.stop_worker()  # nothing can apply a change now: updates wait for a worker

    started = time.perf_counter()
    hook = slack.fake.response_url("actions/stalled-ack")
    await press(slack, button(layout.ACK, by_button.id, ADA, channel, hook))
    button_took = time.perf_counter() - started
    started = time.perf_counter()
    response = await post_signed(
        slack, COMMANDS, command("update Rolling back", channel, response_url="commands/stalled")
    )
    command_took = time.perf_counter() - started

    assert button_took < SLACK_BUDGET_SECONDS
    assert command_took < SLACK_BUDGET_SECONDS
    assert response.json()["text"].startswith("Working on `update`")
    assert slack.fake.responses_to("actions/stalled-ack") == []

    await slack.start_worker()
    (acked,) = await until(lambda: slack.fake.responses_to("actions/stalled-ack") or None)
    (updated,) = await until(lambda: slack.fake.responses_to("commands/stalled") or None)
    assert acked["text"].startswith("Acknowledged")
    assert updated["text"].startswith("Update posted")
    live = await slack.service.current(by_button.id)
    assert live.acknowledged_by == "Ada Okafor"
    assert live.last_update_at is not None
    await finish(slack, by_button)


async def test_an_acknowledgement_pressed_while_no_worker_runs_is_kept_and_said_so(
    dev_slack: SlackStack,
) -> None:
    """As the API runs it: presses stamped by its clock, 10 s for the engine (1 s here). No
    worker takes the update in time, so the press is kept in the incident's workflow and the
    responder is told so, not "Not done" (ADR 0038)."""
    slack = dev_slack
    incident, channel = await opened(slack, level=Level.C)
    await slack.stop_worker()
    stamping = IncidentService(
        slack.env.client, slack.task_queue, slack.service.playbooks, call_timeout=1.0, clock=utcnow
    )
    slack.app.state.runtime = replace(slack.app.state.runtime, service=stamping)
    slack.app.state.slack_inbound = None

    hook = slack.fake.response_url("actions/kept-ack")
    pressed = utcnow()
    await press(slack, button(layout.ACK, incident.id, ADA, channel, hook))
    (kept,) = await until(lambda: slack.fake.responses_to("actions/kept-ack") or None)
    await slack.start_worker()
    live = await until(lambda: acknowledged(slack, incident))

    assert kept["text"].startswith(f"Ada Okafor's acknowledgement of {incident.id} was taken at")
    assert "counts from then" in kept["text"]
    assert live.acknowledged_by == "Ada Okafor"
    assert live.acknowledged_at is not None
    assert abs((live.acknowledged_at - pressed).total_seconds()) < 1
    await finish(slack, incident)


async def test_a_response_url_outside_slack_is_never_posted_to(slack: SlackStack) -> None:
    incident, channel = await opened(slack, level=Level.C)
    forged = "http://127.0.0.1:9/steal"  # signed by Slack, but pointing elsewhere
    # The channel is known before her page has asked Ada into it; an ephemeral reaches
    # members only, so the press waits for her to be one, as the card she presses implies.
    await until(lambda: ADA in slack.fake.members(channel))

    await press(slack, button(layout.ACK, incident.id, ADA, channel, forged))

    acked = await until(lambda: acknowledged(slack, incident))
    assert acked.acknowledged_by == "Ada Okafor"
    # The answer fell back to an ephemeral message in the channel.
    (told,) = await until(lambda: slack.fake.ephemerals(channel) or None)
    assert told["text"].startswith("Acknowledged")
    await finish(slack, incident)


async def test_an_answer_the_channel_cannot_show_comes_as_a_direct_message(
    slack: SlackStack,
) -> None:
    incident, channel = await opened(slack, level=Level.C)
    assert BEN not in slack.fake.members(channel)  # not paged: Slack shows him no ephemeral
    forged = "http://127.0.0.1:9/steal"

    await press(slack, button(layout.ACK, incident.id, BEN, channel, forged))

    acked = await until(lambda: acknowledged(slack, incident))
    assert acked.acknowledged_by == "Ben Lindqvist"
    (told,) = await until(lambda: slack.fake.dms_to(BEN) or None)
    assert told["text"].startswith("Acknowledged")
    assert slack.fake.ephemerals(channel) == []
    await finish(slack, incident)


# --------------------------------------------------------------------------------- roles

VIEWER = "U0VIEWER1"  # in the workspace, not in the roster


async def test_a_slack_user_without_the_role_is_told_so_privately_and_nothing_changes(
    ts_env: WorkflowEnvironment, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    directory = playbook_dir(tmp_path / "playbooks", levels={})
    roster = directory / "roster.yaml"
    roster.write_text(
        roster.read_text(encoding="utf-8")
        + "\nslack_access:\n  default: [viewer]\n  people:\n    Ada Okafor: [responder]\n",
        encoding="utf-8",
    )
    async for stack in open_slack_stack(ts_env, fake_slack, tmp_path, roster_dir=directory):
        incident, channel = await opened(stack)

        refused = await say(stack, "ack", channel, user=VIEWER)
        assert refused.startswith("Not done: you (")
        assert "may not respond to incidents" in refused
        assert "the role viewer" in refused
        assert "Triggered" in await say(stack, "status", channel, user=VIEWER)  # may read
        hook = stack.fake.response_url("actions/viewer-mitigate")
        await press(stack, button(layout.MITIGATE, incident.id, VIEWER, channel, hook))
        (answer,) = await until(partial(stack.fake.responses_to, "actions/viewer-mitigate"))
        assert answer["response_type"] == "ephemeral"
        assert "may not respond to incidents" in answer["text"]
        levelled = await say(stack, "level B calmer now", channel, user=ADA)
        assert "you (Ada Okafor) may not lead" in levelled
        await unchanged(stack, incident)

        acked = await say(stack, "ack", channel, user=ADA)  # a responder may
        assert acked.startswith("Acknowledged")
        assert (await stack.service.current(incident.id)).acknowledged_by == "Ada Okafor"
        await finish(stack, incident)
