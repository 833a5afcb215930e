"""Reviews: the list and the knowledge base, a review's page, its edits and action items."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from api.console.core import Console, ConsoleDep, ConsoleError, FormDep, act, back, fields, lines
from api.routes import reviews as api
from api.schemas.actions import ActionPatch, ActionRequest
from api.schemas.reviews import PublishRequest, ReviewPatch
from domain.reviews import ActionStatus, Priority, ReviewStatus

router = APIRouter()

ReviewId = Annotated[str, Path(pattern=r"^r-[A-Za-z0-9_-]{1,100}$")]
ActionId = Annotated[str, Path(pattern=r"^a-[0-9a-f]{12}$")]
PROSE = ("summary", "customer_impact", "root_cause", "owner", "status", "version")
LISTS = ("five_whys", "contributing_factors", "went_well", "went_badly", "lessons")


def _can(console: Console) -> dict[str, bool]:
    return {
        "edit": console.can(api.edit_review),
        "publish": console.can(api.publish_review),
        "actions": console.can(api.add_action),
    }


@router.get("/console/reviews", response_class=HTMLResponse)
async def reviews_page(
    console: ConsoleDep, q: str | None = Query(default=None, max_length=200)
) -> HTMLResponse:
    """Reviews newest first; with words, the knowledge base (published reviews, best first)."""
    query = q.strip() if q and q.strip() else None
    found = await api.list_reviews(console.runtime, q=query, status_=None, service=None, limit=50)
    return console.page("reviews.html", reviews=found.items, q=query or "")


@router.get("/console/reviews/{review_id}", response_class=HTMLResponse)
async def review_page(console: ConsoleDep, review_id: ReviewId) -> HTMLResponse:
    review = await act(
        console, api.get_review, lambda: {"review_id": review_id, "runtime": console.runtime}
    )
    return console.page(
        "review.html",
        review=review,
        can=_can(console),
        people=sorted({p.name for p in console.runtime.people.current().everyone()}),
        priorities=list(Priority),
        statuses=[ReviewStatus.DRAFT, ReviewStatus.IN_REVIEW],
        lists=LISTS,
    )


def _patch(form: Any) -> ReviewPatch:
    values: dict[str, Any] = {name: form.get(name, "") for name in ("summary", "customer_impact",
                                                                  "root_cause")}  # fmt: skip
    values.update(fields(form, "owner", "status", "version"))
    for name in LISTS:
        values[name] = lines(form, name)
    return ReviewPatch.model_validate({k: v for k, v in values.items() if v is not None})


@router.post("/console/reviews/{review_id}")
async def edit_review(console: ConsoleDep, form: FormDep, review_id: ReviewId) -> RedirectResponse:
    await act(
        console,
        api.edit_review,
        lambda: {
            "who": console.principal,
            "review_id": review_id,
            "body": _patch(form),
            "runtime": console.runtime,
        },
    )
    return back(form, f"/console/reviews/{review_id}")


@router.post("/console/reviews/{review_id}/publish")
async def publish_review(
    console: ConsoleDep, form: FormDep, review_id: ReviewId
) -> RedirectResponse:
    await act(
        console,
        api.publish_review,
        lambda: {
            "who": console.principal,
            "review_id": review_id,
            "body": PublishRequest(),
            "runtime": console.runtime,
        },
    )
    return back(form, f"/console/reviews/{review_id}")


@router.post("/console/reviews/{review_id}/actions")
async def add_action(console: ConsoleDep, form: FormDep, review_id: ReviewId) -> RedirectResponse:
    values: dict[str, Any] = fields(form, "title", "owner", "priority")
    due = form.get("due_at")
    if isinstance(due, str) and due:
        values["due_at"] = f"{due}T17:00:00Z" if len(due) == 10 else due
    await act(
        console,
        api.add_action,
        lambda: {
            "who": console.principal,
            "review_id": review_id,
            "body": ActionRequest.model_validate(values),
            "runtime": console.runtime,
            "response": Response(),
        },
    )
    return back(form, f"/console/reviews/{review_id}")


@router.post("/console/actions/{action_id}")
async def change_action(
    console: ConsoleDep, form: FormDep, action_id: ActionId
) -> RedirectResponse:
    values = fields(form, "status", "reason")
    if values.get("status") not in {s.value for s in ActionStatus}:
        raise ConsoleError(422, "status: choose open, done or wont_do")
    await act(
        console,
        api.change_action,
        lambda: {
            "who": console.principal,
            "action_id": action_id,
            "body": ActionPatch.model_validate(values),
            "runtime": console.runtime,
        },
    )
    return back(form, "/console/reviews")
