"""Properties of the follow-up rule that reviews and action items share
(``domain/rules/reviews.py``): the owner is reminded once before the due time, then others are
told at the due time and every so often after it, each notice once and in order, and a notice
is sent only if it still applies to the due date as recorded when its timer fires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.playbook import ActionPolicy, ReviewPolicy
from domain.rules import reviews as rules

DUE = datetime(2026, 12, 8, 17, 0, tzinfo=UTC)
some_time = st.integers(min_value=0, max_value=30 * 24 * 60).map(lambda m: timedelta(minutes=m))
a_while = st.integers(min_value=1, max_value=14 * 24 * 60).map(lambda m: timedelta(minutes=m))
cadences = st.builds(rules.Cadence, remind_before=some_time, every=a_while)
instants = st.integers(min_value=-60 * 24 * 60, max_value=60 * 24 * 60).map(
    lambda m: DUE + timedelta(minutes=m)
)


def followed(cadence: rules.Cadence, count: int) -> list[rules.Nudge]:
    """The nudges a follow-up makes, each timer firing when the rule says."""
    progress, nudges = rules.Progress(), []
    for _ in range(count):
        nudge = rules.next_nudge(DUE, cadence, progress)
        nudges.append(nudge)
        progress = progress.after(nudge)
    return nudges


@given(cadences)
def test_the_first_nudge_is_the_reminder_before_the_due_time(cadence: rules.Cadence) -> None:
    first = rules.next_nudge(DUE, cadence, rules.Progress())

    assert first == rules.Nudge(at=DUE - cadence.remind_before, overdue=0)


@given(cadences, st.integers(min_value=2, max_value=20))
def test_then_others_are_told_at_the_due_time_and_every_so_often_each_time_once(
    cadence: rules.Cadence, count: int
) -> None:
    reminder, *notices = followed(cadence, count)

    assert reminder.overdue == 0
    assert [n.overdue for n in notices] == list(range(1, count))
    assert [n.at for n in notices] == [DUE + cadence.every * i for i in range(count - 1)]
    times = [n.at for n in (reminder, *notices)]
    assert times == sorted(times)


@given(cadences, st.integers(min_value=1, max_value=20))
def test_a_timer_that_fires_again_for_the_same_nudge_sends_nothing_new(
    cadence: rules.Cadence, count: int
) -> None:
    progress = rules.Progress()
    for nudge in followed(cadence, count):
        once = progress.after(nudge)
        assert once.after(nudge) == once
        assert once.reminded
        assert once.told >= progress.told
        progress = once
    assert rules.next_nudge(DUE, cadence, progress).overdue == count


@given(cadences, st.integers(min_value=1, max_value=20))
def test_a_follow_up_carried_over_names_the_same_next_nudge(
    cadence: rules.Cadence, count: int
) -> None:
    *done, expected = followed(cadence, count + 1)
    last = done[-1]
    carried = rules.Progress(reminded=True, told=last.overdue)  # what continue-as-new keeps

    assert rules.next_nudge(DUE, cadence, carried) == expected


@given(cadences, st.integers(min_value=1, max_value=20))
def test_every_overdue_notice_applies_when_its_timer_fires_on_time(
    cadence: rules.Cadence, count: int
) -> None:
    reminder, *notices = followed(cadence, count + 1)

    assert all(rules.nudge_applies(n.overdue, DUE, n.at) for n in notices)
    assert rules.nudge_applies(0, DUE, reminder.at) == (cadence.remind_before > timedelta(0))


@given(instants, st.integers(min_value=1, max_value=50))
def test_at_any_time_either_the_reminder_or_the_overdue_notices_apply_never_both(
    now: datetime, overdue: int
) -> None:
    reminds = rules.nudge_applies(0, DUE, now)
    tells = rules.nudge_applies(overdue, DUE, now)

    assert reminds != tells
    assert reminds == (now < DUE)


@given(instants, st.integers(min_value=0, max_value=50))
def test_a_due_date_moved_later_than_the_timer_holds_back_its_overdue_notice(
    now: datetime, overdue: int
) -> None:
    moved = max(now, DUE) + timedelta(minutes=1)

    assert rules.nudge_applies(overdue, moved, now) == (overdue == 0)


@given(some_time, a_while, a_while)
def test_reviews_and_action_items_follow_their_own_policies(
    remind_before: timedelta, every: timedelta, escalate_every: timedelta
) -> None:
    review = ReviewPolicy(
        remind_before=remind_before,
        overdue_every=every,
        actions=ActionPolicy(remind_before=remind_before, escalate_every=escalate_every),
    )

    assert rules.review_cadence(review) == rules.Cadence(remind_before, every)
    assert rules.action_cadence(review.actions) == rules.Cadence(remind_before, escalate_every)
