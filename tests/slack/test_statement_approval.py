"""A statement for customers approved from Slack: the communications lead's direct message has
Approve, Edit (a form with the text) and Reject (a form asking why)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from temporalio.service import RPCError

from adapters.slack import layout
from domain.models import Actor, Declaration, Incident, IncidentType, Level
from domain.statements import Statement, StatementStatus
from testkit.waiting import eventually
from tests.slack.conftest import SlackStack, button, command, interaction, post_signed
from workflows.ids import statements_workflow_id, workflow_id

GIL = "U0PR00001"  # brand / PR primary in the bundled roster: the comms lead


async def declare(stack: SlackStack) -> Incident:
    return await stack.service.declare(
        Declaration(
            title="Checkout failing",
            level=Level.A,
            type=IncidentType.SERVICE_OUTAGE,
            service="checkout",
            declared_by=Actor(name="Alice"),
        )
    )


async def finish(stack: SlackStack, incident: Incident) -> None:
    for wf in (workflow_id(incident.id), statements_workflow_id(incident.id)):
        with contextlib.suppress(RPCError):
            await stack.env.client.get_workflow_handle(wf).terminate()


async def approval_dm(stack: SlackStack, incident: Incident) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        for message in stack.fake.dms_to(GIL):
            if incident.id in message.get("text", "") and "APPROVE" in message.get("text", ""):
                return message
        return None

    return await eventually(found, what="the approval request in Gil's DMs")


def buttons(message: dict[str, Any]) -> dict[str, str]:
    return {
        element["action_id"]: element["value"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }


async def stored(stack: SlackStack, message_id: str, status: StatementStatus) -> Statement:
    async def check() -> Statement | None:
        found = await stack.store.statements.get(message_id)
        return found if found is not None and found.status is status else None

    return await eventually(check, what=f"{message_id} {status.value}")


def submission(callback_id: str, message_id: str, block: str, text: str) -> bytes:
    return interaction(
        {
            "type": "view_submission",
            "user": {"id": GIL, "username": "gil", "name": "gil"},
            "view": {
                "callback_id": callback_id,
                "private_metadata": message_id,
                "state": {
                    "values": {block: {"value": {"type": "plain_text_input", "value": text}}}
                },
            },
        }
    )


async def test_approve_in_the_direct_message_publishes_the_draft(slack: SlackStack) -> None:
    incident = await declare(slack)
    dm = await approval_dm(slack, incident)
    message_id = buttons(dm)[layout.STATEMENT_APPROVE]
    assert set(buttons(dm)) == {
        layout.STATEMENT_APPROVE,
        layout.STATEMENT_EDIT,
        layout.STATEMENT_REJECT,
    }

    press = button(
        layout.STATEMENT_APPROVE, message_id, GIL, response_url=slack.fake.response_url("a1")
    )
    response = await post_signed(slack, "/slack/interactions", press)

    assert response.status_code == 200
    published = await stored(slack, message_id, StatementStatus.PUBLISHED)
    assert published.approved_by == "Gil Ramos"
    (answer,) = await eventually(lambda: slack.fake.responses_to("a1"))
    assert answer["text"].startswith(f"Approved and published: statement {message_id}")

    again = button(
        layout.STATEMENT_APPROVE, message_id, GIL, response_url=slack.fake.response_url("a2")
    )
    await post_signed(slack, "/slack/interactions", again)
    (refused,) = await eventually(lambda: slack.fake.responses_to("a2"))
    assert "already approved by Gil Ramos" in refused["text"]
    await finish(slack, incident)


async def test_edit_opens_the_text_and_approves_it_as_edited(slack: SlackStack) -> None:
    incident = await declare(slack)
    message_id = buttons(await approval_dm(slack, incident))[layout.STATEMENT_EDIT]

    await post_signed(slack, "/slack/interactions", button(layout.STATEMENT_EDIT, message_id, GIL))

    (view,) = await eventually(lambda: list(slack.fake.views.values()) or None)
    assert view["callback_id"] == layout.STATEMENT_EDIT
    assert view["private_metadata"] == message_id
    draft = await stored(slack, message_id, StatementStatus.DRAFT)
    assert draft.body in json.dumps(view["blocks"])

    empty = await post_signed(
        slack, "/slack/interactions", submission(layout.STATEMENT_EDIT, message_id, "body", "")
    )
    assert empty.json() == {"response_action": "errors", "errors": {"body": "write the statement"}}
    edited = "Card payments fail at checkout; we are rolling back."
    done = await post_signed(
        slack, "/slack/interactions", submission(layout.STATEMENT_EDIT, message_id, "body", edited)
    )

    assert done.json() == {}
    published = await stored(slack, message_id, StatementStatus.PUBLISHED)
    assert published.body == edited
    await finish(slack, incident)


async def test_reject_asks_why_and_a_fresh_draft_follows(slack: SlackStack) -> None:
    incident = await declare(slack)
    message_id = buttons(await approval_dm(slack, incident))[layout.STATEMENT_REJECT]

    await post_signed(
        slack, "/slack/interactions", button(layout.STATEMENT_REJECT, message_id, GIL)
    )
    (view,) = await eventually(lambda: list(slack.fake.views.values()) or None)
    assert view["callback_id"] == layout.STATEMENT_REJECT
    done = await post_signed(
        slack,
        "/slack/interactions",
        submission(layout.STATEMENT_REJECT, message_id, "reason", "name the payment provider"),
    )

    assert done.json() == {}
    rejected = await stored(slack, message_id, StatementStatus.REJECTED)
    assert rejected.rejected_reason == "name the payment provider"

    async def fresh_draft() -> list[Statement] | None:
        found = await slack.store.statements.of_incident(incident.id)
        return [m for m in found if m.status is StatementStatus.DRAFT] or None

    (fresh,) = await eventually(fresh_draft)
    assert fresh.due_at == rejected.due_at
    await finish(slack, incident)


async def test_the_review_is_written_from_the_incident_channel(slack: SlackStack) -> None:
    incident = await declare(slack)
    await slack.service.acknowledge(incident.id, Actor(name="Ada Okafor"))
    await slack.service.resolve(incident.id, Actor(name="Ada Okafor"), "rolled back")
    review = await eventually(lambda: slack.store.reviews.of_incident(incident.id))
    channel = await eventually(lambda: _channel(slack, incident))

    opened = await post_signed(slack, "/slack/commands", command("review", channel))

    assert opened.status_code == 200
    (view,) = await eventually(lambda: list(slack.fake.views.values()) or None)
    assert view["callback_id"] == layout.REVIEW_EDIT
    assert view["private_metadata"] == review.id
    assert "rolled back" in json.dumps(view["blocks"])  # prefilled with the summary
    values = {
        "summary": "Checkout failed for 20 minutes.",
        "root_cause": "A feature flag defaulted on.",
        "lessons": "Flags ship off\nCanary every deploy\n",
    }
    saved = await post_signed(
        slack,
        "/slack/interactions",
        interaction(
            {
                "type": "view_submission",
                "user": {"id": "U0TECH001", "username": "ada", "name": "ada"},
                "view": {
                    "callback_id": layout.REVIEW_EDIT,
                    "private_metadata": review.id,
                    "state": {
                        "values": {
                            block: {"value": {"type": "plain_text_input", "value": text}}
                            for block, text in values.items()
                        }
                    },
                },
            }
        ),
    )

    assert saved.json() == {}
    stored = await slack.store.reviews.get(review.id)
    assert stored is not None
    assert stored.root_cause == "A feature flag defaulted on."
    assert stored.lessons == ["Flags ship off", "Canary every deploy"]
    await finish(slack, incident)


async def _channel(stack: SlackStack, incident: Incident) -> str | None:
    found = stack.fake.channel_by_name(layout.channel_name(incident))
    return found.id if found is not None else None
