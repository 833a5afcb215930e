"""A local fake of the Slack Web API for tests: an ASGI app that the real
``slack_sdk.web.async_client.AsyncWebClient`` talks to over HTTP on 127.0.0.1.

It keeps channels, members, messages and views, answers in Slack's shapes (``{"ok": true, ...}``,
errors as ``{"ok": false, "error": "..."}`` with HTTP 200), records every request as a `Call`
and can be told to fail the next calls (HTTP 429 with ``Retry-After``, 5xx, or a Slack error).

Use it as ``async with serve_fake_slack() as fake:`` (the tests' ``fake_slack`` fixture does), and
point the client at it: ``AsyncWebClient(token=fake.token, base_url=fake.base_url)``.

Arguments arrive the ways ``slack_sdk`` sends them and are merged into one dict: the query string
(``params=``: every GET method and also POSTs such as ``conversations.create``,
``conversations.invite`` and ``conversations.open``, with booleans as ``"1"``/``"0"``), a
form-encoded body (``data=``) or a JSON body (``json=``: ``chat.postMessage``, ``chat.update``,
``chat.postEphemeral``, ``views.*``). ``blocks``, ``attachments``, ``metadata`` and ``view``
given as JSON-encoded strings are decoded, so `Call.args` holds structures for them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import json
import re
import time
import traceback
from collections.abc import AsyncIterator, Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

BOT_USER_ID = "U0BOT0001"
BOT_ID = "B0BOT0001"
APP_ID = "A0APP0001"
TEAM_ID = "T0TEAM001"
TEAM_NAME = "tocsin test"
TEAM_URL = "https://tocsin-test.slack.com/"
DEFAULT_TOKEN = "xoxb-test-token"

# Arguments that Slack takes as JSON; sent form-encoded (or by hand) they are JSON strings.
JSON_ARGUMENTS = ("blocks", "attachments", "metadata", "view")

_CHANNEL_NAME = re.compile(r"[a-z0-9_-]+")
_USER_ID = re.compile(r"[UW][A-Z0-9]+")
_SERVER_ERRORS = {500: "internal_error", 503: "service_unavailable", 504: "request_timeout"}
_PLAIN_BODIES = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Call:
    """One request the fake answered, in arrival order."""

    method: str
    args: dict[str, Any]
    at: float  # time.monotonic() on arrival
    token: str | None
    status: int  # the HTTP status answered
    # The caller's port: calls over one kept-open connection share it.
    client_port: int | None = None


@dataclass
class FakeChannel:
    """A conversation: a channel, an IM (``is_im``, with ``user``) or a group DM (``is_mpim``)."""

    id: str
    name: str
    is_private: bool
    created: int
    creator: str
    members: list[str]
    is_archived: bool = False
    is_im: bool = False
    is_mpim: bool = False
    user: str | None = None
    topic: str = ""
    purpose: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    ephemeral: list[dict[str, Any]] = field(default_factory=list)

    def to_api(self, *, num_members: bool = False) -> dict[str, Any]:
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.user,
                "is_user_deleted": False,
                "priority": 0,
            }
        answer: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_mpim,
            "is_group": False,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private,
            "created": self.created,
            "is_archived": self.is_archived,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "creator": self.creator,
            "is_member": BOT_USER_ID in self.members,
            "topic": {"value": self.topic, "creator": "", "last_set": 0},
            "purpose": {"value": self.purpose, "creator": "", "last_set": 0},
        }
        if num_members:
            answer["num_members"] = len(self.members)
        return answer


@dataclass
class _Fault:
    remaining: int
    status: int
    retry_after: int | None
    method: str | None
    error: str | None
    plain: bool
    processed: bool


class SlackError(Exception):
    """Raised by a method handler: answered as ``{"ok": false, "error": code, **extra}``."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


Handler = Callable[[dict[str, Any]], dict[str, Any]]


