"""Every Slack message tocsin sends, as Block Kit, in one place: the incident card, direct
messages, channel lines and the replies to ``/incident``; the forms are in ``forms``.

Wording comes from ``tocsin.messages`` where it exists; this module only lays it out. Block Kit
limits are enforced here (50 blocks per message, 3,000 characters per section text, 150 per
header and button), so no caller can produce a message Slack rejects for its size.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from domain import wording
from domain.durations import format_duration, humanize
from domain.models import (
    Function,
    Incident,
    IncidentType,
    Level,
    NotificationKind,
    Recipient,
    Status,
)
from domain.notify import Notification

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_FALLBACK = 4000

# action_id of every button, and callback_id of every modal: the API routes on them.
ACK = "incident.ack"
CHANGE_LEVEL = "incident.level"
POST_UPDATE = "incident.update"
MITIGATE = "incident.mitigate"
ACK_ALL = "incident.ack_all"
STATEMENT_APPROVE = "statement.approve"
STATEMENT_EDIT = "statement.edit"
STATEMENT_REJECT = "statement.reject"
RESOLVE = "incident.resolve"
DECLARE = "incident.declare"
REVIEW_EDIT = "review.edit"

_LEVEL_MARK = {
    Level.A: ":red_circle:",
    Level.B: ":large_orange_circle:",
    Level.C: ":large_yellow_circle:",
}
_STATUS_TEXT = {
    Status.TRIGGERED: ":rotating_light: Triggered, waiting for an acknowledgement",
    Status.ACKNOWLEDGED: ":eyes: Acknowledged",
    Status.MITIGATED: ":adhesive_bandage: Mitigated",
    Status.RESOLVED: ":white_check_mark: Resolved",
}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: user text never becomes a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION)}}


def _fields(*pairs: tuple[str, str]) -> Block:
    # Slack allows 10 fields per section, 2,000 characters each.
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": clip(f"*{name}*\n{value}", 2000)} for name, value in pairs
        ][:10],
    }


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, MAX_SECTION)}]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(text, 75)},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _when(at: datetime) -> str:
    """A time every reader sees in their own time zone, with a UTC fallback."""
    epoch = int(at.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time_secs}}|{at:%Y-%m-%d %H:%M:%S} UTC>"


def _limit(blocks: list[Block]) -> list[Block]:
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    dropped = len(blocks) - (MAX_BLOCKS - 1)
    return [*blocks[: MAX_BLOCKS - 1], _context(f"{dropped} more blocks left out")]


def type_name(kind: IncidentType) -> str:
    return kind.value.replace("_", " ")


def channel_name(incident: Incident) -> str:
    """``inc-20261123-k7qz-checkout-failing``: Slack's rules (lowercase, a-z 0-9 - _, at most
    80 characters), unique by the incident id, readable by the title's first words."""
    slug = re.sub(r"[^a-z0-9]+", "-", incident.title.lower()).strip("-")
    base = f"inc-{incident.id.lower()}"
    room = 80 - len(base) - 1
    slug = slug[: max(room, 0)].rstrip("-")
    return f"{base}-{slug}" if slug else base


# ----------------------------------------------------------------------------- the card


def card(incident: Incident) -> tuple[str, list[Block]]:
    """The incident card, posted once in the incident's channel and updated in place."""
    title = f"{_LEVEL_MARK[incident.level]} {wording.incident_label(incident)}"
    window = timedelta(seconds=incident.response_window_seconds)
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(title, MAX_HEADER)}},
        _fields(
            ("Level", f"{incident.level} (acknowledge within {format_duration(window)})"),
            ("Type", type_name(incident.type)),
            ("Service", escape(incident.service or "—")),
            ("Status", _STATUS_TEXT[incident.status]),
            ("Acknowledge by", _when(incident.ack_deadline)),
            ("Acknowledged", _acknowledged(incident)),
        ),
        _section(f"*Why level {incident.level}:* {escape(_why(incident))}"),
    ]
    if incident.description:
        blocks.append(_section(escape(incident.description)))
    if incident.alerts_total:
        blocks.append(
            _context(f"Alerts: {incident.alerts_firing} firing of {incident.alerts_total}")
        )
    if incident.status is not Status.RESOLVED:
        blocks.append({"type": "actions", "elements": _card_buttons(incident)})
    else:
        summary = incident.resolution_summary or "no summary"
        blocks.append(
            _section(f"*Resolved* by {escape(incident.resolved_by or '?')}: {escape(summary)}")
        )
    blocks.append(
        _context(f"Declared {_when(incident.declared_at)} by {escape(incident.declared_by)}")
    )
    fallback = f"{wording.incident_label(incident)}: {incident.status.value}"
    return clip(escape(fallback), MAX_FALLBACK), _limit(blocks)


