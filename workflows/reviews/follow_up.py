"""The follow-up loop reviews and action items share: sleep until the next nudge
(``domain.rules.reviews.next_nudge``), run it, and re-read the record whenever the API says it
changed, until it is closed or gone. What is followed — how it is read, nudged and carried
over into a new run — is handed in by its workflow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from temporalio import workflow

from domain.rules import reviews as rules

T = TypeVar("T")


def _never() -> bool:
    return False


@dataclass(frozen=True)
class Followed(Generic[T]):
    """One kind of thing followed until it is closed."""

    cadence: rules.Cadence
    due_at: Callable[[T], datetime]
    is_open: Callable[[T], bool]
    # The activity that sends the nudge if it still applies; the record as it is now.
    nudge: Callable[[T, rules.Nudge], Awaitable[T | None]]
    # The record after the API changed it (or after whatever else woke the loop).
    reread: Callable[[T], Awaitable[T | None]]
    # The input of the run that continues this one when the history grows long.
    carried: Callable[[T, rules.Progress], object]
    # Whether a new due date restarts the reminder and the notices (their keys name it).
    new_due_starts_over: bool = False
    # Wakes the loop as a change does, besides the ``changed`` signal.
    woken: Callable[[], bool] = _never


class FollowUp(Generic[T]):
    def __init__(self, followed: Followed[T]) -> None:
        self._followed = followed
        self._changed = False

    def changed(self) -> None:
        """The record changed through the API: read it again before the next nudge."""
        self._changed = True

    async def run(self, item: T | None, progress: rules.Progress) -> T | None:
        """The record once it is closed, or None once it is gone."""
        followed = self._followed
        while item is not None and followed.is_open(item):
            due_at = followed.due_at(item)
            nudge = rules.next_nudge(due_at, followed.cadence, progress)
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(followed.carried(item, progress))
            self._changed = False
            try:
                await workflow.wait_condition(
                    lambda: self._changed or followed.woken(),
                    timeout=max(nudge.at - workflow.now(), timedelta(seconds=1)),
                )
            except TimeoutError:
                item = await followed.nudge(item, nudge)
                progress = progress.after(nudge)
                continue
            item = await followed.reread(item)
            moved = item is not None and followed.due_at(item) != due_at
            if moved and followed.new_due_starts_over:
                progress = rules.Progress()
        return item
