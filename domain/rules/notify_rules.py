"""A person's notification rules, step by step, for the pages handed to their pager.

Each page walks the person's steps (``Person.rules``): a step falls due ``after`` the page
came, and is sent only while the page is unacknowledged. A step whose channel failed hands
the page to the next step at once, whatever its delay. Each channel bundles what falls due
while its window is open (the way GoAlert rate-limits per person and channel): Slack by the
roster's bundle window, e-mail and push by at least a minute, so a storm never floods a
phone.

Pure functions over ``RulesState``; ``workflows.pager`` holds the timers and the sending.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, Field

from domain.models import Channel, NotifyStep
from domain.notify import HANDLING, Notification

# No more than one e-mail or push a minute to one person; Slack follows the bundle window.
SLOW_CHANNEL_WINDOW = timedelta(minutes=1)
# Keys remembered to drop a page handed over twice (as ``domain.rules.paging``).
SEEN_KEYS = 5000


class StepPlan(BaseModel):
    """What the pager knows of a step: never its URL, which the sending activity reads from
    the live roster by the step's number."""

    number: int = Field(ge=1)
    channel: Channel
    after_seconds: float = Field(ge=0)


def plan(steps: Sequence[NotifyStep]) -> list[StepPlan]:
    return [
        StepPlan(number=n, channel=s.channel, after_seconds=s.after.total_seconds())
        for n, s in enumerate(steps, start=1)
    ]


class Step(BaseModel):
    """One page at one of its steps."""

    page: Notification
    steps: list[StepPlan]
    index: int = 0
    received_at: AwareDatetime
    due: AwareDatetime

    @property
    def plan(self) -> StepPlan:
        return self.steps[self.index]

    @property
    def key(self) -> str:
        """What the step is recorded as sent under: the page's own key for its first step
        (as before rules existed), the step's number after it."""
        return self.page.key if self.index == 0 else f"{self.page.key}/step{self.plan.number}"

    @property
    def next(self) -> StepPlan | None:
        return self.steps[self.index + 1] if self.index + 1 < len(self.steps) else None


class ChannelState(BaseModel):
    window_until: AwareDatetime | None = None
    held: list[Step] = Field(default_factory=list)


class RulesState(BaseModel):
    waiting: list[Step] = Field(default_factory=list)
    channels: dict[Channel, ChannelState] = Field(default_factory=dict)
    seen: list[str] = Field(default_factory=list)
    deliveries: int = 0
    # The roster's bundle window as the last page brought it.
    bundle_seconds: float = Field(default=0, ge=0)


class StepDelivery(BaseModel):
    """One message on one channel: a single step, or several bundled."""

    key: str
    channel: Channel
    steps: list[Step]


def window(channel: Channel, bundle_window: timedelta) -> timedelta:
    if channel is Channel.SLACK:
        return bundle_window
    return max(bundle_window, SLOW_CHANNEL_WINDOW)


def _copy(state: RulesState) -> RulesState:
    return state.model_copy(
        update={
            "waiting": list(state.waiting),
            "seen": list(state.seen),
            "channels": {
                c: s.model_copy(update={"held": list(s.held)}) for c, s in state.channels.items()
            },
        }
    )


def receive(
    state: RulesState,
    pages: Sequence[tuple[Notification, list[StepPlan]]],
    now: datetime,
    bundle_window: timedelta,
) -> RulesState:
    """New pages: each starts at its first step. A page that asks for no acknowledgement
    (an engagement, a reminder) takes only the steps due at once: the later ones exist to
    reach someone who has not acknowledged."""
    s = _copy(state)
    s.bundle_seconds = bundle_window.total_seconds()
    seen = set(s.seen)
    for page, steps in pages:
        if page.key in seen or not steps:
            continue
        seen.add(page.key)
        s.seen.append(page.key)
        if not HANDLING[page.kind].asks_ack:
            steps = [p for p in steps if p.after_seconds == 0] or steps[:1]
        due = now + timedelta(seconds=steps[0].after_seconds)
        s.waiting.append(Step(page=page, steps=steps, received_at=now, due=due))
    del s.seen[:-SEEN_KEYS]
    return s


