"""Post-incident reviews, their action items and the knowledge base (DESIGN.md §3)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from starlette.convertors import Convertor, register_url_convertor

from adapters.clock import utcnow
from api.config import API_PREFIX
from api.deps import Authenticated, RuntimeDep, may
from api.markdown import review_markdown
from api.schemas.actions import ActionList, ActionOut, ActionPatch, ActionRequest
from api.schemas.common import INCIDENT_ID_PATTERN
from api.schemas.reviews import (
    AmendRequest,
    PublishRequest,
    ReviewHit,
    ReviewList,
    ReviewOut,
    ReviewPatch,
)
from domain.access import Permission, Principal
from domain.errors import InvalidAction, ReviewNotFound
from domain.reviews import ActionItem, ActionStatus, Review, ReviewStatus

router = APIRouter(prefix=API_PREFIX, tags=["reviews"], dependencies=[Authenticated])


class _ReviewIdConvertor(Convertor[str]):
    """A review id in a path, never ``….md``: so ``PATCH /reviews/r-1.md`` is a 405 from the
    Markdown route, not a 422 from the review's own."""

    regex = r"r-[A-Za-z0-9_-]{1,100}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("review_id", _ReviewIdConvertor())

IncidentId = Annotated[str, Path(pattern=INCIDENT_ID_PATTERN, examples=["20261123-k7qz"])]
ReviewId = Annotated[str, Path(pattern=r"^r-[A-Za-z0-9_-]{1,100}$", examples=["r-20261123-k7qz"])]
ActionId = Annotated[str, Path(pattern=r"^a-[0-9a-f]{12}$", examples=["a-3fa9c1d2e4b5"])]


async def _out(runtime: RuntimeDep, review: Review) -> ReviewOut:
    actions = await runtime.store.reviews.actions(review_id=review.id)
    return ReviewOut.of(review, actions, utcnow())


@router.get("/incidents/{incident_id}/review", response_model=ReviewOut)
async def incident_review(incident_id: IncidentId, runtime: RuntimeDep) -> ReviewOut:
    """The incident's review; it opens when the incident is resolved."""
    review = await runtime.store.reviews.of_incident(incident_id)
    if review is None:
        if await runtime.store.get_incident(incident_id) is None:
            await runtime.service.current(incident_id)  # 404 for an unknown incident
        raise ReviewNotFound(
            f"incident {incident_id} has no review yet: it opens when the incident is resolved"
        )
    return await _out(runtime, review)


@router.get("/reviews", response_model=ReviewList)
async def list_reviews(
    runtime: RuntimeDep,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"\S",
            description="words of the title, root cause, factors, lessons: published reviews",
        ),
    ] = None,
    status_: Annotated[ReviewStatus | None, Query(alias="status")] = None,
    service: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ReviewList:
    """With ``q``, the knowledge base: published reviews matching every word, best first
    (stemmed: "deploys" finds "deploy"). Without, reviews newest first."""
    hits: list[tuple[Review, float | None]]
    if q is not None:
        found = await runtime.store.reviews.search(
            q, status=status_ or ReviewStatus.PUBLISHED, service=service, limit=limit
        )
        hits = [(r, rank) for r, rank in found]
    else:
        listed = await runtime.store.reviews.find(status=status_, service=service, limit=limit)
        hits = [(r, None) for r in listed]
    return ReviewList(
        items=[
            ReviewHit(**r.model_dump(include=set(ReviewHit.model_fields)), rank=rank)
            for r, rank in hits
        ]
    )


@router.get(
    "/reviews/{review_id}.md",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}}}},
)
async def review_as_markdown(review_id: ReviewId, runtime: RuntimeDep) -> Response:
    review = await runtime.reviews.get(review_id)
    actions = await runtime.store.reviews.actions(review_id=review.id)
    return Response(
        review_markdown(review, actions),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{review.id}.md"'},
    )


def _in_roster(runtime: RuntimeDep, owner: str | None) -> None:
    """An owner is someone the roster knows: reminders and overdue notices reach people
    through it, so a misspelt owner would never hear of their review or action item."""
    if owner is None:
        return
    people = sorted({p.name for p in runtime.people.current().everyone()})
    if owner not in people:
        raise InvalidAction(
            f"owner: {owner!r} is not in the roster; its people are {', '.join(people)}"
        )