class FakeSlack:
    """The fake workspace: state, recorded calls, injected faults, and the ASGI `app`."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.port: int | None = None
        self.calls: list[Call] = []
        self.channels: dict[str, FakeChannel] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.internal_errors: list[str] = []
        self._faults: list[_Fault] = []
        self._ims: dict[frozenset[str], str] = {}
        self._counter = 0
        self._last_ts_us = 0
        self._handlers: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "conversations.create": self._conversations_create,
            "conversations.list": self._conversations_list,
            "conversations.info": self._conversations_info,
            "conversations.invite": self._conversations_invite,
            "conversations.join": self._conversations_join,
            "conversations.members": self._conversations_members,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.setTopic": self._conversations_set_topic,
            "conversations.setPurpose": self._conversations_set_purpose,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "users.info": self._users_info,
        }
        self.add_user(BOT_USER_ID, "tocsin", "Tocsin", is_bot=True)
        # What tocsin posted to each response_url (``/hooks/<path>``), in order.
        self.responses: dict[str, list[dict[str, Any]]] = {}
        # Methods answered only after a pause, and the most calls of each in flight at once.
        self._slow: dict[str, float] = {}
        self._in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/hooks/{path:path}", self._hook, methods=["POST"]),
            ]
        )

    # ------------------------------------------------------------------ for tests

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/api/``: the client appends the method name."""
        if self.port is None:
            raise RuntimeError("the fake is not being served: use serve_fake_slack()")
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def hooks_url(self) -> str:
        """Where this fake's response_urls live, as ``https://hooks.slack.com/`` for Slack."""
        return self.base_url.removesuffix("api/") + "hooks/"

    def response_url(self, name: str) -> str:
        """A response_url for a request a test builds; read back with ``responses_to``."""
        return f"{self.hooks_url}{name}"

    def responses_to(self, name: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.responses.get(name, []))

    @property
    def methods(self) -> list[str]:
        """The Web API methods the fake implements (any other answers ``unknown_method``)."""
        return sorted(self._handlers)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 500,
        retry_after: int | None = None,
        method: str | None = None,
        error: str | None = None,
        plain: bool = False,
        processed: bool = False,
    ) -> None:
        """Answer the next ``n`` calls (to ``method`` if given, else any) with a failure.

        - ``status=429``: ``{"ok": false, "error": "ratelimited"}`` with ``Retry-After``
          (``retry_after``, 1 if not given), as Slack rate-limits.
        - ``status`` 5xx (or another 4xx): ``{"ok": false, "error": "internal_error"}`` (or the
          code for that status), or with ``plain=True`` a ``text/plain`` body as Slack's edge
          sends; ``Retry-After`` too when ``retry_after`` is given.
        - ``status=200``: a Slack error ``{"ok": false, "error": error}`` (default
          ``fatal_error``), e.g. ``fail_next(error="channel_not_found", method=...)``.

        ``processed=True`` carries the call out before answering the failure: a lost response,
        as when Slack posted the message but the client saw a 5xx or a timeout.
        Faulted calls are recorded with the status answered. Faults queue in order.
        """
        if n < 1:
            raise ValueError("n must be at least 1")
        self._faults.append(_Fault(n, status, retry_after, method, error, plain, processed))

    def slow(self, method: str, seconds: float) -> None:
        """Answer ``method`` only after ``seconds``: calls then overlap as they would when
        Slack is slow, and ``max_in_flight`` shows how many did."""
        self._slow[method] = seconds

    def clear_faults(self) -> None:
        self._faults.clear()

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str | None = None,
        *,
        display_name: str | None = None,
        is_bot: bool = False,
    ) -> dict[str, Any]:
        """Register a user for ``users.info`` (ids are ``U...`` or ``W...``)."""
        real = real_name if real_name is not None else name
        shown = display_name if display_name is not None else real
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "deleted": False,
            "real_name": real,
            "tz": "Europe/Paris",
            "tz_label": "Central European Time",
            "tz_offset": 3600,
            "is_admin": False,
            "is_owner": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
            "profile": {
                "real_name": real,
                "real_name_normalized": real,
                "display_name": shown,
                "display_name_normalized": shown,
                "team": TEAM_ID,
            },
        }
        if is_bot:
            user["profile"]["bot_id"] = BOT_ID
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        name: str,
        *,
        is_private: bool = False,
        members: Iterable[str] = (),
        bot_is_member: bool = True,
        is_archived: bool = False,
    ) -> str:
        """A channel that exists before the test (an announcements channel, say); its id.

        With ``bot_is_member=False`` a public channel answers posts with ``not_in_channel``
        until ``conversations.join``; a private one is invisible (``channel_not_found``)."""
        if self.channel_by_name(name) is not None:
            raise ValueError(f"channel {name} exists")
        people = list(dict.fromkeys(members))
        if bot_is_member and BOT_USER_ID not in people:
            people.insert(0, BOT_USER_ID)
        channel = FakeChannel(
            id=self._new_id("C"),
            name=name,
            is_private=is_private,
            created=int(time.time()),
            creator="U0ADMIN01",
            members=people,
            is_archived=is_archived,
        )
        self.channels[channel.id] = channel
        return channel.id

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str = "U0HUMAN01",
        blocks: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """A message someone else posted (not the bot's: ``chat.update`` refuses it); its ts."""
        target = self._get(channel)
        message: dict[str, Any] = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": self._next_ts(),
            "team": TEAM_ID,
        }
        if blocks is not None:
            message["blocks"] = blocks
        if metadata is not None:
            message["metadata"] = metadata
        self._append(target, message, thread_ts)
        return str(message["ts"])

    def channel_by_name(self, name: str) -> FakeChannel | None:
        name = name.removeprefix("#")
        for channel in self.channels.values():
            if channel.name == name and not channel.is_im:
                return channel
        return None

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Every message in the channel (id or ``#name``), oldest first, thread replies
        included, with metadata: copies."""
        return copy.deepcopy(self._get(channel).messages)

    def ephemerals(self, channel: str) -> list[dict[str, Any]]:
        """Ephemeral messages posted in the channel, each with the ``user`` who saw it."""
        return copy.deepcopy(self._get(channel).ephemeral)

    def members(self, channel: str) -> set[str]:
        return set(self._get(channel).members)

    def im_channel(self, user_id: str) -> str | None:
        """The IM channel id opened with ``user_id`` (``conversations.open`` or a post to the
        user id), if any."""
        return self._ims.get(frozenset({user_id}))

    def dms_to(self, user_id: str) -> list[dict[str, Any]]:
        """Messages posted into the IM channel with ``user_id``, oldest first."""
        channel = self.im_channel(user_id)
        return [] if channel is None else self.messages(channel)

    def reset(self) -> None:
        """Forget all state, calls and faults (users too, except the bot)."""
        self.calls.clear()
        self.channels.clear()
        self.users.clear()
        self.views.clear()
        self.internal_errors.clear()
        self._faults.clear()
        self._ims.clear()
        self.add_user(BOT_USER_ID, "tocsin", "Tocsin", is_bot=True)

    # ------------------------------------------------------------------ HTTP

    async def _endpoint(self, request: Request) -> Response:
        method = str(request.path_params["method"])
        at = time.monotonic()
        args: dict[str, Any] = {}
        token: str | None = None
        self._in_flight[method] = self._in_flight.get(method, 0) + 1
        self.max_in_flight[method] = max(self.max_in_flight.get(method, 0), self._in_flight[method])
        try:
            if method in self._slow:
                await asyncio.sleep(self._slow[method])
            args, token, bad_body = await _read_args(request)
            fault = self._take_fault(method)
            response: Response
            if fault is not None and not fault.processed:
                response = _fault_response(fault)
            else:
                body = self._answer(method, token, args) if bad_body is None else bad_body
                response = _fault_response(fault) if fault is not None else JSONResponse(body)
        except Exception:
            self.internal_errors.append(traceback.format_exc())
            response = JSONResponse(
                {"ok": False, "error": "fake_slack_internal_error"}, status_code=500
            )
        finally:
            self._in_flight[method] -= 1
        port = request.client.port if request.client is not None else None
        self.calls.append(Call(method, args, at, token, response.status_code, port))
        return response

    async def _hook(self, request: Request) -> Response:
        """A response_url: Slack takes a JSON message and answers ``ok`` in plain text."""
        path = str(request.path_params["path"])
        try:
            body = json.loads(await request.body())
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        self.responses.setdefault(path, []).append(body)
        return PlainTextResponse("ok")

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method is None or fault.method == method:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _answer(self, method: str, token: str | None, args: dict[str, Any]) -> dict[str, Any]:
        if token is None:
            return {"ok": False, "error": "not_authed"}
        if token != self.token:
            return {"ok": False, "error": "invalid_auth"}
        handler = self._handlers.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        try:
            return {"ok": True, **handler(args)}
        except SlackError as exc:
            return {"ok": False, "error": exc.code, **exc.extra}

    # ------------------------------------------------------------------ helpers

    def _new_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter:07d}"

    def _next_ts(self) -> str:
        now = time.time_ns() // 1000
        self._last_ts_us = max(now, self._last_ts_us + 1)
        seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _get(self, channel: str) -> FakeChannel:
        found = self.channel_by_name(channel) if channel.startswith("#") else None
        found = found or self.channels.get(channel)
        if found is None:
            raise KeyError(f"no channel {channel}")
        return found

    def _visible(self, channel: FakeChannel) -> bool:
        hidden = channel.is_private or channel.is_im or channel.is_mpim
        return not hidden or BOT_USER_ID in channel.members

    def _lookup(
        self, args: dict[str, Any], *, by_name: bool = False, by_user: bool = False
    ) -> FakeChannel:
        ref = args.get("channel")
        if not isinstance(ref, str) or not ref:
            raise SlackError("channel_not_found")
        found: FakeChannel | None
        if by_name and ref.startswith("#"):
            found = self.channel_by_name(ref[1:])
        elif by_user and _USER_ID.fullmatch(ref):
            found = self.channels[self._open_conversation([ref])[0]]
        else:
            found = self.channels.get(ref)
        if found is None or not self._visible(found):
            raise SlackError("channel_not_found")
        return found

    def _require_member(self, channel: FakeChannel) -> None:
        if BOT_USER_ID not in channel.members:
            raise SlackError("not_in_channel")

    def _require_open(self, channel: FakeChannel) -> None:
        if channel.is_archived:
            raise SlackError("is_archived")

    def _open_conversation(self, users: list[str]) -> tuple[str, bool]:
        """The IM (one user) or group DM (several) with these users: (id, already open)."""
        key = frozenset(users)
        known = self._ims.get(key)
        if known is not None:
            return known, True
        if len(users) == 1:
            channel = FakeChannel(
                id=self._new_id("D"),
                name=users[0],
                is_private=True,
                created=int(time.time()),
                creator=BOT_USER_ID,
                members=[BOT_USER_ID, users[0]],
                is_im=True,
                user=users[0],
            )
        else:
            names = [self.users.get(u, {}).get("name", u.lower()) for u in users]
            channel = FakeChannel(
                id=self._new_id("G"),
                name="mpdm-" + "--".join([*names, "tocsin"]) + "-1",
                is_private=True,
                created=int(time.time()),
                creator=BOT_USER_ID,
                members=[BOT_USER_ID, *users],
                is_mpim=True,
            )
        self.channels[channel.id] = channel
        self._ims[key] = channel.id
        return channel.id, False

    def _append(self, channel: FakeChannel, message: dict[str, Any], thread_ts: Any) -> None:
        if isinstance(thread_ts, str) and thread_ts:
            message["thread_ts"] = thread_ts
            parent = _find(channel, thread_ts)
            if parent is not None and parent is not message:
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
                parent["latest_reply"] = message["ts"]
                users = parent.setdefault("reply_users", [])
                if message["user"] not in users:
                    users.append(message["user"])
        channel.messages.append(message)

    def _bot_message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        _check_content(args)
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": args.get("text") or "",
            "ts": ts,
        }
        for key in ("blocks", "attachments", "metadata"):
            if args.get(key) is not None:
                message[key] = copy.deepcopy(args[key])
        return message

    # ------------------------------------------------------------------ methods

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": TEAM_URL,
            "team": TEAM_NAME,
            "user": "tocsin",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _conversations_create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = args.get("name")
        if not isinstance(name, str) or not name:
            raise SlackError("invalid_name_required")
        if len(name) > 80:
            raise SlackError("invalid_name_maxlength")
        if not _CHANNEL_NAME.fullmatch(name):
            raise SlackError("invalid_name_specials")
        if not re.search(r"[a-z0-9]", name):
            raise SlackError("invalid_name_punctuation")
        if self.channel_by_name(name) is not None:
            raise SlackError("name_taken")
        channel = FakeChannel(
            id=self._new_id("C"),
            name=name,
            is_private=_flag(args.get("is_private")),
            created=int(time.time()),
            creator=BOT_USER_ID,
            members=[BOT_USER_ID],
        )
        self.channels[channel.id] = channel
        return {"channel": channel.to_api()}

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        types = {t.strip() for t in str(args.get("types") or "public_channel").split(",")}
        exclude_archived = _flag(args.get("exclude_archived"))
        listed = []
        for channel in self.channels.values():
            if channel.is_im:
                kind = "im"
            elif channel.is_mpim:
                kind = "mpim"
            else:
                kind = "private_channel" if channel.is_private else "public_channel"
            if kind not in types or not self._visible(channel):
                continue
            if exclude_archived and channel.is_archived:
                continue
            listed.append(channel.to_api(num_members=not channel.is_im))
        page, next_cursor = _page(listed, args, default_limit=100, max_limit=1000)
        return {"channels": page, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._lookup(args)
        return {"channel": channel.to_api(num_members=_flag(args.get("include_num_members")))}

    def _conversations_invite(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._lookup(args)
        if channel.is_im or channel.is_mpim:
            raise SlackError("method_not_supported_for_channel_type")
        self._require_member(channel)
        self._require_open(channel)
        users = _id_list(args.get("users"))
        if not users:
            raise SlackError("no_user")
        for user in users:
            if not _USER_ID.fullmatch(user):
                raise SlackError("user_not_found")
            if user == BOT_USER_ID:
                raise SlackError("cant_invite_self")
        new = [user for user in users if user not in channel.members]
        if not new:
            raise SlackError("already_in_channel")
        channel.members.extend(new)
        return {"channel": channel.to_api()}

    def _conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        ref = args.get("channel")
        found = self.channels.get(ref) if isinstance(ref, str) else None
        if found is None or (found.is_private and BOT_USER_ID not in found.members):
            raise SlackError("channel_not_found")
        if found.is_private or found.is_im or found.is_mpim:
            raise SlackError("method_not_supported_for_channel_type")
        self._require_open(found)
        if BOT_USER_ID in found.members:
            return {
                "channel": found.to_api(),
                "warning": "already_in_channel",
                "response_metadata": {"warnings": ["already_in_channel"]},
            }
        found.members.append(BOT_USER_ID)
        return {"channel": found.to_api()}

    def _conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._lookup(args)
        page, next_cursor = _page(channel.members, args, default_limit=100, max_limit=1000)
        return {"members": page, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            channel = self._lookup(args)
            return {
                "channel": channel.to_api() if _flag(args.get("return_im")) else {"id": channel.id}
            }
        users = [user for user in _id_list(args.get("users")) if user != BOT_USER_ID]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 8:
            raise SlackError("too_many_users")
        for user in users:
            if not _USER_ID.fullmatch(user):
                raise SlackError("user_not_found")
        channel_id, already = self._open_conversation(users)
        channel = self.channels[channel_id]
        answer: dict[str, Any] = {}
        if already:
            answer.update(no_op=True, already_open=True)
        full = _flag(args.get("return_im"))
        answer["channel"] = channel.to_api() if full else {"id": channel_id}
        return answer

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._lookup(args)
        self._require_member(channel)
        with_metadata = _flag(args.get("include_all_metadata"))
        inclusive = _flag(args.get("inclusive"))
        oldest = _ts_arg(args.get("oldest"))
        latest = _ts_arg(args.get("latest"))
        listed = []
        for message in reversed(channel.messages):
            if message.get("thread_ts") not in (None, message["ts"]):
                continue  # a thread reply: conversations.replies has those
            ts = float(message["ts"])
            if latest is not None and (ts > latest or (ts == latest and not inclusive)):
                continue
            if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
                continue
            listed.append(_shown(message, with_metadata))
        page, next_cursor = _page(listed, args, default_limit=100, max_limit=999)
        answer: dict[str, Any] = {
            "messages": page,
            "has_more": bool(next_cursor),
            "pin_count": 0,
        }
        if next_cursor:
            answer["response_metadata"] = {"next_cursor": next_cursor}
        return answer

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._lookup(args)
        self._require_member(channel)
        ts = args.get("ts")
        parent = _find(channel, ts) if isinstance(ts, str) else None
        if parent is None:
            raise SlackError("thread_not_found")
        thread_ts = parent.get("thread_ts", parent["ts"])
        with_metadata = _flag(args.get("include_all_metadata"))
        listed = [
            _shown(message, with_metadata)
            for message in channel.messages
            if message["ts"] == thread_ts or message.get("thread_ts") == thread_ts
        ]
        page, next_cursor = _page(listed, args, default_limit=100, max_limit=1000)
        answer: dict[str, Any] = {"messages": page, "has_more": bool(next_cursor)}
        if next_cursor:
            answer["response_metadata"] = {"next_cursor": next_cursor}
        return answer

    def _conversations_set_topic(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._lookup(args)
        self._require_member(channel)
        channel.topic = str(args.get("topic") or "")
        return {"channel": channel.to_api()}

    def _conversations_set_purpose(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._lookup(args)
        self._require_member(channel)
        channel.purpose = str(args.get("purpose") or "")
        return {"channel": channel.to_api()}

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._lookup(args, by_name=True, by_user=True)
        self._require_member(channel)
        self._require_open(channel)
        message = self._bot_message(args, self._next_ts())
        self._append(channel, message, args.get("thread_ts"))
        return {"channel": channel.id, "ts": message["ts"], "message": copy.deepcopy(message)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._lookup(args, by_name=True)
        ts = args.get("ts")
        message = _find(channel, ts) if isinstance(ts, str) else None
        if message is None:
            raise SlackError("message_not_found")
        if message.get("bot_id") != BOT_ID:
            raise SlackError("cant_update_message")
        changed = {
            key: args[key]
            for key in ("text", "blocks", "attachments", "metadata")
            if args.get(key) is not None
        }
        _check_content({**message, **changed})
        for key, value in changed.items():
            message[key] = copy.deepcopy(value)
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {
            "channel": channel.id,
            "ts": message["ts"],
            "text": message.get("text", ""),
            "message": copy.deepcopy(message),
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._lookup(args, by_name=True)
        self._require_member(channel)
        user = args.get("user")
        if not isinstance(user, str) or not _USER_ID.fullmatch(user):
            raise SlackError("user_not_found")
        if user not in channel.members:
            raise SlackError("user_not_in_channel")
        ts = self._next_ts()
        message = self._bot_message(args, ts)
        message["user_shown"] = user
        channel.ephemeral.append(message)
        return {"message_ts": ts}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._lookup(args)
        ts = args.get("message_ts")
        if not isinstance(ts, str) or _find(channel, ts) is None:
            raise SlackError("message_not_found")
        return {
            "channel": channel.id,
            "permalink": f"{TEAM_URL}archives/{channel.id}/p{ts.replace('.', '')}",
        }

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id") and not args.get("interactivity_pointer"):
            raise SlackError("invalid_arguments")
        view_id = self._new_id("V")
        stored = self._view(view_id, args.get("view"), external_id=None)
        stored["root_view_id"] = view_id
        self.views[view_id] = stored
        return {"view": copy.deepcopy(stored)}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        current: dict[str, Any] | None = None
        if view_id:
            current = self.views.get(str(view_id))
        elif external_id:
            current = next(
                (v for v in self.views.values() if v["external_id"] == external_id), None
            )
        else:
            raise SlackError("invalid_arguments")
        if current is None:
            raise SlackError("not_found")
        given_hash = args.get("hash")
        if given_hash and given_hash != current["hash"]:
            raise SlackError("hash_conflict")
        stored = self._view(current["id"], args.get("view"), external_id=current["external_id"])
        stored["root_view_id"] = current["root_view_id"]
        stored["previous_view_id"] = current["previous_view_id"]
        self.views[current["id"]] = stored
        return {"view": copy.deepcopy(stored)}

    def _view(self, view_id: str, view: Any, *, external_id: str | None) -> dict[str, Any]:
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            raise SlackError("invalid_arguments")
        blocks = view.get("blocks", [])
        if not isinstance(blocks, list) or len(blocks) > 100:
            raise SlackError("invalid_arguments")
        self._counter += 1
        return {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view["type"],
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "blocks": copy.deepcopy(blocks),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{self._counter:08x}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": APP_ID,
            "external_id": view.get("external_id", external_id or ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": copy.deepcopy(user)}


# ---------------------------------------------------------------------- request parsing


async def _read_args(
    request: Request,
) -> tuple[dict[str, Any], str | None, dict[str, Any] | None]:
    """(arguments, token, an error answer for a body Slack could not read)."""
    args: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    bad: dict[str, Any] | None = None
    if body and content_type == "application/json":
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            args.update(parsed)
        else:
            bad = {"ok": False, "error": "invalid_json"}
    elif body and content_type == "application/x-www-form-urlencoded":
        args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif body:
        bad = {"ok": False, "error": "invalid_form_data"}
    for key in JSON_ARGUMENTS:
        value = args.get(key)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                args[key] = json.loads(value)
    token: str | None = None
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        token = authorization[7:].strip() or None
    from_args = args.pop("token", None)
    if token is None and isinstance(from_args, str) and from_args:
        token = from_args
    return args, token, bad


def _fault_response(fault: _Fault) -> Response:
    headers: dict[str, str] = {}
    if fault.status == 429:
        headers["Retry-After"] = str(fault.retry_after if fault.retry_after is not None else 1)
        return JSONResponse({"ok": False, "error": "ratelimited"}, 429, headers=headers)
    if fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    if fault.status == 200:
        return JSONResponse({"ok": False, "error": fault.error or "fatal_error"})
    if fault.plain:
        text = _PLAIN_BODIES.get(fault.status, "Error")
        return PlainTextResponse(text, fault.status, headers=headers)
    error = fault.error or _SERVER_ERRORS.get(fault.status, "internal_error")
    return JSONResponse({"ok": False, "error": error}, fault.status, headers=headers)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _id_list(value: Any) -> list[str]:
    if isinstance(value, list):
        items = [str(v) for v in value]
    elif isinstance(value, str):
        items = value.split(",")
    else:
        return []
    return list(dict.fromkeys(item.strip() for item in items if item.strip()))


def _ts_arg(value: Any) -> float | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SlackError("invalid_arguments") from None


def _page(
    items: list[Any], args: dict[str, Any], *, default_limit: int, max_limit: int
) -> tuple[list[Any], str]:
    """A page of ``items`` after ``args["cursor"]`` and the next cursor ("" at the end)."""
    raw_limit = args.get("limit")
    try:
        limit = int(raw_limit) if raw_limit not in (None, "") else default_limit
    except (TypeError, ValueError):
        raise SlackError("invalid_limit") from None
    if limit <= 0:
        limit = default_limit
    limit = min(limit, max_limit)
    start = 0
    cursor = args.get("cursor")
    if cursor:
        try:
            decoded = base64.b64decode(str(cursor), validate=True).decode()
            kind, _, offset = decoded.partition(":")
            start = int(offset)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise SlackError("invalid_cursor") from None
        if kind != "next" or start < 0:
            raise SlackError("invalid_cursor")
    end = start + limit
    next_cursor = base64.b64encode(f"next:{end}".encode()).decode() if end < len(items) else ""
    return items[start:end], next_cursor


def _find(channel: FakeChannel, ts: Any) -> dict[str, Any] | None:
    for message in channel.messages:
        if message["ts"] == ts:
            return message
    return None


def _shown(message: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
    shown = copy.deepcopy(message)
    if not with_metadata:
        shown.pop("metadata", None)
    return shown


def _check_content(args: dict[str, Any]) -> None:
    text = args.get("text")
    blocks = args.get("blocks")
    attachments = args.get("attachments")
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    if isinstance(text, str) and len(text) > 40_000:
        raise SlackError("msg_too_long")
    if blocks is not None and (
        not isinstance(blocks, list)
        or len(blocks) > 50
        or not all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks)
    ):
        raise SlackError("invalid_blocks")
    metadata = args.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not isinstance(metadata.get("event_payload"), dict)
    ):
        raise SlackError("invalid_metadata_format")


# ---------------------------------------------------------------------- serving


class _QuietServer(uvicorn.Server):
    """A server that leaves the process's signal handlers (pytest's Ctrl-C) alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def serve_fake_slack(
    fake: FakeSlack | None = None, *, token: str = DEFAULT_TOKEN
) -> AsyncIterator[FakeSlack]:
    """Serve ``fake`` (a new `FakeSlack` taking ``token`` if not given) on 127.0.0.1, on a
    free port, in a background task of the running loop; stop it on exit."""
    served = fake if fake is not None else FakeSlack(token=token)
    config = uvicorn.Config(
        served.app,
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_level="warning",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve(), name="fake-slack")
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()  # raises what stopped it
                    raise RuntimeError("the fake Slack server stopped before starting")
                await asyncio.sleep(0.01)
        served.port = int(server.servers[0].sockets[0].getsockname()[1])
        yield served
    finally:
        server.should_exit = True
        try:
            async with asyncio.timeout(10):
                await task
        finally:
            if not task.done():
                task.cancel()
            served.port = None
