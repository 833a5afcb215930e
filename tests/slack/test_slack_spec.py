"""The OpenAPI spec lists every answer Slack's endpoints give: a signed request handled (200),
an unsigned, forged or stale one (401), one too large (413), a signed one that is malformed
(422), each with the shape the spec says."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import jsonschema

from tests.slack.conftest import ADA, SIGNING_SECRET, SlackStack, interaction, signed

COMMANDS, INTERACTIONS = "/slack/commands", "/slack/interactions"
HELP = urlencode(
    {"command": "/incident", "text": "help", "user_id": ADA, "channel_id": "C0ANY"}
).encode()
CLOSED = interaction({"type": "view_closed", "user": {"id": ADA}})
TOO_LARGE = b"text=" + b"x" * (1024 * 1024 + 1)


def requests_for(path: str, handled: bytes) -> list[tuple[str, bytes, dict[str, str]]]:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return [
        ("handled", handled, signed(handled)),
        ("unsigned", handled, form),
        ("signed with another secret", handled, signed(handled, secret=SIGNING_SECRET[::-1])),
        ("signed an hour ago", handled, signed(handled, at=int(time.time()) - 3600)),
        ("too large", TOO_LARGE, signed(TOO_LARGE)),
        ("signed but malformed", b"user_id=&x=1", signed(b"user_id=&x=1")),
    ]


def answer_schema(spec: dict[str, Any], path: str, code: int) -> dict[str, Any] | None:
    """The JSON schema the spec gives for ``code`` at ``path``; None if it is not listed."""
    answer = spec["paths"][path]["post"]["responses"].get(str(code))
    if answer is None:
        return None
    schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
    return {**schema, "components": spec["components"]}


async def test_every_answer_of_the_slack_endpoints_is_in_the_spec(slack: SlackStack) -> None:
    async with slack.http() as http:
        spec = (await http.get("/openapi.json")).json()
        seen: dict[str, set[int]] = {COMMANDS: set(), INTERACTIONS: set()}
        for path, handled in ((COMMANDS, HELP), (INTERACTIONS, CLOSED)):
            for case, body, headers in requests_for(path, handled):
                response = await http.post(path, content=body, headers=headers)
                seen[path].add(response.status_code)
                schema = answer_schema(spec, path, response.status_code)
                assert schema is not None, (path, case, response.status_code, response.text)
                if response.content:
                    jsonschema.validate(response.json(), schema)

    assert seen == {COMMANDS: {200, 401, 413, 422}, INTERACTIONS: {200, 401, 413, 422}}


async def test_the_spec_says_what_a_slack_401_means(slack: SlackStack) -> None:
    async with slack.http() as http:
        spec = (await http.get("/openapi.json")).json()

    for path in (COMMANDS, INTERACTIONS):
        refused = spec["paths"][path]["post"]["responses"]["401"]
        assert "signature" in refused["description"], refused
        assert refused["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
