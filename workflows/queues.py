"""Where each kind of work waits, and in which order (ADR 0022).

Pages have a task queue of their own, served by workers with their own slots, so a storm's
channels, cards, statement drafts and record writes never hold a slot a page needs. Within a
queue Temporal hands out tasks by priority key (1 first, 3 when unset): pages first, customer
statements after the incidents' own work.
"""

from __future__ import annotations

from temporalio.common import Priority

# Direct messages: the lead's page, escalations, breaches, reminders, and the pagers that
# bundle them.
PAGES = Priority(priority_key=1)
# What customers are told: drafted and asked for approval once the incidents' work is done.
STATEMENTS = Priority(priority_key=4)


def paging_queue(task_queue: str) -> str:
    """The paging task queue beside ``task_queue``: every worker of the deployment serves
    both."""
    return f"{task_queue}-pages"
