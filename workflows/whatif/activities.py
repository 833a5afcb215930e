"""The what-if activity: the replay itself, which runs a time-skipping server of its own."""

from __future__ import annotations

from temporalio import activity

from domain.whatif import Replay, WhatIfReport
from workflows.whatif.models import WhatIfInput


class WhatIfActivities:
    """Handed the replay by whoever builds the worker, so this package never imports the
    runner (which builds workers itself)."""

    def __init__(self, replay: Replay) -> None:
        self._replay = replay

    @activity.defn(name="replay_what_if")
    async def replay(self, input: WhatIfInput) -> WhatIfReport:
        return await self._replay(input.request, input.playbooks)
