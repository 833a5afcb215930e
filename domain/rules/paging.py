"""Direct messages to one person, bundled (the way GoAlert bundles): the first page goes at
once and opens a window; pages that follow inside it are held and go together, as one message,
when it closes. A storm of 300 incidents then reaches the primary on call as a handful of
messages, and no page waits longer than one window.

Pure functions over ``PagerState``; ``workflows.pager`` holds the timer and the sending.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, Field

from domain.notify import Notification

# Keys remembered to drop a page handed over twice (an activity retried after signalling);
# far more than one storm's worth for one person.
SEEN_KEYS = 5000


class PagerState(BaseModel):
    window_until: AwareDatetime | None = None
    # When the last message went: the window counts from it, in the length now in force.
    sent_at: AwareDatetime | None = None
    held: list[Notification] = Field(default_factory=list)
    seen: list[str] = Field(default_factory=list)
    deliveries: int = 0


class Delivery(BaseModel):
    """One message to the person: a single page, or a bundle of held ones. ``key`` names the
    message, so sending it again after a retry finds the first one."""

    key: str
    pages: list[Notification]

    @property
    def bundled(self) -> bool:
        return len(self.pages) > 1


def _copy(state: PagerState) -> PagerState:
    """A copy whose lists may be changed. The held pages themselves are never changed, so
    they are shared: a deep copy of a storm's worth of pages, with their incidents, on every
    page was a tenth of the worker's time in a 200-incident storm."""
    return state.model_copy(update={"held": list(state.held), "seen": list(state.seen)})


def _deliver(
    state: PagerState, pages: list[Notification], now: datetime, window: timedelta
) -> Delivery:
    state.deliveries += 1
    state.window_until = now + window
    key = pages[0].key if len(pages) == 1 else f"bundle/{pages[0].key}/{len(pages)}"
    return Delivery(key=key, pages=pages)


def receive(
    state: PagerState, pages: Sequence[Notification], now: datetime, window: timedelta
) -> tuple[PagerState, list[Delivery]]:
    """New pages for the person. Outside a window the first goes at once; the rest of them,
    and every page inside a window, are held until it closes."""
    s = _copy(state)
    if s.sent_at is not None and s.window_until is not None:
        # The roster's bundle window may have changed since the last message: the one in
        # force now decides when the open window closes.
        s.window_until = s.sent_at + window
    deliveries: list[Delivery] = []
    seen = set(s.seen)
    for page in pages:
        if page.key in seen:
            continue
        seen.add(page.key)
        s.seen.append(page.key)
        open_window = s.window_until is not None and now < s.window_until
        if open_window or s.held:
            s.held.append(page)
        else:
            deliveries.append(_deliver(s, [page], now, window))
    del s.seen[:-SEEN_KEYS]
    return s, deliveries


def close_window(
    state: PagerState, now: datetime, window: timedelta
) -> tuple[PagerState, list[Delivery]]:
    """At the end of a window: the held pages as one message, which opens the next window."""
    s = _copy(state)
    if s.window_until is not None and now < s.window_until:
        return s, []
    if not s.held:
        s.window_until = None
        return s, []
    held, s.held = s.held, []
    return s, [_deliver(s, held, now, window)]


def next_due(state: PagerState) -> datetime | None:
    """When ``close_window`` has something to do."""
    return state.window_until if state.held or state.window_until is not None else None


def idle(state: PagerState, now: datetime) -> bool:
    """Nothing held and no window open: the pager may stop until the next page starts it."""
    return not state.held and (state.window_until is None or now >= state.window_until)
