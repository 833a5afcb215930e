"""What the communications lead manages behind the status page (DESIGN.md §3): subscribers
and component overrides (maintenance windows: ``api.routes.maintenances``)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from adapters.clock import utcnow
from adapters.records.statements import Subscriber
from adapters.webhooks import UnsafeUrl, check_url, new_secret
from api.config import API_PREFIX
from api.deps import Authenticated, ConfigDep, RuntimeDep, may
from api.routes.status import build_page
from api.schemas.status import ComponentList, ComponentOut, OverrideRequest
from api.schemas.subscribers import (
    SubscriberCreated,
    SubscribeRequest,
    SubscriberList,
    SubscriberOut,
)
from domain.access import Permission, Principal
from domain.statements import Override

router = APIRouter(prefix=API_PREFIX, dependencies=[Authenticated])

SubscriberId = Annotated[
    str, Path(pattern=r"^sub_[0-9a-f]{16}$", examples=["sub_5f0c9e2a7b1d4e63"])
]
ComponentId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,100}$", examples=["checkout"])]


def _field_error(field: str, message: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": ["body", field], "msg": message, "type": "value_error"}],
    )


# ---------------------------------------------------------------------------- subscribers


@router.post(
    "/subscribers",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriberCreated,
    tags=["subscribers"],
)
async def add_subscriber(
    who: Annotated[Principal, may(Permission.ADMINISTER)],
    body: SubscribeRequest,
    runtime: RuntimeDep,
    config: ConfigDep,
    response: Response,
) -> SubscriberCreated:
    """An e-mail address or a webhook endpoint, active at once. A webhook's signing secret
    (``whsec_…``) is in this answer and never shown again."""
    records = runtime.store.statements
    secret: str | None = None
    if body.email is not None:
        address = body.email.lower()
        if await records.subscriber_by_email(address) is not None:
            raise HTTPException(status.HTTP_409_CONFLICT, f"{address} is subscribed already")
        kind, email, url = "email", address, None
    else:
        url = str(body.webhook_url)
        try:
            await check_url(url, allow_private=config.webhook_allow_private)
        except UnsafeUrl as exc:
            raise _field_error("webhook_url", str(exc)) from None
        kind, email, secret = "webhook", None, new_secret()
    subscriber = Subscriber(
        id=f"sub_{secrets.token_hex(8)}",
        kind=kind,
        email=email,
        webhook_url=url,
        status="active",
        source="api",
        created_at=utcnow(),
        confirmed_at=utcnow(),
    )
    await records.add_subscriber(
        subscriber, secret=secret, unsubscribe_token=secrets.token_urlsafe(32)
    )
    response.headers["Location"] = f"{API_PREFIX}/subscribers/{subscriber.id}"
    return SubscriberCreated(**subscriber.model_dump(), secret=secret)


@router.get("/subscribers", response_model=SubscriberList, tags=["subscribers"])
async def list_subscribers(
    runtime: RuntimeDep,
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(pending|active|disabled)$")
    ] = None,
    kind: Annotated[str | None, Query(pattern="^(email|webhook)$")] = None,
) -> SubscriberList:
    found = await runtime.store.statements.list_subscribers(status=status_, kind=kind)
    return SubscriberList(items=[SubscriberOut(**s.model_dump()) for s in found])


@router.delete(
    "/subscribers/{subscriber_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["subscribers"],
    responses={404: {"description": "no such subscriber"}},
)
async def remove_subscriber(
    who: Annotated[Principal, may(Permission.ADMINISTER)],
    subscriber_id: SubscriberId,
    runtime: RuntimeDep,
) -> Response:
    if not await runtime.store.statements.remove_subscriber(subscriber_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no subscriber {subscriber_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ----------------------------------------------------------------------------- components


@router.get("/components", response_model=ComponentList, tags=["status page"])
async def list_components(runtime: RuntimeDep, config: ConfigDep) -> ComponentList:
    """The status page's components as customers see them now, with any override."""
    page = await build_page(runtime, config)
    return ComponentList(items=[ComponentOut.of(c) for c in page.components])


def _component(runtime: RuntimeDep, component_id: str) -> None:
    if component_id not in dict(runtime.catalog.components()):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no customer-visible component {component_id} in the service catalog",
        )


@router.put(
    "/components/{component_id}/override", response_model=ComponentOut, tags=["status page"]
)
async def override_component(
    who: Annotated[Principal, may(Permission.COMMUNICATE)],
    component_id: ComponentId,
    body: OverrideRequest,
    runtime: RuntimeDep,
    config: ConfigDep,
) -> ComponentOut:
    """Show ``status`` for the component whatever its incidents say, until cleared."""
    _component(runtime, component_id)
    await runtime.store.statements.set_override(
        Override(
            component=component_id,
            status=body.status,
            reason=body.reason,
            by=who.acting(body.by),
            at=utcnow(),
        )
    )
    return await _current(runtime, config, component_id)


@router.delete(
    "/components/{component_id}/override", response_model=ComponentOut, tags=["status page"]
)
async def clear_override(
    who: Annotated[Principal, may(Permission.COMMUNICATE)],
    component_id: ComponentId,
    runtime: RuntimeDep,
    config: ConfigDep,
) -> ComponentOut:
    """Back to the status its open incidents give it."""
    _component(runtime, component_id)
    await runtime.store.statements.clear_override(component_id)
    return await _current(runtime, config, component_id)


async def _current(runtime: RuntimeDep, config: ConfigDep, component_id: str) -> ComponentOut:
    page = await build_page(runtime, config)
    return ComponentOut.of(next(c for c in page.components if c.id == component_id))
