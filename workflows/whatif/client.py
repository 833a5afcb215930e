"""Start a what-if replay and read its report."""

from __future__ import annotations

import uuid

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError

from domain.errors import WhatIfNotFound
from domain.whatif import WhatIfReport, WhatIfRequest, WhatIfStatus
from workflows.engine import CALL_TIMEOUT, call_engine
from workflows.ids import whatif_workflow_id
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

    async def report(self, run_id: str) -> tuple[WhatIfStatus, WhatIfReport | None]:
        """The report once the replay is done; until then only its status."""
        handle = self._client.get_workflow_handle_for(
            WhatIfWorkflow.run, whatif_workflow_id(run_id)
        )
        missing = lambda: WhatIfNotFound(run_id)  # noqa: E731
        described = await call_engine(
            handle.describe, self._call_timeout, not_found=missing, closed=missing
        )
        if described.status is WorkflowExecutionStatus.RUNNING:
            return WhatIfStatus.RUNNING, None
        if described.status is not WorkflowExecutionStatus.COMPLETED:
            return WhatIfStatus.FAILED, None
        try:
            report = await call_engine(
                handle.result, self._call_timeout, not_found=missing, closed=missing
            )
        except WorkflowFailureError:
            return WhatIfStatus.FAILED, None
        return WhatIfStatus.DONE, report
