"""The rules of reviews and action items, as pure functions: who owns a review, what it is
prefilled with from the incident's records, how it may change, and when a reminder or an
overdue notice falls due. ``workflows.reviews`` holds the timers and runs what they decide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain import wording
from domain.errors import IncidentConflict, InvalidAction
from domain.models import Incident, Role, TimelineEvent
from domain.playbook import ActionPolicy, ReviewPolicy
from domain.reviews import (
    WRITTEN_FIELDS,
    ActionItem,
    Amendment,
    KeyTimes,
    Review,
    ReviewStatus,
    review_id,
)
from domain.statements import Statement


def owner_of(incident: Incident) -> str:
    """The incident's lead — the lead function's first person reached — else whoever
    acknowledged it, else whoever declared it."""
    leads = sorted((p for p in incident.paged if p.role is Role.LEAD), key=lambda p: p.at)
    if leads:
        return leads[0].name
    return incident.acknowledged_by or incident.declared_by


def _seconds(later: datetime | None, earlier: datetime) -> float | None:
    return None if later is None else (later - earlier).total_seconds()


def key_times(incident: Incident, messages: Sequence[Statement]) -> KeyTimes:
    first = next(
        (m for m in sorted(messages, key=lambda m: m.drafted_at) if m.due_at is not None), None
    )
    # A drill's statements are "published" to its preview: they count for the drill.
    published_at = min((m.published_at for m in messages if m.published_at), default=None)
    due = first.due_at if first is not None else None
    return KeyTimes(
        declared_at=incident.declared_at,
        response_window_seconds=incident.response_window_seconds,
        acknowledged_at=incident.acknowledged_at,
        time_to_ack_seconds=_seconds(incident.acknowledged_at, incident.declared_at),
        acknowledged_within_window=incident.acknowledged_within_window,
        ack_level=(incident.ack_level or incident.level) if incident.acknowledged_at else None,
        ack_deadline=incident.ack_deadline if incident.acknowledged_at else None,
        breached_at=incident.breached_at,
        mitigated_at=incident.mitigated_at,
        time_to_mitigate_seconds=_seconds(incident.mitigated_at, incident.declared_at),
        resolved_at=incident.resolved_at,
        time_to_resolve_seconds=_seconds(incident.resolved_at, incident.declared_at),
        first_statement_due_at=due,
        first_statement_published_at=published_at,
        first_statement_on_time=(
            None if due is None or published_at is None else published_at <= due
        ),
    )


def breaches(incident: Incident, messages: Sequence[Statement]) -> list[str]:
    found = []
    if incident.window_breached and incident.breached_at is not None:
        level = incident.breach_level or incident.level
        found.append(wording.review_window_breach(level, incident.breached_at))
    for message in messages:
        if message.breached and message.due_at is not None:
            found.append(wording.review_statement_breach(message.id, message.due_at))
    return found


def participants(incident: Incident, timeline: Sequence[TimelineEvent]) -> list[str]:
    names = {incident.declared_by, *(p.name for p in incident.paged)}
    if incident.acknowledged_by:
        names.add(incident.acknowledged_by)
    names.update(e.actor for e in timeline if e.actor and e.actor != "tocsin")
    return sorted(names)


def prefill(
    incident: Incident,
    timeline: Sequence[TimelineEvent],
    messages: Sequence[Statement],
    policy: ReviewPolicy,
    now: datetime,
) -> Review:
    """The draft a resolved incident's review opens with: everything its records say."""
    resolved_at = incident.resolved_at or now
    return Review(
        id=review_id(incident.id),
        incident_id=incident.id,
        title=incident.title,
        level=incident.level,
        type=incident.type,
        service=incident.service,
        drill=incident.drill,
        owner=owner_of(incident),
        due_at=policy.due(resolved_at, incident.drill),
        summary=incident.resolution_summary or "",
        timeline=list(timeline),
        key_times=key_times(incident, messages),
        breaches=breaches(incident, messages),
        participants=participants(incident, timeline),
        created_at=now,
    )


def refreshed(review: Review, prefilled: Review) -> Review:
    """A draft brought up to date with its incident's records (a reopened and resolved
    again incident); what the owner wrote stays."""
    if review.status is ReviewStatus.PUBLISHED:
        return review
    return review.model_copy(
        update={
            "timeline": prefilled.timeline,
            "key_times": prefilled.key_times,
            "breaches": prefilled.breaches,
            "participants": prefilled.participants,
            "level": prefilled.level,
            "due_at": max(review.due_at, prefilled.due_at),
            "version": review.version + 1,
        }
    )


