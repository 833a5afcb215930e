"""Every sentence tocsin says to people: timeline lines and notification texts.

Kept in one place so wording can be reviewed and changed without reading workflow code. These
functions are pure (the workflow calls them), so they take times as arguments and never read
the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from domain.durations import format_duration, humanize
from domain.models import (
    Actor,
    Function,
    Incident,
    IncidentType,
    Level,
    NotificationKind,
    Recipient,
    Role,
    TimelineEvent,
)
from domain.notify import HANDLING, Notification
from domain.playbook import PageTarget
from domain.statements import Statement, StatementStatus

_FUNCTION_NAMES = {
    Function.TECHNICAL_SUPPORT: "technical support",
    Function.CUSTOMER_SERVICE: "customer service",
    Function.BRAND_PR: "brand / PR",
    Function.LEADERSHIP: "leadership",
}


def function_name(function: Function) -> str:
    return _FUNCTION_NAMES[function]


def _clock(at: datetime) -> str:
    return f"{at:%H:%M:%S} UTC"


def _targets(page: Sequence[PageTarget]) -> str:
    parts = []
    for target in page:
        who = function_name(target.function) if target.function else "lead"
        parts.append(f"{who} {target.tier.value}")
    return ", ".join(parts)


# ------------------------------------------------------------------------------- timeline


def declared(incident: Incident, window: timedelta) -> str:
    service = f" on {incident.service}" if incident.service else ""
    drill = "DRILL: " if incident.drill else ""
    return (
        f"{drill}Level {incident.level} {incident.type.value.replace('_', ' ')}{service} declared "
        f"by {incident.declared_by}; acknowledge within {format_duration(window)} "
        f"(by {_clock(incident.ack_deadline)})"
        + (f"; {incident.grading.explain()}" if incident.grading else "")
    )


def engaged(role: Role, functions: Sequence[Function]) -> str:
    names = ", ".join(function_name(f) for f in functions)
    if role is Role.LEAD:
        return f"Paged {names} (lead, primary on call); they must acknowledge"
    if role is Role.SUPPORT:
        return f"Engaged {names} (support) into the incident"
    return f"Informed {names}"


def escalated(
    step: int, of: int, page: Sequence[PageTarget], late_by: timedelta | None = None
) -> str:
    text = f"Not acknowledged yet: escalation step {step} of {of} pages {_targets(page)}"
    if late_by is not None:
        text += f" (late by {humanize(late_by)}: tocsin was not running when it fell due)"
    return text


def partner_engaged(incident: Incident, partner: str, within: timedelta) -> str:
    return (
        f"Engaged partner {partner}: its first contact is paged and must answer within "
        f"{format_duration(within)} (acknowledge: POST /api/v1/incidents/{incident.id}/partners/"
        f"{partner}/ack)"
    )


def partner_late(partner: str, within: timedelta, contact: int) -> str:
    return (
        f"Partner {partner} has not answered within {format_duration(within)}: paging its "
        f"contact {contact}"
    )


def partner_acknowledged(partner: str, by: str, took: timedelta, within: bool) -> str:
    verdict = "within" if within else "outside"
    return f"Partner {partner} acknowledged by {by} after {humanize(took)}, {verdict} its target"


def breached(incident: Incident, page: Sequence[PageTarget], now: datetime) -> str:
    window = format_duration(timedelta(seconds=incident.response_window_seconds))
    return (
        f"Response window of {window} breached at {_clock(now)} with no acknowledgement; "
        f"paging {_targets(page)}"
    )


def repaged(incident: Incident, page: Sequence[PageTarget], now: datetime) -> str:
    overdue = humanize(incident.ack_deadline - now)
    return f"Still not acknowledged ({overdue}); paging {_targets(page)} again"


def update_due(since: timedelta) -> str:
    return f"No status update for {humanize(since)}: post one so everyone knows where things stand"


def confirm_requested(incident: Incident, now: datetime) -> str:
    cleared = humanize(now - incident.mitigated_at) if incident.mitigated_at else "a while"
    return (
        f"Every alert resolved {cleared} ago and nobody has acknowledged: confirm it is over "
        "and resolve it, or acknowledge it to keep working on it"
    )


def acknowledged(
    incident: Incident, by: Actor, implied_by: str | None, taken_after: timedelta | None = None
) -> str:
    assert incident.acknowledged_at is not None
    took = humanize(incident.acknowledged_at - incident.declared_at)
    window = format_duration(timedelta(seconds=incident.response_window_seconds))
    verdict = (
        "within" if incident.acknowledged_at <= incident.ack_deadline else "outside"
    ) + f" the {window} window"
    how = f" (by {implied_by} it)" if implied_by else ""
    late = f" (tocsin took it {humanize(taken_after)} later)" if taken_after else ""
    return f"Acknowledged by {by.name}{how} after {took}, {verdict}{late}"


def level_changed(
    old: Level, new: Level, reason: str, incident: Incident, old_deadline: datetime
) -> str:
    direction = "Raised" if new.is_more_serious_than(old) else "Lowered"
    text = f"{direction} from level {old} to {new}: {reason}"
    if incident.acknowledged_at is None and incident.ack_deadline != old_deadline:
        text += f"; acknowledge by {_clock(incident.ack_deadline)} (was {_clock(old_deadline)})"
    return text


def mitigated(note: str) -> str:
    return "Mitigated" + (f": {note}" if note else "; impact stopped, root cause may remain")


def resolved(incident: Incident, summary: str) -> str:
    assert incident.resolved_at is not None
    took = humanize(incident.resolved_at - incident.declared_at)
    return f"Resolved by {incident.resolved_by} after {took}" + (f": {summary}" if summary else "")


# ----------------------------------------------------------------------------- alerts

_LISTED_ALERTS = 5


def alert_names(names: Sequence[str]) -> str:
    """``CheckoutDown, SupportChatDown x2 and 3 more``: distinct names with counts, capped so
    that a storm of thousands stays one readable line."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    parts = [f"{name} x{n}" if n > 1 else name for name, n in counts.items()]
    if len(parts) > _LISTED_ALERTS:
        parts = [*parts[:_LISTED_ALERTS], f"{len(parts) - _LISTED_ALERTS} more"]
    return ", ".join(parts)


