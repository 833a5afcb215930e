"""Dependencies of the routes, as ``Annotated`` aliases.

The long-lived objects (records store, Temporal-backed incident service) live in one
``Runtime`` on ``app.state``; the lifespan builds it, and tests may build it themselves.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, get_type_hints

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from adapters.records import RecordsStore
from adapters.slack.client import SlackApi
from alerts.catalog import Catalog, load_catalog
from api.config import ApiConfig
from domain.access import Permission, Principal
from domain.drills import Scenario
from domain.rules.oncall import OnCall
from playbooks.base import DEFAULT_DIR
from playbooks.loader import load_scenarios
from playbooks.roster import RosterSource
from workflows.announcements.client import AnnouncementService
from workflows.drills.client import DrillService
from workflows.incident.client import IncidentService
from workflows.reviews.client import ReviewService
from workflows.statements.client import StatementService


class IntakeCounters:
    """Alertmanager deliveries seen by this API process. Unlike the incident metrics these
    count requests, which exist nowhere but here; Prometheus sums them across replicas and
    ``rate()`` absorbs restarts, as for any request counter."""

    def __init__(self) -> None:
        self.received: dict[str, int] = {"firing": 0, "resolved": 0}
        # Deliveries answered once stored (the default), and those answered with the
        # incident's outcome (?wait=true), of which these brought nothing new.
        self.accepted = 0
        self.deduplicated = 0
        # Deliveries answered 503 because Temporal did not answer in time: Alertmanager
        # retries them, so they are late alerts, not lost ones, until they stop succeeding.
        self.unavailable = 0


@dataclass(frozen=True)
class Runtime:
    store: RecordsStore
    service: IncidentService
    catalog: Catalog = field(default_factory=load_catalog)
    intake: IntakeCounters = field(default_factory=IntakeCounters)
    # Slack: the API opens forms and answers privately; None without a bot token.
    slack: SlackApi | None = None
    roster: RosterSource | None = None
    scenarios: dict[str, Scenario] = field(default_factory=load_scenarios)

    @property
    def statements(self) -> StatementService:
        """Customer statements, on the same Temporal client and task queue."""
        service = self.service
        return StatementService(
            service.client,
            service.task_queue,
            service.playbooks,
            call_timeout=service.call_timeout,
        )

    @property
    def reviews(self) -> ReviewService:
        """Reviews and action items: the records, and the workflows that follow them."""
        service = self.service
        return ReviewService(
            service.client,
            service.task_queue,
            self.store,
            service.playbooks,
            call_timeout=service.call_timeout,
        )

    @property
    def people(self) -> RosterSource:
        """The live roster: the configured one, else the bundled playbooks'."""
        return self.roster or RosterSource(DEFAULT_DIR)

    async def on_call(self, at: datetime) -> OnCall:
        """The roster at ``at``: each schedule's tier held by whoever is on call then."""
        roster = self.people
        overrides = await self.store.oncall.overrides(ending_after=at)
        return roster.at(at, overrides)

    @property
    def drills(self) -> DrillService:
        """Drill runs, classifications, the lead's scores and the drills' schedules."""
        service = self.service
        return DrillService(
            service.client,
            service.task_queue,
            self.store,
            service.playbooks,
            self.scenarios,
            self.people,
            incidents=service,
            call_timeout=service.call_timeout,
        )

    @property
    def announcements(self) -> AnnouncementService:
        """Sign-up confirmations and scheduled maintenance."""
        return AnnouncementService(
            self.service.client, self.service.task_queue, call_timeout=self.service.call_timeout
        )


# Dependencies are coroutines: FastAPI runs a plain function in its thread pool, and the
# hand-off for these trivial lookups was a sixth of the API's time in the intake profile.
async def get_runtime(request: Request) -> Runtime:
    runtime = getattr(request.app.state, "runtime", None)
    if not isinstance(runtime, Runtime):
        raise RuntimeError("app.state.runtime is not set: the app's lifespan has not run")
    return runtime


async def get_config(request: Request) -> ApiConfig:
    config: ApiConfig = request.app.state.config
    return config


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ConfigDep = Annotated[ApiConfig, Depends(get_config)]


async def get_store(runtime: RuntimeDep) -> RecordsStore:
    return runtime.store


async def get_service(runtime: RuntimeDep) -> IncidentService:
    return runtime.service


StoreDep = Annotated[RecordsStore, Depends(get_store)]
ServiceDep = Annotated[IncidentService, Depends(get_service)]

_bearer = HTTPBearer(auto_error=False, description="the API token (TOCSIN_API_TOKEN)")


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Who the request comes from, as ``api.auth.Authentication`` found from its token (it
    answered 401 already when there was none); ``credentials`` documents the scheme."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise _unauthorized("missing bearer token")
    return principal


PrincipalDep = Annotated[Principal, Depends(require_token)]


# Each check ``may`` made, with the permission it requires: the console asks a route which
# permission it names, so a button is shown and a form accepted by the route's own rule.
_CHECKS: dict[Callable[..., Any], Permission] = {}


def may(permission: Permission) -> Any:
    """The request's principal, once its role is found to grant ``permission`` (else 403)."""

    async def check(principal: PrincipalDep) -> Principal:
        principal.require(permission)
        return principal

    _CHECKS[check] = permission
    return Depends(check)


def permission_of(endpoint: Callable[..., Any]) -> Permission:
    """The permission a route function names with ``may``; READ for one that names none."""
    for hint in get_type_hints(endpoint, include_extras=True).values():
        for meta in getattr(hint, "__metadata__", ()):
            found = _CHECKS.get(getattr(meta, "dependency", None))  # type: ignore[arg-type]
            if found is not None:
                return found
    return Permission.READ


_intake_bearer = HTTPBearer(
    auto_error=False, scheme_name="IntakeToken", description="TOCSIN_INTAKE_TOKEN"
)


async def require_intake_token(
    config: ConfigDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_intake_bearer)],
) -> None:
    """Alertmanager's own token; the API token is not accepted here, nor this one elsewhere."""
    expected = config.intake_token
    if expected is None:
        raise _unauthorized("alert intake is not configured: set TOCSIN_INTAKE_TOKEN")
    _check(credentials, expected)


def _check(credentials: HTTPAuthorizationCredentials | None, expected: SecretStr | None) -> None:
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
IntakeAuthenticated = Depends(require_intake_token)
