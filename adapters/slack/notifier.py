"""Notifications as Slack sees them: an incident channel with a card updated in place, direct
messages with an Acknowledge button, an announcement per level and notices to informed
functions.

Exactly once. Every message carries its idempotency key in Slack's message metadata, and the
key is recorded as "pending" before the post and as the ts after it. An activity retried after
a crash between Slack's answer and the record finds "pending", looks for the key in the
channel's recent history, and adopts the message it already posted instead of posting again.
The channel's name is derived from the incident id, so a channel created by an attempt that
crashed is found by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError

from adapters.slack import layout
from adapters.slack.client import SlackApi, error_code
from domain.models import EventKind, Incident, IncidentType, NotificationKind, Person, Recipient
from domain.notify import HANDLING, Notification, PermanentFailure, notification_key
from domain.playbook import SlackChannels

log = logging.getLogger(__name__)

METADATA_EVENT = "tocsin_message"
PENDING = "pending"
# How far back a retried post looks for the message it may have posted already.
_HISTORY_PAGES = 3
# A card update is one Slack call; its lease outlasts it many times over, and lapses if the
# worker holding it dies.
CARD_LEASE_SECONDS = 30.0
CARD_TURN_WAIT = 45.0
# Incidents whose channel a worker process remembers without asking the records.
_CHANNELS_KEPT = 2_000


class ChannelMissing(LookupError):
    pass


class Refs(Protocol):
    """Where the notifier keeps what it must find again (the records store), and the leases
    that keep two workers from updating one card at once."""

    async def get_ref(self, key: str, *, incident_id: str | None = None) -> str | None:
        """With ``incident_id`` (every record of ``key`` carries it), the answer may come
        from what the current batch read of the incident once: what was recorded before the
        batch began, and its own writes."""
        ...

    async def set_ref(self, key: str, value: str, *, incident_id: str) -> None: ...

    async def set_ref_if_absent(self, key: str, value: str, *, incident_id: str) -> str | None:
        """Record ``value`` unless ``key`` holds something, committed now with what the batch
        held back; None if recorded, else what ``key`` held."""
        ...

    async def claim(self, name: str, holder: str, seconds: float) -> bool: ...

    async def release(self, name: str, holder: str) -> None: ...

    async def flush(self) -> None:
        """Commit the writes the records hold back for the current batch, if any."""
        ...


# Slack errors that retrying cannot fix: the configuration or the workspace must change.
PERMANENT_ERRORS = frozenset(
    {
        "account_inactive",
        "cannot_dm_bot",
        "channel_not_found",
        "ekm_access_denied",
        "invalid_auth",
        "invalid_blocks",
        "is_archived",
        "missing_scope",
        "msg_too_long",
        "no_permission",
        "not_authed",
        "not_in_channel",
        "restricted_action",
        "team_access_not_granted",
        "token_expired",
        "token_revoked",
        "user_disabled",
        "user_not_found",
        "users_not_found",
    }
)


@contextlib.contextmanager
def _permanent_errors() -> Iterator[None]:
    try:
        yield
    except SlackApiError as exc:
        code = error_code(exc)
        if code in PERMANENT_ERRORS:
            log.error("Slack refused a message for good: %s", code)
            raise PermanentFailure(code) from None
        raise


# Who is asked into the incident's channel with their message (domain.notify.HANDLING).
_JOIN_THE_CHANNEL = frozenset(kind for kind, handling in HANDLING.items() if handling.joins_channel)


def bundle_ref(key: str) -> str:
    """Where a bundle keeps its incidents, for its Acknowledge all button."""
    return f"slack:bundle:{key}"


def channel_ref(incident_id: str) -> str:
    return f"slack:{incident_id}/channel"


def incident_of_channel_ref(channel_id: str) -> str:
    return f"slack:channel:{channel_id}"


class SlackNotifier:
    # Each post commits the records' held-back writes with its pending mark (``post_once``).
    marks_before_sending = True

    def __init__(self, api: SlackApi, refs: Refs, channels: SlackChannels) -> None:
        self._api = api
        self._refs = refs
        self._channels = channels
        # Activities of one incident run side by side; its channel and card are created once.
        # A lock lives while an activity holds or awaits it: a worker that runs for months
        # does not keep one for every incident it ever served.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._named: dict[str, str] = {}
        self._channel_ids: dict[str, str] = {}
        # Each person's direct-message channel with the bot: Slack answers conversations.open
        # with the same one every time, so a page need not ask before it posts.
        self._dms: dict[str, str] = {}
        # Who this process is, for the card leases of every worker sharing the records.
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def aclose(self) -> None:
        """Close the Slack API's connections; at the worker's shutdown."""
        await self._api.aclose()

    def _lock(self, incident_id: str) -> asyncio.Lock:
        lock = self._locks.get(incident_id)
        if lock is None:
            lock = self._locks[incident_id] = asyncio.Lock()
        return lock

    async def send(self, notification: Notification) -> str | None:
        with _permanent_errors():
            return await self._send(notification)

    async def _send(self, notification: Notification) -> str | None:
        incident = notification.incident
        if notification.kind is NotificationKind.NOTICE:
            return await self._notice(notification)
        person = notification.recipient.person if notification.recipient else None
        if person is None or person.slack_user_id is None:
            channel = await self.ensure_channel(incident)
            if person is None:
                return await self._broadcast(notification, channel)
            # Someone who acted outside Slack (the CLI's --by) and is not in the roster: the
            # incident's channel is where they can be told.
            text, blocks = layout.for_someone(notification)
            return await self.post_once(channel, notification.key, text, blocks, incident.id)
        # A page does not wait for the incident's channel to be made: it names the channel
        # if there is one already, and the invitation that follows it brings the person in.
        known: str | None
        if HANDLING[notification.kind].asks_ack:
            known = await self._known_channel(incident)
        else:
            known = await self.ensure_channel(incident)
        text, blocks = layout.direct(notification, known)
        ts = await self._post_direct(
            person.slack_user_id, notification.key, text, blocks, incident.id
        )
        if notification.kind in _JOIN_THE_CHANNEL:
            # After the page, which must not wait on it: the person opens the channel later.
            channel = known or await self._make_channel(incident)
            await self._invite_paged(channel, person.slack_user_id)
        return ts

    async def _invite_paged(self, channel: str, user: str) -> None:
        """Into the incident's channel, after the page: one Slack refuses for good (a person
        who left) is logged and leaves the page sent."""
        try:
            await self._invite(channel, [user])
        except SlackApiError as exc:
            if error_code(exc) not in PERMANENT_ERRORS:
                raise
            log.warning("Slack refused to invite a paged person: %s", error_code(exc))

    async def send_bundle(
        self, recipient: Recipient, pages: list[Notification], key: str
    ) -> str | None:
        """One direct message listing the pages held for this person, an Acknowledge button
        per incident and one for all of them; the incidents are kept under ``key`` for it."""
        with _permanent_errors():
            user = recipient.person.slack_user_id
            if user is None:
                raise PermanentFailure("no_slack_user_id", f"{recipient.person.name} in roster")
            # As a single page: the bundle names the channels made already, and goes first.
            channels: dict[str, str] = {}
            for page in pages:
                known = await self._known_channel(page.incident)
                if known is not None:
                    channels[page.incident.id] = known
            incident_ids = ",".join(dict.fromkeys(page.incident.id for page in pages))
            first = pages[0].incident.id
            await self._refs.set_ref(bundle_ref(key), incident_ids, incident_id=first)
            text, blocks = layout.bundle(recipient, pages, key, channels)
            ts = await self._post_direct(user, key, text, blocks, first)
            joining = {p.incident.id: p.incident for p in pages if p.kind in _JOIN_THE_CHANNEL}
            for incident in joining.values():
                channel = channels.get(incident.id) or await self._make_channel(incident)
                await self._invite_paged(channel, user)
            return ts

    async def tell(self, person: Person, text: str, key: str) -> None:
        """A direct message outside any incident (an on-call handoff), posted once per key."""
        if person.slack_user_id is None:
            raise PermanentFailure(f"{person.name} has no Slack user ID in the roster")
        with _permanent_errors():
            blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
            await self._post_direct(person.slack_user_id, key, text, blocks, "oncall")

    async def _dm(self, user: str) -> str:
        if user not in self._dms:
            opened = await self._api.call("conversations.open", users=user)
            self._dms[user] = str(opened["channel"]["id"])
        return self._dms[user]

    async def _post_direct(
        self, user: str, key: str, text: str, blocks: list[dict[str, Any]], incident_id: str
    ) -> str:
        """``post_once`` to ``user``'s direct messages. A channel remembered from before that
        Slack no longer knows is opened afresh, once (its pending mark makes the second try
        look for the message first, as any retry does)."""
        remembered = user in self._dms
        try:
            return await self.post_once(await self._dm(user), key, text, blocks, incident_id)
        except SlackApiError as exc:
            if not remembered or error_code(exc) != "channel_not_found":
                raise
        del self._dms[user]
        return await self.post_once(await self._dm(user), key, text, blocks, incident_id)

    # -------------------------------------------------------------------------- channel

    async def _known_channel(self, incident: Incident) -> str | None:
        """The incident's channel if it was made already: remembered, or on record."""
        if incident.id in self._channel_ids:
            return self._channel_ids[incident.id]
        known = await self._refs.get_ref(channel_ref(incident.id), incident_id=incident.id)
        return self._remember_channel(incident.id, known) if known else None

    async def ensure_channel(self, incident: Incident) -> str:
        """The incident's channel, created on first use; private for data leaks."""
        return await self._known_channel(incident) or await self._make_channel(incident)

    async def _make_channel(self, incident: Incident) -> str:
        """Create the channel ``_known_channel`` did not find, unless another activity or
        process made it meanwhile."""
        ref = channel_ref(incident.id)
        async with self._lock(incident.id):
            if incident.id in self._channel_ids:  # another activity of ours made it meanwhile
                return self._channel_ids[incident.id]
            # Afresh, before creating anything: another process may have made it meanwhile.
            known = await self._refs.get_ref(ref)
            if known:
                return self._remember_channel(incident.id, known)
            name = layout.channel_name(incident)
            private = incident.type is IncidentType.DATA_LEAK
            # The batch's snapshot and events first: the records never wait for Slack (ADR 0010).
            await self._refs.flush()
            try:
                created = await self._api.call(
                    "conversations.create", name=name, is_private=private
                )
                channel_id = str(created["channel"]["id"])
            except SlackApiError as exc:
                if error_code(exc) != "name_taken":
                    raise
                # An earlier attempt created it and crashed before recording it.
                channel_id = await self._find_channel(name)
            await self._refs.set_ref(
                incident_of_channel_ref(channel_id), incident.id, incident_id=incident.id
            )
            await self._refs.set_ref(ref, channel_id, incident_id=incident.id)
            # Before the lock is let go: another activity of the incident must find it.
            await self._refs.flush()
            return self._remember_channel(incident.id, channel_id)

    def _remember_channel(self, incident_id: str, channel_id: str) -> str:
        """An incident's channel never changes once recorded: each send of its effects
        would otherwise read it again. The latest incidents only, oldest forgotten first."""
        self._channel_ids[incident_id] = channel_id
        if len(self._channel_ids) > _CHANNELS_KEPT:
            del self._channel_ids[next(iter(self._channel_ids))]
        return channel_id

    async def _find_channel(self, name: str) -> str:
        cursor: str | None = None
        while True:
            page = await self._api.call(
                "conversations.list",
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=200,
                cursor=cursor,
            )
            for channel in page["channels"]:
                if channel["name"] == name:
                    return str(channel["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                raise ChannelMissing(name)

    async def resolve(self, channel: str) -> str | None:
        """A configured ``#name`` as its channel ID (history, which finds a post made by a
        crashed attempt, takes IDs only); None when the workspace has no such channel."""
        if not channel.startswith("#"):
            return channel
        if channel not in self._named:
            try:
                self._named[channel] = await self._find_channel(channel[1:])
            except ChannelMissing:
                # A configuration mistake, not an outage: retrying would never succeed.
                log.error("Slack channel %s in slack.yaml does not exist; skipped", channel)
                return None
        return self._named[channel]

    async def _invite(self, channel: str, users: list[str]) -> None:
        try:
            await self._api.call("conversations.invite", channel=channel, users=",".join(users))
        except SlackApiError as exc:
            if error_code(exc) not in ("already_in_channel", "cant_invite_self"):
                raise

    # ---------------------------------------------------------------------------- posts

    async def _broadcast(self, notification: Notification, channel: str) -> str | None:
        incident = notification.incident
        card_ts = await self.upsert_card(incident, channel)
        if notification.event.kind is EventKind.DECLARED:
            configured = self._channels.announce.get(incident.level)
            announce = await self.resolve(configured) if configured else None
            if announce:
                text, blocks = layout.announcement(incident, channel)
                await self.post_once(
                    announce, f"{notification.key}/announce", text, blocks, incident.id
                )
            return card_ts
        text, blocks = layout.channel_line(notification)
        return await self.post_once(channel, notification.key, text, blocks, incident.id)

    async def _notice(self, notification: Notification) -> str | None:
        """One notice per informed function, whoever of it the activity iterates over."""
        recipient = notification.recipient
        if recipient is None:
            return None
        configured = self._channels.functions.get(recipient.function)
        target = await self.resolve(configured) if configured else None
        if not target:
            return None
        incident = notification.incident
        channel = await self.ensure_channel(incident)
        key = notification_key(
            incident.id, notification.event.seq, f"notice/{recipient.function.value}"
        )
        text, blocks = layout.notice(incident, recipient.function, channel)
        return await self.post_once(target, key, text, blocks, incident.id)

    async def upsert_card(self, incident: Incident, channel: str) -> str:
        """Post the card once; afterwards update it, never with an older snapshot. Workers
        take turns on a card (a lease in the records): with two updates in flight, an older
        one could land after a newer one and leave the card behind."""
        ref = f"slack:{incident.id}/card"
        async with self._lock(incident.id), self._card_turn(incident.id):
            stored = await self._refs.get_ref(ref)
            text, blocks = layout.card(incident)
            if stored:
                ts, _, version = stored.partition("|")
                if incident.version > int(version or 0):
                    await self._api.call(
                        "chat.update", channel=channel, ts=ts, text=text, blocks=blocks
                    )
                    await self._refs.set_ref(
                        ref, f"{ts}|{incident.version}", incident_id=incident.id
                    )
                return ts
            ts = await self.post_once(channel, f"{incident.id}/card", text, blocks, incident.id)
            await self._refs.set_ref(ref, f"{ts}|{incident.version}", incident_id=incident.id)
            return ts

    @contextlib.asynccontextmanager
    async def _card_turn(self, incident_id: str) -> AsyncIterator[None]:
        name = f"slack:card:{incident_id}"
        loop = asyncio.get_running_loop()
        give_up = loop.time() + CARD_TURN_WAIT
        while not await self._refs.claim(name, self._holder, CARD_LEASE_SECONDS):
            if loop.time() > give_up:
                # The activity retries; by then the holder has finished or its lease lapsed.
                raise TimeoutError(f"another worker kept the card of {incident_id}")
            await asyncio.sleep(0.05)
        try:
            yield
        finally:
            await self._refs.release(name, self._holder)

    async def post_once(
        self, channel: str, key: str, text: str, blocks: list[dict[str, Any]], incident_id: str
    ) -> str:
        ref = f"slack:msg:{key}"
        # An incident's own messages' keys begin with its id: no other incident records them.
        own = incident_id if key.startswith(f"{incident_id}/") else None
        stored = await self._refs.get_ref(ref, incident_id=own)
        if stored != PENDING:
            if stored:
                return stored
            # The mark is committed before the post (ADR 0008), with what the batch held back;
            # a message another process marked or posted since the batch read is found here.
            stored = await self._refs.set_ref_if_absent(ref, PENDING, incident_id=incident_id)
            if stored and stored != PENDING:
                return stored
        if stored == PENDING:
            found = await self._find_posted(channel, key)
            if found is not None:
                await self._refs.set_ref(ref, found, incident_id=incident_id)
                return found
            await self._refs.flush()
        posted = await self._post(channel, text, blocks, key)
        ts = str(posted["ts"])
        await self._refs.set_ref(ref, ts, incident_id=incident_id)
        return ts

    async def _post(self, channel: str, text: str, blocks: list[dict[str, Any]], key: str) -> Any:
        arguments: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "blocks": blocks,
            "metadata": {"event_type": METADATA_EVENT, "event_payload": {"key": key}},
            "unfurl_links": False,
        }
        try:
            return await self._api.call("chat.postMessage", **arguments)
        except SlackApiError as exc:
            if error_code(exc) != "not_in_channel":
                raise
        # A public channel the bot has not joined yet (announcements, function channels).
        await self._api.call("conversations.join", channel=channel)
        return await self._api.call("chat.postMessage", **arguments)

    async def _find_posted(self, channel: str, key: str) -> str | None:
        cursor: str | None = None
        for _ in range(_HISTORY_PAGES):
            page = await self._history(channel, cursor)
            for message in page["messages"]:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == METADATA_EVENT and payload.get("key") == key:
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more") or cursor is None:
                return None
        return None

    async def _history(self, channel: str, cursor: str | None) -> Any:
        arguments: dict[str, Any] = {
            "channel": channel,
            "limit": 100,
            "include_all_metadata": True,
            "cursor": cursor,
        }
        try:
            return await self._api.call("conversations.history", **arguments)
        except SlackApiError as exc:
            if error_code(exc) != "not_in_channel":
                raise
        # chat:write.public posts to channels the bot has not joined; reading needs a join.
        await self._api.call("conversations.join", channel=channel)
        return await self._api.call("conversations.history", **arguments)