@router.get("/reviews/{review_id:review_id}", response_model=ReviewOut)
async def get_review(review_id: ReviewId, runtime: RuntimeDep) -> ReviewOut:
    return await _out(runtime, await runtime.reviews.get(review_id))


@router.patch(
    "/reviews/{review_id:review_id}",
    response_model=ReviewOut,
    responses={409: {"description": "published: amend it; or changed since `version`"}},
)
async def edit_review(
    who: Annotated[Principal, may(Permission.RESPOND)],
    review_id: ReviewId,
    body: ReviewPatch,
    runtime: RuntimeDep,
) -> ReviewOut:
    """What the owner writes, before publication."""
    _in_roster(runtime, body.owner)
    edited = await runtime.reviews.edit(review_id, body.changes(), utcnow(), body.version)
    return await _out(runtime, edited)


@router.post("/reviews/{review_id}/publish", response_model=ReviewOut)
async def publish_review(
    who: Annotated[Principal, may(Permission.LEAD)],
    review_id: ReviewId,
    body: PublishRequest,
    runtime: RuntimeDep,
) -> ReviewOut:
    """Into the knowledge base; reminders stop. Needs a summary and a root cause."""
    return await _out(
        runtime, await runtime.reviews.publish(review_id, who.acting(body.by), utcnow())
    )


@router.post(
    "/reviews/{review_id}/amendments",
    response_model=ReviewOut,
    status_code=status.HTTP_201_CREATED,
)
async def amend_review(
    who: Annotated[Principal, may(Permission.LEAD)],
    review_id: ReviewId,
    body: AmendRequest,
    runtime: RuntimeDep,
) -> ReviewOut:
    """Change a published review, with a reason; the change and the old text are kept."""
    amended = await runtime.reviews.amend(
        review_id, body.changes(), who.acting(body.by), body.reason, utcnow()
    )
    return await _out(runtime, amended)


@router.post(
    "/reviews/{review_id}/actions",
    response_model=ActionOut,
    status_code=status.HTTP_201_CREATED,
)
async def add_action(
    who: Annotated[Principal, may(Permission.RESPOND)],
    review_id: ReviewId,
    body: ActionRequest,
    runtime: RuntimeDep,
    response: Response,
) -> ActionOut:
    """An action item, followed until it is done or dropped: its owner is reminded before it
    is due, and the review's owner and the lead's manager are told while it is overdue."""
    _in_roster(runtime, body.owner)
    review = await runtime.reviews.get(review_id)
    now = utcnow()
    action = ActionItem(
        id=f"a-{secrets.token_hex(6)}",
        review_id=review.id,
        incident_id=review.incident_id,
        title=body.title,
        owner=body.owner,
        due_at=body.due_at,
        priority=body.priority,
        created_at=now,
        created_by=who.acting(body.by),
    )
    added = await runtime.reviews.add_action(review.id, action, now)
    response.headers["Location"] = f"{API_PREFIX}/actions/{added.id}"
    return ActionOut.of(added, now)


@router.patch("/actions/{action_id}", response_model=ActionOut)
async def change_action(
    who: Annotated[Principal, may(Permission.RESPOND)],
    action_id: ActionId,
    body: ActionPatch,
    runtime: RuntimeDep,
) -> ActionOut:
    """Done, dropped (``wont_do`` with a reason), reopened, moved or handed over."""
    _in_roster(runtime, body.owner)
    now = utcnow()
    changed = await runtime.reviews.change_action(
        action_id,
        status=body.status,
        reason=body.reason,
        due_at=body.due_at,
        owner=body.owner,
        by=who.acting(body.by),
        now=now,
    )
    return ActionOut.of(changed, now)


@router.get("/actions", response_model=ActionList)
async def list_actions(
    runtime: RuntimeDep,
    status_: Annotated[ActionStatus | None, Query(alias="status")] = None,
    overdue: Annotated[bool, Query(description="only open items past their due date")] = False,
    owner: Annotated[str | None, Query(max_length=200)] = None,
) -> ActionList:
    now = utcnow()
    if overdue and status_ not in (None, ActionStatus.OPEN):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=[
                {
                    "loc": ["query", "status"],
                    "msg": "only open items are overdue",
                    "type": "value_error",
                }
            ],
        )
    found = await runtime.store.reviews.actions(
        status=status_, overdue_at=now if overdue else None, owner=owner
    )
    return ActionList(items=[ActionOut.of(a, now) for a in found])
