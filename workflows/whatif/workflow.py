"""WhatIfWorkflow: one replay of recorded incidents under candidate playbooks."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.whatif import WhatIfReport
    from workflows.whatif.activities import WhatIfActivities
    from workflows.whatif.models import WhatIfInput

# A replay takes seconds per incident; a quarter of a busy service's history, minutes. A
# crashed worker's attempt is tried again once, from the start (it writes nothing).
_REPLAY_TIMEOUT = timedelta(hours=1)
_ONE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_attempts=2)


@workflow.defn
class WhatIfWorkflow:
    @workflow.run
    async def run(self, input: WhatIfInput) -> WhatIfReport:
        return await workflow.execute_activity_method(
            WhatIfActivities.replay,
            input,
            start_to_close_timeout=_REPLAY_TIMEOUT,
            retry_policy=_ONE_RETRY,
        )