def _why(incident: Incident) -> str:
    if incident.grading is not None:
        text = incident.grading.explain()
        factors = ", ".join(
            f"{f.name.replace('_', ' ')} {f.value:.2f} x {f.weight:g}"
            for f in incident.grading.factors
        )
        notes = "; ".join(incident.grading.notes)
        return f"{text}. Factors: {factors}." + (f" Notes: {notes}." if notes else "")
    return f"declared level {incident.level} by {incident.declared_by}"


def _acknowledged(incident: Incident) -> str:
    if incident.acknowledged_at is None:
        return "not yet"
    took = humanize(incident.acknowledged_at - incident.declared_at)
    window = format_duration(timedelta(seconds=incident.response_window_seconds))
    within = "within" if incident.acknowledged_at <= incident.ack_deadline else "outside"
    return (
        f"by {escape(incident.acknowledged_by or '?')} {_when(incident.acknowledged_at)}, "
        f"after {took} ({within} the {window} window)"
    )


def _card_buttons(incident: Incident) -> list[dict[str, Any]]:
    buttons = []
    if incident.acknowledged_at is None:
        buttons.append(_button("Acknowledge", ACK, incident.id, "primary"))
    buttons += [
        _button("Change level", CHANGE_LEVEL, incident.id),
        _button("Post update", POST_UPDATE, incident.id),
    ]
    if incident.status is not Status.MITIGATED:
        buttons.append(_button("Mitigated", MITIGATE, incident.id))
    buttons.append(_button("Resolve", RESOLVE, incident.id, "danger"))
    return buttons


# ------------------------------------------------------------------------------ messages


def direct(notification: Notification, channel_id: str | None) -> tuple[str, list[Block]]:
    """A page, escalation, breach, engagement or reminder sent to one person."""
    if notification.kind is NotificationKind.APPROVAL:
        return approval(notification, channel_id)
    if notification.kind is NotificationKind.STATEMENT:
        return statement_note(notification)
    incident = notification.incident
    where = f" Join <#{channel_id}>." if channel_id else ""
    text = f"*{wording.headline(notification.kind)}* {escape(wording.incident_label(incident))}\n"
    text += escape(notification.event.text) + where
    blocks = [_section(text)]
    if notification.kind in wording.ASKS_ACK and incident.acknowledged_at is None:
        blocks.append(
            {"type": "actions", "elements": [_button("Acknowledge", ACK, incident.id, "primary")]}
        )
    return clip(escape(notification.text), MAX_FALLBACK), blocks


# Incidents listed one by one in a bundle; Block Kit allows 50 blocks in a message.
BUNDLE_LISTED = 40


def bundle(
    recipient: Recipient, pages: list[Notification], key: str, channels: dict[str, str]
) -> tuple[str, list[Block]]:
    """Pages held for one person while an earlier page was fresh, as one message: one line
    and Acknowledge button per page, the rest counted, and Acknowledge all."""
    asks = [p for p in pages if p.kind in wording.ASKS_ACK and p.incident.acknowledged_at is None]
    incidents = len({p.incident.id for p in pages})
    head = (
        f":rotating_light: *{len(pages)} notifications about {incidents} "
        f"incident{'s' if incidents != 1 else ''}* came in while an earlier page to you was "
        "fresh; here they are together."
    )
    blocks: list[Block] = [_section(head)]
    for page in pages[:BUNDLE_LISTED]:
        incident = page.incident
        channel = channels.get(incident.id)
        where = f" <#{channel}>" if channel else ""
        line = (
            f"*{wording.headline(page.kind)}* {escape(wording.incident_label(incident))}{where}\n"
            f"{escape(page.event.text)}"
        )
        section = _section(line)
        if page in asks:
            section["accessory"] = _button("Acknowledge", ACK, incident.id, "primary")
        blocks.append(section)
    if len(pages) > BUNDLE_LISTED:
        blocks.append(
            _context(f"…and {len(pages) - BUNDLE_LISTED} more; `tocsin incidents` lists them all.")
        )
    waiting = len({p.incident.id for p in asks})
    if waiting:
        blocks.append(
            {
                "type": "actions",
                "elements": [_button(f"Acknowledge all ({waiting})", ACK_ALL, key, "danger")],
            }
        )
    fallback = f"{len(pages)} notifications for {recipient.person.name}: " + "; ".join(
        wording.incident_label(p.incident) for p in pages[:5]
    )
    return clip(escape(fallback), MAX_FALLBACK), _limit(blocks)