def _alerts(count: int) -> str:
    return f"{count} alert" + ("" if count == 1 else "s")


def alerts_firing(names: Sequence[str], firing_now: int) -> str:
    return f"{_alerts(len(names))} firing: {alert_names(names)} ({firing_now} firing in all)"


def alerts_resolved(names: Sequence[str], firing_now: int) -> str:
    still = f"{firing_now} still firing" if firing_now else "none firing"
    return f"{_alerts(len(names))} resolved: {alert_names(names)} ({still})"


def alerts_cleared(total: int, outcome: str) -> str:
    then = (
        "resolved automatically, as the playbook says"
        if outcome == "resolved"
        else "mitigated; a responder confirms and resolves it"
    )
    return f"Every alert has resolved ({_alerts(total)} in all): {then}"


def alert_raised_level(name: str, level: Level, score: float | None) -> str:
    graded = f" (score {score:.2f})" if score is not None else ""
    return f"alert {name} is graded {level}{graded}"


def reopened(names: Sequence[str], was: str) -> str:
    return f"Reopened: {alert_names(names)} fired again after the incident was {was}"


def notification_failed(kind: NotificationKind, recipient: str, reason: str) -> str:
    return (
        f"Could not deliver the {kind.value} to {recipient}: {reason}; this will not be retried, "
        "fix the configuration (see the worker log)"
    )


# ---------------------------------------------------------------------------- statements

_IMPACT = {Level.A: "most customers", Level.B: "some customers", Level.C: "a few customers"}


def impact(level: Level) -> str:
    """Who is affected, in customers' words, for the templates' ``impact``."""
    return _IMPACT[level]


