"""The lead console at ``/console`` (ADR 0026): server-rendered pages over the API's own route
functions, a session cookie, live updates through server-sent events."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.console import incidents, other, reviews, signin
from api.console.core import ConsoleError, NotSignedIn, render


def install(app: FastAPI) -> None:
    for module in (signin, incidents, reviews, other):
        app.include_router(module.router, include_in_schema=False)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if request.method in ("GET", "HEAD"):
            return RedirectResponse("/console/sign-in", status_code=303)
        return render(request, "error.html", 401, message="sign in first", console=None)

    @app.exception_handler(ConsoleError)
    async def console_error(request: Request, exc: ConsoleError) -> HTMLResponse:
        # 202: an acknowledgement kept for a worker that did not answer in time (ADR 0038).
        return render(
            request,
            "error.html",
            exc.status,
            message=exc.message,
            console=None,
            taken=exc.status == 202,
        )
