"""The ``tocsin message`` and ``tocsin subscribers`` commands against the real API, served on
loopback over the customer-messaging stack: the walk from draft to published in a terminal."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner, Result

from testkit.waiting import eventually
from tests.api.conftest import TOKEN
from tests.api.messaging import Messaging, declare, first_draft
from tocsin.cli import app


async def tocsin(served: str, *args: str) -> Result:
    """The command in a thread: the API it calls is served by this event loop."""
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, app, ["--api-url", served, "--token", TOKEN, *args]
    )


async def test_a_statement_walks_from_draft_to_published_in_the_terminal(
    messaging: Messaging, served: str
) -> None:
    m = messaging
    added = await tocsin(served, "subscribers", "add", "--email", "ops@example.com", "--by", "Gil")
    assert added.exit_code == 0, added.output
    incident = await declare(m)
    draft = await first_draft(m, incident["id"])

    listed = await tocsin(served, "messages", incident["id"])
    assert listed.exit_code == 0, listed.output
    assert draft["id"] in listed.output
    assert "investigating" in listed.output
    assert "draft" in listed.output

    approved = await tocsin(
        served,
        "message",
        "approve",
        draft["id"],
        "--body",
        "Card payments fail at checkout; we are on it.",
        "--by",
        "Gil Ramos",
    )
    assert approved.exit_code == 0, approved.output
    assert "published" in approved.output
    assert "by Gil Ramos" in approved.output
    assert "Card payments fail at checkout; we are on it." in approved.output

    twice = await tocsin(served, "message", "approve", draft["id"], "--by", "Hana Sato")
    assert twice.exit_code == 1
    assert "already approved by Gil Ramos" in twice.output

    await eventually(lambda: m.inbox.to("ops@example.com") or None)

    async def delivered() -> str | None:
        shown = await tocsin(served, "message", "show", draft["id"])
        return shown.output if "pending" not in shown.output and "email" in shown.output else None

    shown = await eventually(delivered)
    assert "ops@example.com" in shown
    assert "status_page" in shown
    assert "delivered" in shown


async def test_subscribers_are_added_listed_and_removed(messaging: Messaging, served: str) -> None:
    m = messaging
    hook = await tocsin(
        served, "subscribers", "add", "--webhook-url", m.hooks.url("ok"), "--by", "Gil"
    )
    assert hook.exit_code == 0, hook.output
    assert "whsec_" in hook.output
    assert "shown once" in hook.output

    listed = await tocsin(served, "subscribers", "list")
    assert m.hooks.url("ok") in listed.output
    assert "whsec_" not in listed.output
    subscriber_id = listed.output.splitlines()[1].split()[0]

    removed = await tocsin(served, "subscribers", "remove", subscriber_id)
    assert removed.exit_code == 0, removed.output
    assert (await tocsin(served, "subscribers", "list")).output.strip() == "no subscribers"
    none = await tocsin(served, "subscribers", "add", "--by", "Gil")
    assert none.exit_code == 1
    assert "exactly one of email or webhook_url" in none.output