def statement_drafted(stage: str, due: datetime | None, asked: str, reason: str = "") -> str:
    when = f", due {_clock(due)}" if due else ""
    again = f" ({reason})" if reason else ""
    return f"Statement for customers drafted ({stage}){when}{again}; asked {asked} to approve it"


def statement_approved(by: str, edited: bool) -> str:
    return f"Statement approved by {by}" + (" with changes" if edited else "")


def statement_rejected(by: str, reason: str) -> str:
    return f"Statement rejected by {by}: {reason}; a fresh draft waits for approval"


def statement_published(stage: str, holding: bool, drill: bool) -> str:
    what = "Holding statement" if holding else f"Statement ({stage})"
    if drill:
        return f"{what} published to the drill preview only (a drill)"
    return f"{what} published to the status page, subscribers and key accounts"


def statement_breached(due: datetime, holding: bool) -> str:
    then = "; the pre-approved holding statement went out meanwhile" if holding else ""
    return f"Statement not approved by its due time {_clock(due)}: a statement breach{then}"


def statement_escalated(step: int, of: int, asked: str) -> str:
    return f"Statement still not approved: step {step} of {of} asks {asked}"


def statement_corrected(by: str, original: str) -> str:
    return f"Correction of {original} published by {by}; the original is kept, superseded"


_CHANNEL_NAMES = {
    "status_page": ("status page", "status page"),
    "email": ("e-mail", "e-mails"),
    "webhook": ("webhook", "webhooks"),
    "key_account": ("key account", "key accounts"),
    "drill_preview": ("drill preview", "drill preview"),
}


def statement_delivered(deliveries: Sequence[tuple[str, str, int]]) -> str:
    """``[(channel, status, attempts)]`` in one line: what went where, after how many tries."""
    if not deliveries:
        return "Statement delivered to the status page; no subscribers or key accounts to tell"
    parts = []
    for channel, (one, many) in _CHANNEL_NAMES.items():
        mine = [(status, tries) for c, status, tries in deliveries if c == channel]
        if not mine:
            continue
        done = sum(1 for status, _ in mine if status == "delivered")
        failed = sum(1 for status, _ in mine if status == "failed")
        retried = sum(1 for status, tries in mine if status == "delivered" and tries > 1)
        name = one if len(mine) == 1 else many
        text = f"{name} {done}/{len(mine)}"
        if retried:
            text += f" ({retried} after retries)"
        if failed:
            text += f", {failed} failed"
        parts.append(text)
    return "Statement delivered: " + "; ".join(parts)


# ------------------------------------------------------------------------------ reviews


def _day(at: datetime) -> str:
    return f"{at:%a %d %b %H:%M} UTC"


def review_window_breach(level: Level, at: datetime) -> str:
    return f"Response window of level {level} breached at {_clock(at)}"


def review_statement_breach(message_id: str, due: datetime) -> str:
    return f"Statement {message_id} not approved by its due time {_clock(due)}"


def classified(by: str, level: Level, type: IncidentType) -> str:
    return f"{by} classified it as level {level}, {type.value.replace('_', ' ')} (drill triage)"


def review_opened(owner: str, due: datetime) -> str:
    return (
        f"Post-incident review opened, owned by {owner}, due {_day(due)}: "
        "prefilled with the timeline, key times and breaches"
    )


def review_reminded(owner: str, due: datetime) -> str:
    return f"Review due {_day(due)}: {owner} reminded to finish and publish it"


def review_overdue(owner: str, due: datetime, now: datetime) -> str:
    return (
        f"Review overdue by {humanize(now - due)} (due {_day(due)}); owner {owner}: "
        "the incident's leads are told"
    )


def review_published(by: str) -> str:
    return f"Post-incident review published by {by}"


def review_amended(by: str, reason: str, fields: Sequence[str]) -> str:
    return f"Published review amended by {by} ({', '.join(fields)}): {reason}"


def action_added(title: str, owner: str, due: datetime) -> str:
    return f"Action item for {owner}, due {_day(due)}: {title}"


