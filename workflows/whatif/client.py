"""Start a what-if replay and read its report."""

from __future__ import annotations

import uuid

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from domain.errors import WhatIfNotFound
from domain.whatif import WhatIfReport, WhatIfRequest, WhatIfStatus
from workflows.engine import CALL_TIMEOUT, call_engine
from workflows.ids import whatif_workflow_id
from workflows.whatif.activities import FAILED
from workflows.whatif.models import WhatIfInput
from workflows.whatif.workflow import WhatIfWorkflow


class WhatIfService:
    def __init__(self, client: Client, task_queue: str, call_timeout: float = CALL_TIMEOUT) -> None:
        self._client = client
        self._task_queue = task_queue
        self._call_timeout = call_timeout

    async def start(self, request: WhatIfRequest, playbooks: str) -> str:
        run_id = f"whatif-{uuid.uuid4().hex[:12]}"
        await call_engine(
            lambda: self._client.start_workflow(
                WhatIfWorkflow.run,
                WhatIfInput(id=run_id, request=request, playbooks=playbooks),
                id=whatif_workflow_id(run_id),
                task_queue=self._task_queue,
            ),
            self._call_timeout,
            not_found=lambda: WhatIfNotFound(run_id),
            closed=lambda: WhatIfNotFound(run_id),
        )
        return run_id

    async def report(self, run_id: str) -> tuple[WhatIfStatus, WhatIfReport | None, str | None]:
        """The report once the replay is done; until then only its status; if it failed, why."""
        handle = self._client.get_workflow_handle_for(
            WhatIfWorkflow.run, whatif_workflow_id(run_id)
        )
        missing = lambda: WhatIfNotFound(run_id)  # noqa: E731
        described = await call_engine(
            handle.describe, self._call_timeout, not_found=missing, closed=missing
        )
        if described.status is WorkflowExecutionStatus.RUNNING:
            return WhatIfStatus.RUNNING, None, None
        try:
            report = await call_engine(
                handle.result, self._call_timeout, not_found=missing, closed=missing
            )
        except WorkflowFailureError as exc:
            return WhatIfStatus.FAILED, None, reason(exc)
        return WhatIfStatus.DONE, report, None


def reason(failure: BaseException) -> str:
    """What a lead reads about a failed replay: the replay's own account, or where to look."""
    cause: BaseException | None = failure
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type == FAILED:
            return cause.message
        cause = cause.__cause__
    return "the replay stopped; the worker's log says why"