def for_someone(notification: Notification) -> tuple[str, list[Block]]:
    """A direct message for someone with no Slack ID (who acted through the CLI), posted in
    the incident's channel instead."""
    recipient = notification.recipient
    who = recipient.person.name if recipient else "the incident's owner"
    text = (
        f"*{wording.headline(notification.kind)}* for {escape(who)}: "
        f"{escape(notification.event.text)}"
    )
    return clip(escape(notification.text), MAX_FALLBACK), [_section(text)]


def approval(notification: Notification, channel_id: str | None) -> tuple[str, list[Block]]:
    """A statement for customers waiting for this person's approval: Approve as it is, Edit
    (a form with the text) or Reject (a form asking why)."""
    incident, data = notification.incident, notification.event.data
    message = str(data.get("message", ""))
    where = f" <#{channel_id}>" if channel_id else ""
    head = (
        f":loudspeaker: *Statement for customers to approve* "
        f"{escape(wording.incident_label(incident))}{where}\n{escape(notification.event.text)}"
    )
    body = "\n".join(f"> {escape(line)}" for line in str(data.get("body", "")).splitlines())
    blocks: list[Block] = [
        _section(head),
        _section(body or "> (empty)"),
        {
            "type": "actions",
            "elements": [
                _button("Approve", STATEMENT_APPROVE, message, "primary"),
                _button("Edit", STATEMENT_EDIT, message),
                _button("Reject", STATEMENT_REJECT, message, "danger"),
            ],
        },
        _context(f"Statement {escape(message)}: only an approved statement is published."),
    ]
    return clip(escape(notification.text), MAX_FALLBACK), blocks


def statement_note(notification: Notification) -> tuple[str, list[Block]]:
    """A published statement, to a key account's manager before the public has it."""
    incident = notification.incident
    text = (
        f":envelope: *Before it is public* — {escape(incident.title)}\n"
        f"> {escape(notification.event.text)}"
    )
    return clip(escape(notification.text), MAX_FALLBACK), [_section(text)]


def channel_line(notification: Notification) -> tuple[str, list[Block]]:
    """One timeline step, posted in the incident's channel under the card."""
    event = notification.event
    who = f" — {escape(event.actor)}" if event.actor else ""
    return clip(escape(notification.text), MAX_FALLBACK), [_section(f"{escape(event.text)}{who}")]


def announcement(incident: Incident, channel_id: str | None) -> tuple[str, list[Block]]:
    where = f" in <#{channel_id}>" if channel_id else ""
    text = (
        f"{_LEVEL_MARK[incident.level]} *New level {incident.level} {type_name(incident.type)}*"
        f"{where}: {escape(incident.title)}\n{escape(_why(incident))}"
    )
    return clip(escape(f"New incident {wording.incident_label(incident)}"), MAX_FALLBACK), [
        _section(text)
    ]


def notice(
    incident: Incident, function: Function, channel_id: str | None
) -> tuple[str, list[Block]]:
    where = f" Follow it in <#{channel_id}>." if channel_id else ""
    text = (
        f":information_source: For {wording.function_name(function)}, informed: level "
        f"{incident.level} {type_name(incident.type)} — {escape(incident.title)}.{where}"
    )
    return clip(text, MAX_FALLBACK), [_section(text)]


# ------------------------------------------------------------------------ command replies

HELP = (
    "*/incident* commands:\n"
    "• `/incident declare` — open a new incident (a form)\n"
    "• `/incident drill <scenario>` — start a drill (routine, integrated, comprehensive)\n"
    "• `/incident oncall` — who is on call now\n"
    "• `/incident cover @person until <when>` — someone covers the schedule from now\n"
    "In an incident's channel:\n"
    "• `/incident ack` — acknowledge it\n"
    "• `/incident level <A|B|C> <reason>` — change its level\n"
    "• `/incident update <text>` — post a status update\n"
    "• `/incident mitigated` — the impact has stopped\n"
    "• `/incident resolve <summary>` — it is over\n"
    "• `/incident status` — where it stands\n"
    "• `/incident review` — write its post-incident review (a form)\n"
    "• `/incident classify <A|B|C> <type>` — triage a drill incident (scored)\n"
    "• `/incident help` — this text"
)

NOT_IN_INCIDENT = (
    "This channel is not an incident's channel. Run the command in the channel tocsin "
    "created for the incident (its name starts with `inc-`), or `/incident declare` to "
    "open a new one."
)


def status_reply(incident: Incident, now: datetime) -> str:
    left = incident.time_left(now)
    deadline = ""
    if left is not None:
        deadline = (
            f" Acknowledge within {humanize(left)}."
            if left >= timedelta(0)
            else f" Acknowledgement {humanize(left)}."
        )
    return (
        f"{_LEVEL_MARK[incident.level]} *{escape(wording.incident_label(incident))}* — "
        f"{_STATUS_TEXT[incident.status]}.{deadline} {_acknowledged(incident)}."
    )