def edit(review: Review, changes: Mapping[str, Any], now: datetime) -> Review:
    """The owner's writing, before publication; a published review changes by amendment."""
    if review.status is ReviewStatus.PUBLISHED:
        raise IncidentConflict(
            f"review {review.id} is published: change it with an amendment "
            "(POST /api/v1/reviews/{id}/amendments), which is recorded"
        )
    update = {k: v for k, v in changes.items() if k in (*WRITTEN_FIELDS, "owner", "status")}
    status = update.pop("status", None)
    if status is not None and status is not review.status:
        if status is ReviewStatus.PUBLISHED:
            raise InvalidAction("publish with POST /api/v1/reviews/{id}/publish")
        update["submitted_at"] = now if status is ReviewStatus.IN_REVIEW else None
        update["status"] = status
    return review.model_copy(update={**update, "version": review.version + 1})


def publish(review: Review, by: str, now: datetime) -> Review:
    if review.status is ReviewStatus.PUBLISHED:
        raise IncidentConflict(f"review {review.id} was published by {review.published_by}")
    missing = [name for name in ("summary", "root_cause") if not getattr(review, name).strip()]
    if missing:
        raise InvalidAction(
            f"review {review.id} cannot be published without {' and '.join(missing)}"
        )
    return review.model_copy(
        update={
            "status": ReviewStatus.PUBLISHED,
            "published_at": now,
            "published_by": by,
            "submitted_at": review.submitted_at or now,
            "version": review.version + 1,
        }
    )


def amend(
    review: Review, changes: Mapping[str, Any], by: str, reason: str, now: datetime
) -> Review:
    if review.status is not ReviewStatus.PUBLISHED:
        raise IncidentConflict(f"review {review.id} is a {review.status.value}: edit it instead")
    diff: dict[str, dict[str, object]] = {}
    update: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in WRITTEN_FIELDS:
            continue
        before = getattr(review, name)
        if before != value:
            diff[name] = {"before": before, "after": value}
            update[name] = value
    if not diff:
        raise InvalidAction("the amendment changes nothing")
    amendment = Amendment(at=now, by=by, reason=reason, changes=diff)
    return review.model_copy(
        update={
            **update,
            "amendments": [*review.amendments, amendment],
            "version": review.version + 1,
        }
    )


# ---------------------------------------------------------------------------- follow-up


@dataclass(frozen=True)
class Cadence:
    """How something with a due date is followed: its owner reminded ``remind_before`` it
    is due, then others told when it is overdue and again ``every`` so often."""

    remind_before: timedelta
    every: timedelta


@dataclass(frozen=True)
class Nudge:
    """The next thing a follow-up timer does: remind before the due time, or tell others
    that it is overdue (the ``overdue``-th time)."""

    at: datetime
    overdue: int  # 0: the reminder before it is due


@dataclass(frozen=True)
class Progress:
    """How far the follow-up has gone; carried across continue-as-new."""

    reminded: bool = False
    told: int = 0

    def after(self, nudge: Nudge) -> Progress:
        """Once a nudge's timer fired (whether or not its notice still applied): a timer
        that fires again for the same nudge changes nothing."""
        return Progress(reminded=True, told=max(self.told, nudge.overdue))


def next_nudge(due_at: datetime, cadence: Cadence, progress: Progress) -> Nudge:
    """The reminder first, then the overdue notices at the due time and every ``every``."""
    if not progress.reminded:
        return Nudge(due_at - cadence.remind_before, 0)
    return Nudge(due_at + cadence.every * progress.told, progress.told + 1)


def nudge_applies(overdue: int, due_at: datetime, now: datetime) -> bool:
    """Whether a nudge, woken at ``now``, is still to be sent against the due date as
    recorded now: a reminder only before it, an overdue notice only after (the due date may
    have moved since the timer was set)."""
    return now < due_at if overdue == 0 else now >= due_at


def review_cadence(policy: ReviewPolicy) -> Cadence:
    return Cadence(remind_before=policy.remind_before, every=policy.overdue_every)


def action_cadence(policy: ActionPolicy) -> Cadence:
    return Cadence(remind_before=policy.remind_before, every=policy.escalate_every)


def review_open(review: Review) -> bool:
    return review.status is not ReviewStatus.PUBLISHED


def action_open(action: ActionItem) -> bool:
    return action.status.is_open


__all__ = [
    "Cadence",
    "Nudge",
    "Progress",
    "action_cadence",
    "action_open",
    "amend",
    "edit",
    "key_times",
    "next_nudge",
    "nudge_applies",
    "owner_of",
    "prefill",
    "publish",
    "refreshed",
    "review_cadence",
    "review_open",
]
