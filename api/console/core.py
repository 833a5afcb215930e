"""What every console page shares: who is signed in, what they may do, forms checked for
their CSRF token, the API's own route functions called for every change, errors as pages.

A change made here is the change the API makes: the console calls the route function the
API serves (its validation, its rules, its services), after requiring the permission that
route names (``api.deps.permission_of``), and audits it as the API's middleware would.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import FormData

from adapters.clock import utcnow
from adapters.records.tokens import AuditEntry
from api.auth import principal_of
from api.config import ApiConfig
from api.console import session as sessions
from api.deps import ConfigDep, Runtime, RuntimeDep, permission_of
from domain.access import Forbidden, Principal
from domain.errors import (
    AcknowledgementTaken,
    DrillNotFound,
    IncidentConflict,
    IncidentNotFound,
    InvalidAction,
    ReviewNotFound,
    ScheduleNotFound,
    StatementNotFound,
    TemporalUnavailable,
    WhatIfNotFound,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")


def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _span(seconds: float | None) -> str:
    """12:05 for twelve minutes and five seconds; 1:02:03 past an hour; -0:30 overdue."""
    if seconds is None:
        return "—"
    sign = "-" if seconds < 0 else ""
    whole = int(abs(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes}:{secs:02d}"


templates.env.filters["when"] = _when
templates.env.filters["span"] = _span

_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (Forbidden, 403),
    (IncidentNotFound, 404),
    (ReviewNotFound, 404),
    (StatementNotFound, 404),
    (DrillNotFound, 404),
    (ScheduleNotFound, 404),
    (WhatIfNotFound, 404),
    (IncidentConflict, 409),
    (InvalidAction, 422),
    (TemporalUnavailable, 503),
    (AcknowledgementTaken, 202),
)


class ConsoleError(Exception):
    """Answered as a page with this status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class NotSignedIn(Exception):
    """No session, an expired one, or a token that no longer stands for anyone."""


@dataclass(frozen=True)
class Console:
    """The request as a page sees it."""

    request: Request
    runtime: Runtime
    config: ApiConfig
    principal: Principal
    session: sessions.Session

    def can(self, endpoint: Callable[..., Any]) -> bool:
        """Whether the API route ``endpoint`` would let this principal through."""
        return self.principal.may(permission_of(endpoint))

    def page(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, name, status, console=self, **context)


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, f"console/{name}", {"now": utcnow(), **context}, status_code=status
    )
    # Pages show live incident state and carry a CSRF token: never cached, never framed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    )
    return response


async def signed_in(request: Request, runtime: RuntimeDep, config: ConfigDep) -> Console:
    session = sessions.read(request, config)
    if session is None or session.token is None:
        raise NotSignedIn
    try:
        principal = await principal_of(request.app, config, session.token)
    except (SQLAlchemyError, OSError) as exc:
        raise ConsoleError(503, "the records database is unavailable; try again shortly") from exc
    if principal is None:
        raise NotSignedIn
    return Console(request, runtime, config, principal, session)


ConsoleDep = Annotated[Console, Depends(signed_in)]


async def form_of(console: ConsoleDep) -> FormData:
    """The posted form, once its CSRF token is found to match the session's (else 403)."""
    form = await console.request.form()
    sent = form.get(sessions.CSRF_FIELD)
    if not sessions.csrf_ok(console.session, sent if isinstance(sent, str) else None):
        raise ConsoleError(403, "this form has no valid CSRF token; reload the page and retry")
    return form


FormDep = Annotated[FormData, Depends(form_of)]


def fields(form: FormData, *names: str) -> dict[str, str]:
    """The named fields that were filled in: an empty field is one left out."""
    found: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            found[name] = value
    return found


def lines(form: FormData, name: str) -> list[str] | None:
    value = form.get(name)
    if not isinstance(value, str):
        return None
    return [line.strip() for line in value.splitlines() if line.strip()]


async def act(
    console: Console, endpoint: Callable[..., Awaitable[T]], build: Callable[[], Mapping[str, Any]]
) -> T:
    """Call the API's route ``endpoint`` with the arguments ``build`` makes, as the API would:
    its permission first, then its input, then the change; audited like an API change."""
    status = 500
    try:
        console.principal.require(permission_of(endpoint))
        result = await endpoint(**build())
        status = 200
        return result
    except ValidationError as exc:
        status = 422
        raise ConsoleError(422, _invalid(exc.errors())) from exc
    except RequestValidationError as exc:
        status = 422
        raise ConsoleError(422, _invalid(list(exc.errors()))) from exc
    except HTTPException as exc:
        status = exc.status_code
        raise ConsoleError(exc.status_code, str(exc.detail)) from exc
    except tuple(cls for cls, _ in _STATUS) as exc:
        status = next(code for cls, code in _STATUS if isinstance(exc, cls))
        message = f"incident {exc} not found" if isinstance(exc, IncidentNotFound) else str(exc)
        raise ConsoleError(status, message) from exc
    finally:
        if console.request.method not in ("GET", "HEAD"):
            await _audit(console, status)


def _invalid(errors: list[Any]) -> str:
    parts = []
    for error in errors:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", ""))
    return "; ".join(parts) or "invalid input"


async def _audit(console: Console, status: int) -> None:
    request, who = console.request, console.principal
    entry = AuditEntry(utcnow(), who.token, who.person, request.method, request.url.path, status)
    try:
        async with asyncio.timeout(5):
            await console.runtime.store.tokens.audit(entry)
    except (TimeoutError, SQLAlchemyError, OSError):
        log.error("audit entry not written: %s %s by %s", entry.method, entry.path, who.token)


def back(form: FormData, default: str) -> RedirectResponse:
    """Where a form sends its user afterwards: a console page only, never another site."""
    target = form.get("next")
    if not isinstance(target, str) or not target.startswith("/console") or "//" in target:
        target = default
    return RedirectResponse(target, status_code=303)
