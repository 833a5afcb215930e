"""Response reports and the quarterly digest (DESIGN.md §3), computed from the records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from adapters.clock import utcnow
from api.config import API_PREFIX
from api.deps import Authenticated, RuntimeDep
from api.markdown import quarterly_markdown
from api.schemas.common import IsoDatetime
from api.schemas.reports import ResponseReport, ResponseRowOut
from domain.reports import DEFINITIONS, Digest, Quarter, ResponseRow, digest, response_rows

router = APIRouter(prefix=API_PREFIX, tags=["reports"], dependencies=[Authenticated])


def _quarter(text: str | None) -> str | None:
    """Checked by the domain's own parser, so a bad quarter is told what one looks like
    rather than shown a regular expression."""
    if text is not None:
        try:
            Quarter.parse(text)
        except ValueError as exc:
            raise PydanticCustomError("quarter", str(exc)) from None
    return text


QuarterParam = Annotated[
    str | None,
    Query(examples=["2026Q4"], description="a quarter like 2026Q4; default: this one"),
    AfterValidator(_quarter),
]


def _rows(rows: list[ResponseRow]) -> list[ResponseRowOut]:
    return [
        ResponseRowOut(
            level=r.level,
            month=r.month,
            count=r.count,
            acknowledged=r.acknowledged,
            mtta_seconds=r.mtta_seconds,
            mttr_seconds=r.mttr_seconds,
            within_window_ratio=r.within_window_ratio,
            partner_within_target_ratio=r.partner_within_target_ratio,
            breaches=r.breaches,
            statement_breaches=r.statement_breaches,
            cleared_by_alerts=r.cleared_by_alerts,
        )
        for r in rows
    ]


@router.get("/reports/response", response_model=ResponseReport)
async def response_report(
    runtime: RuntimeDep,
    since: Annotated[IsoDatetime | None, Query(description="declared at or after")] = None,
    until: Annotated[IsoDatetime | None, Query(description="declared before")] = None,
    drill: Annotated[bool, Query(description="count drills instead of real incidents")] = False,
) -> ResponseReport:
    """Rows by level and month of declaration; ``definitions`` says what each column counts."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise _bad(name, "give a time zone, e.g. 2026-10-01T00:00:00Z")
    if since is not None and until is not None and until <= since:
        raise _bad("until", "must be after since")
    incidents = await runtime.store.incidents_declared(since, until, drill=drill)
    breaches = await runtime.store.statements.breaches_by_incident()
    rows = response_rows(incidents, breaches, drills=drill)
    return ResponseReport(
        since=since, until=until, drill=drill, items=_rows(rows), definitions=DEFINITIONS
    )


async def _digest(runtime: RuntimeDep, quarter: str | None) -> Digest:
    now = utcnow()
    which = Quarter.parse(quarter) if quarter else Quarter.of(now.date())
    incidents = await runtime.store.incidents_declared(which.start, which.end, drill=None)
    breaches = await runtime.store.statements.breaches_by_incident()
    reviews = await runtime.store.reviews.find(since=which.start, until=which.end, limit=10_000)
    actions = await runtime.store.reviews.actions()
    runs = [
        r
        for r in await runtime.store.drills.runs(limit=1000)
        if which.start <= r.started_at < which.end
    ]
    drills: list[dict[str, object]] = [
        {
            "id": r.id,
            "scenario": r.scenario,
            "status": r.status.value,
            "targets_met": sum(s.met for s in r.scores),
            "targets": len(r.scores),
        }
        for r in runs
    ]
    return digest(which, incidents, breaches, reviews, actions, now, drills=drills)


@router.get("/reports/quarterly")
async def quarterly_report(runtime: RuntimeDep, quarter: QuarterParam = None) -> dict[str, Any]:
    """The quarter's digest: incidents by level and type, the response by month, breaches,
    top root causes and repeat services, action items open and overdue, drills, leadership."""
    d = await _digest(runtime, quarter)
    now = utcnow()
    return {
        "quarter": str(d.quarter),
        "incidents": [
            {"level": level.value, "type": kind.value, "count": n}
            for (level, kind), n in sorted(d.by_level_and_type.items())
        ],
        "response": [r.model_dump() for r in _rows(d.response)],
        "window_breaches": d.window_breaches,
        "statement_breaches": d.statement_breaches,
        "top_root_causes": [{"cause": c, "count": n} for c, n in d.top_causes],
        "repeat_services": [{"service": s, "count": n} for s, n in d.repeat_services],
        "reviews_published": d.reviews_published,
        "reviews_missing": max(d.reviews_missing, 0),
        "action_items_open": [
            {
                "id": a.id,
                "title": a.title,
                "owner": a.owner,
                "due_at": a.due_at.isoformat(),
                "overdue": a.overdue(now),
            }
            for a in d.open_actions
        ],
        "action_items_overdue": len(d.overdue_actions),
        "drills": d.drills,
        "leadership_incidents": d.leadership_incidents,
    }


@router.get(
    "/reports/quarterly.md",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}}}},
)
async def quarterly_as_markdown(runtime: RuntimeDep, quarter: QuarterParam = None) -> Response:
    d = await _digest(runtime, quarter)
    return Response(quarterly_markdown(d, utcnow()), media_type="text/markdown; charset=utf-8")


def _bad(name: str, message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": ["query", name], "msg": message, "type": "value_error"}],
    )
