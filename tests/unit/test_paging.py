"""Properties of bundling (``domain.rules.paging``), driven as the pager workflow drives it:
whatever the arrival times, every page reaches the person exactly once, none waits longer than
one window, and a storm becomes a handful of messages."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.models import (
    Function,
    Person,
    Recipient,
    Role,
    Tier,
)
from domain.notify import Notification
from domain.rules import paging
from testkit.pages import a_page

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ADA = Recipient(
    person=Person(name="Ada Okafor"),
    function=Function.TECHNICAL_SUPPORT,
    tier=Tier.PRIMARY,
    role=Role.LEAD,
)


def page(n: int) -> Notification:
    return a_page(n, ADA, T0)


def drive(
    arrivals: list[float], window: timedelta, *, twice: bool = True
) -> tuple[list[tuple[datetime, paging.Delivery]], dict[str, datetime]]:
    """Pages arriving ``arrivals`` seconds after T0 (with ``twice``, a few of them handed over
    again, as a retried activity does); the deliveries at their instants, and when each page
    first arrived."""
    state = paging.PagerState()
    sent: list[tuple[datetime, paging.Delivery]] = []
    arrived: dict[str, datetime] = {}
    events = sorted((T0 + timedelta(seconds=s), n) for n, s in enumerate(arrivals))
    for at, n in events:
        while (due := paging.next_due(state)) is not None and due <= at:
            state, out = paging.close_window(state, due, window)
            sent += [(due, d) for d in out]
        message = page(n % max(1, len(arrivals) - 2) if twice else n)
        arrived.setdefault(message.key, at)
        state, out = paging.receive(state, [message], at, window)
        sent += [(at, d) for d in out]
    while (due := paging.next_due(state)) is not None:
        state, out = paging.close_window(state, due, window)
        sent += [(due, d) for d in out]
    assert paging.idle(state, T0 + timedelta(days=1))
    return sent, arrived


arrivals = st.lists(st.floats(min_value=0, max_value=300, allow_nan=False), max_size=60)
windows = st.sampled_from([timedelta(0), timedelta(seconds=5), timedelta(seconds=30)])


@given(arrivals, windows)
def test_every_page_reaches_the_person_exactly_once(times: list[float], window: timedelta) -> None:
    sent, arrived = drive(times, window)

    keys = [p.key for _, delivery in sent for p in delivery.pages]
    assert sorted(keys) == sorted(arrived)


@given(arrivals, windows)
def test_no_page_waits_longer_than_one_window(times: list[float], window: timedelta) -> None:
    sent, arrived = drive(times, window)

    for at, delivery in sent:
        for p in delivery.pages:
            assert at - arrived[p.key] <= window


@given(arrivals, windows)
def test_at_most_one_message_per_window_after_the_first(
    times: list[float], window: timedelta
) -> None:
    sent, _ = drive(times, window)

    instants = [at for at, _ in sent]
    for earlier, later in itertools.pairwise(instants):
        assert later - earlier >= window


def test_a_storm_of_300_pages_in_a_minute_is_three_messages() -> None:
    sent, _ = drive([i * 0.2 for i in range(300)], timedelta(seconds=30), twice=False)

    assert [len(d.pages) for _, d in sent] == [1, 149, 150]
    assert [d.bundled for _, d in sent] == [False, True, True]
