"""Named API tokens with roles (ADR 0015) and the audit log: administrators only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from adapters.clock import utcnow
from adapters.records.tokens import TokenExists, TokenRecord
from api.auth import BOOTSTRAP
from api.config import API_PREFIX
from api.deps import Authenticated, RuntimeDep, may
from api.schemas.tokens import AuditLog, AuditOut, TokenCreated, TokenList, TokenOut, TokenRequest
from domain.access import Permission, Principal
from domain.errors import IncidentConflict, InvalidAction, TokenNotFound

router = APIRouter(prefix=API_PREFIX, tags=["tokens"], dependencies=[Authenticated])

Admin = Annotated[Principal, may(Permission.ADMINISTER)]
TokenName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$", examples=["ada-laptop"])]


def _out(record: TokenRecord) -> TokenOut:
    return TokenOut(
        name=record.name,
        role=record.role,
        person=record.person,
        acts_for_others=record.acts_for_others,
        created_at=record.created_at,
        created_by=record.created_by,
        revoked_at=record.revoked_at,
    )


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
async def create_token(who: Admin, body: TokenRequest, runtime: RuntimeDep) -> TokenCreated:
    """A new token; the answer holds it once, only its SHA-256 is kept. A token bound to a
    roster ``person`` acts as them."""
    if body.person is not None:
        known = {p.name for p in runtime.people.current().everyone()}
        if body.person not in known:
            raise InvalidAction(f"person: {body.person!r} is not in the roster")
    try:
        record, token = await runtime.store.tokens.create(
            body.name, body.role, body.person, body.acts_for_others, who.acting(None), utcnow()
        )
    except TokenExists as exc:
        raise IncidentConflict(str(exc)) from None
    return TokenCreated(**_out(record).model_dump(), token=token)


@router.get("/tokens", response_model=TokenList)
async def list_tokens(who: Admin, runtime: RuntimeDep) -> TokenList:
    """Every token ever made, revoked ones included; never the tokens themselves."""
    return TokenList(items=[_out(r) for r in await runtime.store.tokens.all()])


BOOTSTRAP_ROTATION = (
    "bootstrap is the admin token `tocsin up` made (TOCSIN_API_TOKEN, else <data dir>/api-token), "
    "not a named token, and cannot be revoked here. To rotate it, stop the stack, set a new "
    "TOCSIN_API_TOKEN or delete <data dir>/api-token (a new one is made), and start it again; "
    "give people and tools named tokens (`tocsin tokens create`) instead of this one"
)


@router.delete(
    "/tokens/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={409: {"description": "the bootstrap token: rotated, not revoked"}},
)
async def revoke_token(who: Admin, name: TokenName, runtime: RuntimeDep) -> Response:
    """Revoke a token: refused everywhere within seconds."""
    if name == BOOTSTRAP:
        raise IncidentConflict(BOOTSTRAP_ROTATION)
    if not await runtime.store.tokens.revoke(name, utcnow()):
        raise TokenNotFound(f"no live token named {name!r}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/audit", response_model=AuditLog)
async def audit_log(
    who: Admin, runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> AuditLog:
    """Changes made through the API, newest first: which token, as whom, what, the answer."""
    entries = await runtime.store.tokens.audit_log(limit)
    return AuditLog(items=[AuditOut(**e.__dict__) for e in entries])
