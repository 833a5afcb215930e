"""``/readyz``: what each backing service answered."""

from __future__ import annotations

from pydantic import BaseModel


class Ready(BaseModel):
    status: str
    checks: dict[str, str]
