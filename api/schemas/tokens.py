"""Named API tokens with roles (ADR 0015) and the audit log of changes made with them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StringConstraints

from api.schemas.common import PersonName, RequestBody
from domain.access import Role


class TokenRequest(RequestBody):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")] = Field(
        description="lower case, digits, . _ -; unique"
    )
    role: Role
    person: PersonName | None = Field(default=None, description="a roster name it acts as")
    acts_for_others: StrictBool = Field(
        default=False, description="an integration's token: may name any `by`"
    )


class TokenOut(BaseModel):
    name: str
    role: Role
    person: str | None
    acts_for_others: bool
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="shown this once; only its SHA-256 is kept")


class TokenList(BaseModel):
    items: list[TokenOut]


class AuditOut(BaseModel):
    at: datetime
    token: str
    person: str | None
    method: str
    path: str
    status: int = Field(description="the HTTP status the change was answered with")


class AuditLog(BaseModel):
    items: list[AuditOut] = Field(description="newest first")
