"""Dependencies of the routes, as ``Annotated`` aliases.

The long-lived objects (records store, Temporal-backed incident service) live in one
``Runtime`` on ``app.state``; the lifespan builds it, and tests may build it themselves.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tocsin.records import RecordsStore
from tocsin.settings import Settings, get_settings
from workflows.client import IncidentService


@dataclass(frozen=True)
class Runtime:
    store: RecordsStore
    service: IncidentService


def get_runtime(request: Request) -> Runtime:
    runtime = getattr(request.app.state, "runtime", None)
    if not isinstance(runtime, Runtime):
        raise RuntimeError("app.state.runtime is not set: the app's lifespan has not run")
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_store(runtime: RuntimeDep) -> RecordsStore:
    return runtime.store


def get_service(runtime: RuntimeDep) -> IncidentService:
    return runtime.service


StoreDep = Annotated[RecordsStore, Depends(get_store)]
ServiceDep = Annotated[IncidentService, Depends(get_service)]

_bearer = HTTPBearer(auto_error=False, description="the API token (TOCSIN_API_TOKEN)")


def require_token(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Reject the request unless it carries the configured bearer token.

    Synchronous on purpose: the token may be read from a file, and FastAPI runs sync
    dependencies in a thread so the read never blocks the event loop.
    """
    expected = settings.resolved_api_token()
    if credentials is None:
        raise _unauthorized("missing bearer token")
    if expected is None or not secrets.compare_digest(
        credentials.credentials.encode(), expected.get_secret_value().encode()
    ):
        raise _unauthorized("invalid bearer token")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


Authenticated = Depends(require_token)
