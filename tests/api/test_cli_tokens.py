"""``tocsin tokens`` against the real API served on loopback: the README's commands, in order,
and the list as a table and as the API's ``{"items": [...]}``."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner, Result

from tests.api.conftest import TOKEN
from tests.api.messaging import Messaging
from tocsin.cli import app


async def tocsin(served: str, *args: str) -> Result:
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, app, ["--api-url", served, "--token", TOKEN, *args]
    )


async def test_tokens_are_created_listed_and_revoked_from_the_terminal(
    messaging: Messaging, served: str
) -> None:
    ada = await tocsin(
        served, "tokens", "create", "--name", "ada", "--role", "responder", "--person", "Ada Okafor"
    )
    assert ada.exit_code == 0, ada.output
    assert "token ada (responder, acting as Ada Okafor):" in ada.output
    bot = await tocsin(
        served, "tokens", "create", "--name", "chatops", "--role", "responder", "--acts-for-others"
    )
    assert bot.exit_code == 0, bot.output

    listed = await tocsin(served, "tokens", "list")
    assert listed.exit_code == 0, listed.output
    rows = {line.split()[0]: line for line in listed.output.splitlines()[1:]}
    assert "Ada Okafor" in rows["ada"]
    assert rows["ada"].endswith("live")
    assert " yes " in rows["chatops"]

    revoked = await tocsin(served, "tokens", "revoke", "ada")
    assert revoked.exit_code == 0, revoked.output
    as_json = json.loads((await tocsin(served, "--json", "tokens", "list")).output)
    states = {t["name"]: t["revoked_at"] is not None for t in as_json["items"]}
    assert states == {"ada": True, "chatops": False}
