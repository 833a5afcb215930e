"""How tocsin answers the person behind a Slack request, within Slack's 3 seconds or after.

Slack shows an error unless it has an answer within 3 seconds. Work that is done within
``INLINE`` is answered in the reply; longer work goes on, and its outcome follows through the
request's response_url (or, for a form, a direct message).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError

from adapters.slack.client import SlackApi, error_code
from adapters.slack.inbound.payloads import Where
from domain.errors import (
    AcknowledgementTaken,
    DrillNotFound,
    IncidentConflict,
    IncidentNotFound,
    InvalidAction,
    StatementNotFound,
    TemporalUnavailable,
)

log = logging.getLogger(__name__)

INLINE = 1.5
# Calls to Slack while Slack waits (views.open must use its trigger within 3 s).
ANSWER_WITHIN = 2.5
# However slow Temporal is, an answer that follows is given up on after this.
FOLLOW_UP_WITHIN = 60.0

# Slack shows an ephemeral to members of a channel it can post in; a person who pressed a card
# without being one (a public channel previewed, a page whose invitation has not landed yet,
# a channel archived since) is answered directly instead.
_NOT_SHOWN_THERE = frozenset(
    {"user_not_in_channel", "not_in_channel", "channel_not_found", "is_archived"}
)

_T = TypeVar("_T")


def ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": text}


def form_errors(**errors: str) -> dict[str, Any]:
    """The answer that keeps a form open with ``errors`` under its blocks."""
    return {"response_action": "errors", "errors": errors}


class Kept(str):
    """Not a refusal: an acknowledgement that no worker applied in time, which Temporal keeps
    and applies when one does (ADR 0038). The text says so and when it was taken."""


async def outcome(call: Awaitable[_T], within: float) -> _T | str:
    """The changed incident, statement, review or drill, or why there is none (a ``Kept``
    acknowledgement: why there is none yet)."""
    try:
        async with asyncio.timeout(within):
            return await call
    except AcknowledgementTaken as exc:
        return Kept(f"{exc.by}'s acknowledgement of {exc.incident_id} was taken at "
                    f"{exc.acted_at:%H:%M:%S} UTC and counts from then; tocsin is slow to "
                    "answer and applies it as soon as it can.")  # fmt: skip
    except TimeoutError:
        return (
            f"no answer from the workflow engine within {within:.0f}s; "
            "watch the incident channel for the change."
        )
    except (IncidentConflict, InvalidAction) as exc:
        return str(exc)
    except IncidentNotFound:
        return "that incident no longer exists."
    except DrillNotFound as exc:
        return str(exc)
    except StatementNotFound:
        return "that statement no longer exists."
    except TemporalUnavailable:
        return "the workflow engine is unavailable; try again in a moment."


class Replies:
    """Long-lived: the work a request left running is kept here until it has answered."""

    def __init__(self, api: SlackApi | None, hooks_url: str) -> None:
        self._api = api
        self._hooks_url = hooks_url
        self._http = httpx.AsyncClient(timeout=10.0)
        self._running: set[asyncio.Task[Any]] = set()

    async def aclose(self, within: float = 5.0) -> None:
        """Let work that is still answering finish (for a while), then close."""
        if self._running:
            await asyncio.wait(self._running, timeout=within)
        await self._http.aclose()

    def keep(self, work: Awaitable[None]) -> None:
        """Run ``work`` after the answer; kept here so it is neither lost nor silent."""
        task = asyncio.ensure_future(work)
        self._running.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("answering a Slack request failed: %r", task.exception())

    async def follow(
        self, call: Awaitable[_T], where: Where, describe: Callable[[_T], str]
    ) -> None:
        """The outcome of a press, told privately once it is known."""
        result = await outcome(call, FOLLOW_UP_WITHIN)
        if isinstance(result, Kept):
            text = str(result)
        elif isinstance(result, str):
            text = f"Not done: {result}"
        else:
            text = describe(result)
        await self.tell(*where, text)

    async def form(
        self, call: Awaitable[_T], block: str, user: str, describe: Callable[[_T], str]
    ) -> dict[str, Any]:
        """A form's answer: closed when the change is done, open with the reason under
        ``block`` when it is refused; a change that takes longer than Slack waits closes it,
        and its outcome follows as a direct message."""
        task = asyncio.ensure_future(outcome(call, FOLLOW_UP_WITHIN))
        finished, _ = await asyncio.wait({task}, timeout=INLINE)
        if task in finished:
            result = task.result()
            return form_errors(**{block: result}) if isinstance(result, str) else {}
        self.keep(self._follow_form(task, user, describe))
        return {}

    async def _follow_form(
        self, task: asyncio.Future[_T | str], user: str, describe: Callable[[_T], str]
    ) -> None:
        result = await task
        await self.post(
            user, f"Not done: {result}" if isinstance(result, str) else describe(result)
        )

    async def open_modal(self, trigger_id: str | None, view: dict[str, Any]) -> str:
        """Why the form did not open, or ""."""
        if self._api is None or trigger_id is None:
            return "forms need the Slack bot token (TOCSIN_SLACK_BOT_TOKEN) on the API."
        try:
            async with asyncio.timeout(ANSWER_WITHIN):
                await self._api.call("views.open", trigger_id=trigger_id, view=view)
        except (SlackApiError, TimeoutError, OSError, aiohttp.ClientError) as exc:
            log.warning("views.open failed: %s", type(exc).__name__)
            return "Slack did not open the form; try again."
        return ""

    async def open_or_tell(
        self, trigger_id: str | None, view: dict[str, Any], where: Where
    ) -> None:
        """A form opened for a press; the trigger expires with Slack's 3 seconds, so it opens
        now or the presser is told why not."""
        problem = await self.open_modal(trigger_id, view)
        if problem:
            self.keep(self.tell(*where, problem))

    async def tell(
        self, response_url: str | None, channel: str | None, user: str, text: str
    ) -> None:
        """An answer only the person who acted sees: through the request's response_url, or
        as an ephemeral message in the channel when there is none, or as a direct message
        when Slack cannot show them one there."""
        if response_url and response_url.startswith(self._hooks_url):
            message = {"response_type": "ephemeral", "replace_original": False, "text": text}
            try:
                (await self._http.post(response_url, json=message)).raise_for_status()
            except httpx.HTTPError as exc:
                log.warning("response_url answer failed: %s", type(exc).__name__)
            return
        if response_url:
            # Only Slack's own hooks: a forged URL must not make tocsin post elsewhere.
            log.warning("ignored a response_url outside %s", self._hooks_url)
        if self._api is None or channel is None or not text:
            return
        try:
            await self._api.call("chat.postEphemeral", channel=channel, user=user, text=text)
        except SlackApiError as exc:
            if error_code(exc) in _NOT_SHOWN_THERE:
                await self.post(user, text)
            else:
                log.warning("chat.postEphemeral failed: %s", error_code(exc) or "SlackApiError")
        except (OSError, aiohttp.ClientError) as exc:
            log.warning("chat.postEphemeral failed: %s", type(exc).__name__)

    async def post(self, user: str, text: str) -> None:
        """A direct message to a user, for outcomes that have no response_url."""
        if self._api is None:
            return
        try:
            await self._api.call("chat.postMessage", channel=user, text=text)
        except (SlackApiError, OSError, aiohttp.ClientError) as exc:
            log.warning("chat.postMessage to %s failed: %s", user, type(exc).__name__)