def fire(state: RulesState, now: datetime) -> tuple[RulesState, list[StepDelivery]]:
    """Steps due by ``now`` join their channel; each channel whose window is closed sends
    what it holds as one message, which opens its next window."""
    s = _copy(state)
    for step in [w for w in s.waiting if w.due <= now]:
        s.waiting.remove(step)
        s.channels.setdefault(step.plan.channel, ChannelState()).held.append(step)
    deliveries: list[StepDelivery] = []
    for channel, held in s.channels.items():
        if held.window_until is not None and now < held.window_until:
            continue
        held.window_until = None
        if not held.held:
            continue
        steps, held.held = held.held, []
        length = window(channel, timedelta(seconds=s.bundle_seconds))
        held.window_until = now + length if length else None
        s.deliveries += 1
        key = steps[0].key if len(steps) == 1 else f"bundle/{steps[0].key}/{len(steps)}"
        deliveries.append(StepDelivery(key=f"{key}/{channel.value}", channel=channel, steps=steps))
    return s, deliveries


def sent(
    state: RulesState,
    delivery: StepDelivery,
    now: datetime,
    *,
    failed: bool,
    stopped: Sequence[str] = (),
) -> tuple[RulesState, list[Step]]:
    """A delivery's outcome: each page moves to its next step, at its delay or, after a
    failure, at once. Pages acknowledged meanwhile (``stopped``, by page key) go no further.
    Returns the steps that failed with no step left: those pages reached nobody."""
    s = _copy(state)
    stranded: list[Step] = []
    for step in delivery.steps:
        if step.page.key in stopped:
            continue
        following = step.next
        if following is None:
            if failed:
                stranded.append(step)
            continue
        due = (
            now
            if failed
            else max(now, step.received_at + timedelta(seconds=following.after_seconds))
        )
        s.waiting.append(step.model_copy(update={"index": step.index + 1, "due": due}))
    return s, stranded


def stop(
    state: RulesState, incident_ids: Sequence[str], *, first_steps_go: bool = True
) -> RulesState:
    """Pages of incidents no longer waiting for an acknowledgement take no further step;
    those that ask for none (an engagement) go on. A page's first step due at once goes all
    the same, as the sending activity lets it (the incident decided the page before it was
    acknowledged), and is then its last: the stop can reach the pager in the same task as the
    page itself, and the page must neither vanish nor walk on. ``first_steps_go=False`` is the
    pager before that was so."""
    s = _copy(state)

    def going(step: Step) -> bool:
        return step.page.incident.id not in incident_ids or not HANDLING[step.page.kind].asks_ack

    def last(step: Step) -> Step:
        return step.model_copy(update={"steps": step.steps[:1]}) if first_steps_go else step

    waiting: list[Step] = []
    for w in s.waiting:
        if going(w):
            waiting.append(w)
        elif first_steps_go and w.index == 0 and w.due == w.received_at:
            waiting.append(last(w))
    s.waiting = waiting
    for held in s.channels.values():
        # A held step is due already: a first one goes, as it did before the rule above.
        held.held = [h if going(h) else last(h) for h in held.held if going(h) or h.index == 0]
    return s


def next_due(state: RulesState) -> datetime | None:
    """When ``fire`` has something to do."""
    moments = [w.due for w in state.waiting]
    # An open window is waited out even with nothing held: the pager stops after it.
    moments += [c.window_until for c in state.channels.values() if c.window_until is not None]
    return min(moments) if moments else None


def idle(state: RulesState, now: datetime) -> bool:
    """Nothing waiting or held and every window closed: the pager may stop."""
    return not state.waiting and all(
        not held.held and (held.window_until is None or now >= held.window_until)
        for held in state.channels.values()
    )
