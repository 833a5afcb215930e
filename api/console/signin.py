"""Signing in with a named token or the API token, and out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from api.auth import principal_of
from api.console import session as sessions
from api.console.core import ConsoleError, render
from api.deps import ConfigDep

router = APIRouter()


@router.get("/console/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, config: ConfigDep) -> HTMLResponse:
    # The form carries a CSRF token like every other: a page elsewhere cannot sign a
    # browser in under the attacker's token.
    current = sessions.read(request, config) or sessions.fresh()
    response = render(request, "signin.html", csrf=current.csrf, console=None)
    sessions.write(response, request, config, current)
    return response


@router.post("/console/sign-in")
async def sign_in(request: Request, config: ConfigDep) -> Response:
    form = await request.form()
    current = sessions.read(request, config)
    sent = form.get(sessions.CSRF_FIELD)
    if not sessions.csrf_ok(current, sent if isinstance(sent, str) else None):
        raise ConsoleError(403, "this form has no valid CSRF token; reload the page and retry")
    token = form.get("token")
    token = token.strip() if isinstance(token, str) else ""
    try:
        principal = await principal_of(request.app, config, token) if token else None
    except (SQLAlchemyError, OSError) as exc:
        raise ConsoleError(503, "the records database is unavailable; try again shortly") from exc
    if principal is None:
        # The same answer for an unknown, a revoked and a mistyped token, as the API gives.
        assert current is not None
        page = render(
            request, "signin.html", 401, csrf=current.csrf, console=None,
            error="That token is not valid.",
        )  # fmt: skip
        return page
    response = RedirectResponse("/console", status_code=303)
    sessions.write(response, request, config, sessions.fresh(token))
    return response


@router.post("/console/sign-out")
async def sign_out(request: Request, config: ConfigDep) -> Response:
    form = await request.form()
    sent = form.get(sessions.CSRF_FIELD)
    if not sessions.csrf_ok(
        sessions.read(request, config), sent if isinstance(sent, str) else None
    ):
        raise ConsoleError(403, "this form has no valid CSRF token; reload the page and retry")
    response = RedirectResponse("/console/sign-in", status_code=303)
    sessions.clear(response, request)
    return response
