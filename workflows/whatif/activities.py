"""The what-if activity: the replay itself, which runs a time-skipping server of its own."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.errors import WhatIfFailed
from domain.whatif import Replay, WhatIfReport
from workflows.whatif.models import WhatIfInput

# The failure type the client reads a reason from. Any other failure's message may hold what a
# lead should not see (a database's address, SQL); the worker's log has it instead.
FAILED = "WhatIfFailed"


class WhatIfActivities:
    """Handed the replay by whoever builds the worker, so this package never imports the
    runner (which builds workers itself)."""

    def __init__(self, replay: Replay) -> None:
        self._replay = replay

    @activity.defn(name="replay_what_if")
    async def replay(self, input: WhatIfInput) -> WhatIfReport:
        try:
            return await self._replay(input.request, input.playbooks)
        except WhatIfFailed as exc:
            raise ApplicationError(str(exc), type=FAILED, non_retryable=not exc.again) from exc
