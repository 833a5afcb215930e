"""Every error leaves the API as JSON ``{"detail": ...}`` with a status that says whose fault
it is: 4xx for the caller's input, 503 when a backing service is down."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.schemas.incidents import AckTaken
from domain.access import Forbidden
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
    TokenNotFound,
    WhatIfNotFound,
)

log = logging.getLogger(__name__)


# How soon a client should try again after a 503: Alertmanager and scripts honour it.
RETRY_AFTER_SECONDS = 5


def _detail(status_code: int, detail: object) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code)


def unavailable(detail: str) -> JSONResponse:
    return JSONResponse(
        {"detail": detail},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _methods_of(request: Request) -> list[str]:
    path = request.url.path
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, APIRoute) and route.path_regex.match(path):
            methods |= route.methods or set()
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's default echoes each offending ``input`` back, which can be large, can
        # hold what the caller would rather not see logged, and can be nested too deeply
        # to encode.
        errors = [
            {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
            for error in exc.errors()
        ]
        return _detail(422, errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and exc.__cause__ is not None:
            # FastAPI answers 400 when the body cannot be decoded at all (not UTF-8, nested
            # deeper than the parser allows); for the caller that is malformed JSON too.
            error = {"loc": ["body"], "msg": "body is not valid JSON", "type": "json_invalid"}
            return _detail(422, [error])
        if exc.status_code == 405:
            # Starlette names the methods of the first route on the path only; a path with
            # GET and POST on separate routes must say both.
            return JSONResponse(
                {"detail": "Method Not Allowed"},
                status_code=405,
                headers={"Allow": ", ".join(_methods_of(request))},
            )
        return await http_exception_handler(request, exc)

    @app.exception_handler(IncidentNotFound)
    async def not_found(request: Request, exc: IncidentNotFound) -> Response:
        return _detail(404, f"incident {exc} not found")

    @app.exception_handler(StatementNotFound)
    async def statement_not_found(request: Request, exc: StatementNotFound) -> Response:
        return _detail(404, str(exc))

    @app.exception_handler(ReviewNotFound)
    async def review_not_found(request: Request, exc: ReviewNotFound) -> Response:
        return _detail(404, str(exc))

    @app.exception_handler(TokenNotFound)
    async def token_not_found(request: Request, exc: TokenNotFound) -> Response:
        return _detail(404, str(exc))

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return _detail(403, str(exc))

    @app.exception_handler(WhatIfNotFound)
    async def what_if_not_found(request: Request, exc: WhatIfNotFound) -> Response:
        return _detail(404, f"what-if {exc} not found")

    @app.exception_handler(ScheduleNotFound)
    async def schedule_not_found(request: Request, exc: ScheduleNotFound) -> Response:
        return _detail(404, str(exc))

    @app.exception_handler(DrillNotFound)
    async def drill_not_found(request: Request, exc: DrillNotFound) -> Response:
        return _detail(404, str(exc))

    @app.exception_handler(IncidentConflict)
    async def conflict(request: Request, exc: IncidentConflict) -> Response:
        return _detail(409, str(exc))

    @app.exception_handler(InvalidAction)
    async def invalid_action(request: Request, exc: InvalidAction) -> Response:
        return _detail(422, str(exc))

    @app.exception_handler(DBAPIError)
    async def database_unavailable(request: Request, exc: DBAPIError) -> Response:
        # Only the type is logged: the driver's message may quote the connection URL.
        log.warning(
            "records database unavailable during %s %s: %s",
            request.method,
            request.url.path,
            type(exc.orig).__name__,
        )
        return unavailable("the records database is unavailable; try again shortly")

    @app.exception_handler(OSError)
    async def connection_lost(request: Request, exc: OSError) -> Response:
        # A database or engine connection refused or reset below the drivers' own errors.
        log.warning("connection failed during %s %s: %s", request.method, request.url.path, exc)
        return unavailable("a backing service is unreachable; try again shortly")

    @app.exception_handler(AcknowledgementTaken)
    async def acknowledgement_taken(request: Request, exc: AcknowledgementTaken) -> Response:
        taken = AckTaken(
            detail=str(exc),
            incident_id=exc.incident_id,
            acknowledged_by=exc.by,
            acted_at=exc.acted_at,
        )
        return JSONResponse(taken.model_dump(mode="json"), status_code=202)

    @app.exception_handler(TemporalUnavailable)
    async def temporal_unavailable(request: Request, exc: TemporalUnavailable) -> Response:
        log.warning("Temporal unavailable during %s %s: %s", request.method, request.url.path, exc)
        return unavailable("the workflow engine (Temporal) is unavailable; try again shortly")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        # A bug: said so plainly, logged with its traceback, and the connection closed so
        # that a client reusing it is not left reading a half-written answer.
        log.exception("unexpected error during %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": "internal error; the API log has the details"},
            status_code=500,
            headers={"Connection": "close"},
        )
