"""Named API tokens (only their SHA-256 is kept) and the audit log of API changes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.records.tables import api_tokens, audit_log
from domain.access import Principal, Role

# A token is 32 random bytes: hashing it once with SHA-256 is enough (nothing to brute-force),
# and lets a request be checked with one indexed lookup.
PREFIX = "tocsin_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


class TokenExists(Exception):
    pass


@dataclass(frozen=True)
class TokenRecord:
    name: str
    role: Role
    person: str | None
    acts_for_others: bool
    created_at: datetime
    created_by: str
    revoked_at: datetime | None

    def principal(self) -> Principal:
        return Principal(
            token=self.name,
            role=self.role,
            person=self.person,
            acts_for_others=self.acts_for_others,
        )


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    token: str
    person: str | None
    method: str
    path: str
    status: int


class TokenRecords:
    def __init__(self, engine: AsyncEngine, writer: AsyncEngine) -> None:
        self._engine = engine
        self._writer = writer

    async def create(
        self,
        name: str,
        role: Role,
        person: str | None,
        acts_for_others: bool,
        by: str,
        now: datetime,
    ) -> tuple[TokenRecord, str]:
        """The new token's record and the token itself, which is never stored."""
        token = new_token()
        row = {
            "name": name,
            "role": role.value,
            "person": person,
            "acts_for_others": acts_for_others,
            "token_hash": token_hash(token),
            "created_at": now,
            "created_by": by,
            "revoked_at": None,
        }
        try:
            async with self._writer.begin() as conn:
                await conn.execute(api_tokens.insert().values(row))
        except IntegrityError:
            raise TokenExists(
                f"a token named {name!r} exists; revoke it or pick another name"
            ) from None
        return _record(row), token

    async def find(self, token: str) -> TokenRecord | None:
        """The live token's record; None for an unknown or revoked one."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(api_tokens).where(
                        api_tokens.c.token_hash == token_hash(token),
                        api_tokens.c.revoked_at.is_(None),
                    )
                )
            ).first()
        return None if row is None else _record(dict(row._mapping))

    async def all(self) -> list[TokenRecord]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(api_tokens).order_by(api_tokens.c.name))).all()
        return [_record(dict(r._mapping)) for r in rows]

    async def revoke(self, name: str, now: datetime) -> bool:
        """True if a live token of that name was revoked."""
        async with self._writer.begin() as conn:
            result = await conn.execute(
                update(api_tokens)
                .where(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return bool(result.rowcount)

    async def audit(self, entry: AuditEntry) -> None:
        async with self._writer.begin() as conn:
            await conn.execute(
                audit_log.insert().values(
                    at=entry.at,
                    token=entry.token,
                    person=entry.person,
                    method=entry.method,
                    path=entry.path,
                    status=entry.status,
                )
            )

    async def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            AuditEntry(
                at=r.at,
                token=r.token,
                person=r.person,
                method=r.method,
                path=r.path,
                status=r.status,
            )
            for r in rows
        ]


def _record(row: Mapping[str, Any]) -> TokenRecord:
    return TokenRecord(
        name=str(row["name"]),
        role=Role(str(row["role"])),
        person=None if row["person"] is None else str(row["person"]),
        acts_for_others=bool(row["acts_for_others"]),
        created_at=row["created_at"],
        created_by=str(row["created_by"]),
        revoked_at=row["revoked_at"],
    )