def action_reminded(title: str, owner: str, due: datetime) -> str:
    return f"Action item due {_day(due)}: {owner} reminded — {title}"


def action_overdue(title: str, owner: str, due: datetime, now: datetime) -> str:
    return f"Action item overdue by {humanize(now - due)} ({owner}): {title}"


def action_closed(title: str, status: str, by: str, reason: str | None) -> str:
    why = f": {reason}" if reason else ""
    word = "done" if status == "done" else "dropped"
    return f"Action item {word} by {by} — {title}{why}"


def asked(targets: Sequence[PageTarget]) -> str:
    return _targets(targets)


# --------------------------------------------------------------------------- notifications

_HEADLINES = {
    NotificationKind.PAGE: "PAGE",
    NotificationKind.ENGAGE: "ENGAGE",
    NotificationKind.NOTICE: "NOTICE",
    NotificationKind.ESCALATION: "ESCALATE",
    NotificationKind.BREACH: "BREACH",
    NotificationKind.REMINDER: "REMIND",
    NotificationKind.STATUS: "STATUS",
    NotificationKind.APPROVAL: "APPROVE",
    NotificationKind.STATEMENT: "STATEMENT",
    NotificationKind.REVIEW: "REVIEW",
}


# What a person is asked to acknowledge (the rest only informs or reminds).
ASKS_ACK = frozenset(kind for kind, handling in HANDLING.items() if handling.asks_ack)


def headline(kind: NotificationKind) -> str:
    return _HEADLINES[kind]


def incident_label(incident: Incident) -> str:
    drill = " DRILL" if incident.drill else ""
    return f"[{incident.id}] {incident.level}{drill} {incident.title}"


def notification_text(
    kind: NotificationKind, incident: Incident, event: TimelineEvent, recipient: Recipient | None
) -> str:
    """One line for one recipient (or for the incident channel when ``recipient`` is None)."""
    to = ""
    if recipient is not None and recipient.partner is not None:
        to = f" -> {recipient.person.name} (partner {recipient.partner})"
    elif recipient is not None:
        to = (
            f" -> {recipient.person.name} ({function_name(recipient.function)} "
            f"{recipient.tier.value}, {recipient.role.value})"
        )
    ask = ""
    if kind in ASKS_ACK:
        ask = f" | acknowledge: tocsin ack {incident.id}"
    elif kind is NotificationKind.APPROVAL and "message" in event.data:
        ask = f" | approve: tocsin message approve {event.data['message']}"
    return f"{headline(kind):<8} {incident_label(incident)}{to}: {event.text}{ask}"


def bundle_text(recipient: Recipient, pages: Sequence[Notification]) -> str:
    """Several held pages for one person, one per line, then how to acknowledge them all."""
    head = (
        f"{'BUNDLE':<8} {len(pages)} notifications -> {recipient.person.name}, held while "
        "an earlier page was fresh:"
    )
    lines = [head]
    waiting = []
    for page in pages:
        incident = page.incident
        lines.append(f"    {headline(page.kind):<8} {incident_label(incident)}: {page.event.text}")
        if page.kind in ASKS_ACK and incident.acknowledged_at is None:
            waiting.append(incident.id)
    if waiting:
        lines.append(f"    acknowledge all: tocsin ack {' '.join(dict.fromkeys(waiting))}")
    return "\n".join(lines)


def statement_not_a_draft(message: Statement) -> str:
    if message.approved_by is not None:
        at = f" at {message.approved_at:%Y-%m-%d %H:%M:%S} UTC" if message.approved_at else ""
        return f"statement {message.id} was already approved by {message.approved_by}{at}"
    if message.status is StatementStatus.REJECTED:
        return f"statement {message.id} was rejected by {message.rejected_by}"
    return f"statement {message.id} is {message.status.value}, not a draft waiting for approval"


def statement_not_correctable(message: Statement) -> str:
    return f"statement {message.id} is {message.status.value}: only a published one is corrected"
