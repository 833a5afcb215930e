"""The HTTP API's app factory.

``create_app`` builds the routes and checks the configuration; the lifespan connects to
Temporal, loads the playbooks (pinned into each incident declared here) and opens the records
store, keeping them on ``app.state.runtime`` until shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI

from alerts.catalog import load_catalog
from api.deps import Runtime
from api.errors import install_error_handlers
from api.middleware import BodySizeLimit
from api.routes import alerts, health, incidents, metrics, slack
from playbooks.loader import load_playbooks
from tocsin.notify.slack.api import SlackApi
from tocsin.records import RecordsStore
from tocsin.settings import Settings, get_settings
from workflows.activities import RosterSource
from workflows.client import IncidentService
from workflows.worker import connect_with_retry

log = logging.getLogger(__name__)

# Long enough for ``tocsin up`` or compose to bring Temporal up beside the API, short enough
# that a wrong address fails the start instead of hanging it.
TEMPORAL_CONNECT_DEADLINE = 30.0


class ApiTokenMissing(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "no API token is configured: set TOCSIN_API_TOKEN or write one to "
            "<data dir>/api-token (tocsin up generates it); the API refuses to run open"
        )


def create_app(
    settings: Settings | None = None,
    *,
    temporal_connect_deadline: float = TEMPORAL_CONNECT_DEADLINE,
) -> FastAPI:
    """The API for ``settings`` (default: from the environment).

    Raises ``ApiTokenMissing`` when no token is configured. Settings passed here also
    override the ``get_settings`` dependency, so routes and lifespan see the same values.
    """
    settings = settings or get_settings()
    if settings.resolved_api_token() is None:
        raise ApiTokenMissing

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        playbooks = load_playbooks(settings.playbooks_dir)
        catalog = load_catalog(settings.services_file)
        client = await connect_with_retry(settings, deadline=temporal_connect_deadline)
        store = RecordsStore.from_url(settings.resolved_database_url())
        slack = None
        if settings.slack_bot_token is not None and settings.slack_enabled:
            slack = SlackApi(
                settings.slack_bot_token.get_secret_value(),
                settings.slack_api_url,
                settings.slack_min_interval_seconds,
            )
        app.state.runtime = Runtime(
            store=store,
            service=IncidentService(client, settings.task_queue, playbooks),
            catalog=catalog,
            slack=slack,
            roster=RosterSource(settings.playbooks_dir),
        )
        log.info("API connected to Temporal at %s", settings.temporal_address)
        try:
            yield
        finally:
            await store.close()

    app = FastAPI(
        title="tocsin",
        summary="Incident and crisis-response orchestrator",
        version=version("tocsin"),
        lifespan=lifespan,
    )

    async def configured() -> Settings:
        return settings

    app.dependency_overrides[get_settings] = configured
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        per_path={alerts.WEBHOOK_PATH: settings.intake_max_body_bytes},
        hints={alerts.WEBHOOK_PATH: alerts.TOO_LARGE_HINT},
    )
    install_error_handlers(app)
    app.include_router(incidents.router)
    app.include_router(alerts.router)
    app.include_router(slack.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    return app
