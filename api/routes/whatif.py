"""What-if replays of recorded incidents under candidate playbooks (DESIGN.md §3)."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from api.config import API_PREFIX
from api.deps import Authenticated, RuntimeDep, may
from api.schemas.whatif import WhatIfAccepted, WhatIfOut, WhatIfStartRequest
from domain.access import Permission, Principal
from domain.whatif import WhatIfRequest
from playbooks.loader import validate_directory
from workflows.playtest.whatif import describe_range, recorded
from workflows.whatif.client import WhatIfService

router = APIRouter(prefix=API_PREFIX, tags=["playbooks"], dependencies=[Authenticated])

RunId = Annotated[str, Path(pattern=r"^whatif-[0-9a-f]{12}$", examples=["whatif-3f9a1c2b7d10"])]


def _service(runtime: RuntimeDep) -> WhatIfService:
    service = runtime.service
    return WhatIfService(service.client, service.task_queue, service.call_timeout)


def _problems(directory: str) -> list[str]:
    """What is wrong with the candidate directory; a path the system cannot even look at
    (a NUL byte, a name too long) is a problem like any other, not a server error."""
    try:
        if not FilePath(directory).is_dir():
            return [f"{directory}: not a directory"]
        return validate_directory(FilePath(directory))
    except (OSError, ValueError) as exc:
        return [f"not a usable path ({type(exc).__name__})"]


@router.post(
    "/playbooks/what-if",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WhatIfAccepted,
)
async def start_what_if(
    who: Annotated[Principal, may(Permission.LEAD)], body: WhatIfStartRequest, runtime: RuntimeDep
) -> WhatIfAccepted:
    """Replay the recorded incidents of a range under candidate playbooks; read the report
    from ``GET /api/v1/playbooks/what-if/{id}``. Candidate playbooks that do not validate,
    and a range without incidents, are refused before anything runs."""
    problems = _problems(body.playbooks)
    if problems:
        raise HTTPException(
            422, "playbooks: the candidate does not validate: " + "; ".join(problems)
        )
    request = WhatIfRequest(since=body.since, until=body.until, level=body.level)
    if not await recorded(runtime.store, request):
        raise HTTPException(422, f"{describe_range(request)}: no incidents recorded")
    return WhatIfAccepted(id=await _service(runtime).start(request, body.playbooks))


@router.get("/playbooks/what-if/{run_id}", response_model=WhatIfOut)
async def get_what_if(run_id: RunId, runtime: RuntimeDep) -> WhatIfOut:
    state, report, reason = await _service(runtime).report(run_id)
    if report is None:
        return WhatIfOut(id=run_id, status=state, reason=reason)
    return WhatIfOut(id=run_id, **report.model_dump(exclude={"status"}), status=state)
