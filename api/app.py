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
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from adapters.clock import utcnow
from adapters.records import RecordsStore
from adapters.slack.client import SlackApi
from alerts.catalog import load_catalog
from api import console
from api.auth import Authentication
from api.config import ApiConfig
from api.deps import Runtime
from api.errors import install_error_handlers
from api.middleware import BodySizeLimit
from api.openapi import install as install_openapi
from api.routes import (
    ack,
    alerts,
    docs,
    drills,
    health,
    heartbeats,
    incidents,
    maintenances,
    metrics,
    oncall,
    reports,
    reviews,
    slack,
    statements,
    status,
    statuspage,
    subscribers,
    tokens,
    whatif,
)
from playbooks.loader import load_playbooks, load_scenarios
from playbooks.roster import RosterSource
from workflows.connect import connect_with_retry
from workflows.incident.client import IncidentService

log = logging.getLogger(__name__)

# Long enough for ``tocsin up`` or compose to bring Temporal up beside the API, short enough
# that a wrong address fails the start instead of hanging it.
TEMPORAL_CONNECT_DEADLINE = 30.0
STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(
    config: ApiConfig, *, temporal_connect_deadline: float = TEMPORAL_CONNECT_DEADLINE
) -> FastAPI:
    """The API for ``config``. Its lifespan connects to Temporal and opens the records."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        playbooks = load_playbooks(config.playbooks_dir)
        catalog = load_catalog(config.services_file)
        client = await connect_with_retry(
            config.temporal_address, config.temporal_namespace, deadline=temporal_connect_deadline
        )
        store = RecordsStore.from_url(config.database_url)
        app.state.runtime = Runtime(
            store=store,
            service=IncidentService(
                client,
                config.task_queue,
                playbooks,
                call_timeout=config.temporal_timeout_seconds,
                clock=utcnow,
            ),
            catalog=catalog,
            slack=SlackApi.from_config(config.slack) if config.slack else None,
            roster=RosterSource(config.playbooks_dir),
            scenarios=load_scenarios(config.playbooks_dir),
        )
        log.info("API connected to Temporal at %s", config.temporal_address)
        try:
            yield
        finally:
            inbound = getattr(app.state, "slack_inbound", None)
            if inbound is not None:
                await inbound.aclose()
            if app.state.runtime.slack is not None:
                await app.state.runtime.slack.aclose()
            await store.close()

    app = FastAPI(
        title="tocsin",
        summary="Incident and crisis-response orchestrator",
        version=version("tocsin"),
        lifespan=lifespan,
        # Served by routes.docs from vendored files instead of a CDN.
        docs_url=None,
        redoc_url=None,
    )

    app.state.config = config
    app.add_middleware(
        BodySizeLimit,
        max_bytes=config.max_body_bytes,
        per_path={alerts.WEBHOOK_PATH: config.intake_max_body_bytes},
        hints={alerts.WEBHOOK_PATH: alerts.TOO_LARGE_HINT},
    )
    # Outermost: a request without a valid token learns nothing, not even a body limit.
    app.add_middleware(
        Authentication, exempt=(alerts.WEBHOOK_PATH,), exempt_prefix=heartbeats.BEAT_PREFIX
    )
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(incidents.router)
    app.include_router(statements.router)
    app.include_router(subscribers.router)
    app.include_router(maintenances.router)
    app.include_router(reviews.router)
    app.include_router(reports.router)
    app.include_router(drills.router)
    app.include_router(whatif.router)
    app.include_router(tokens.router)
    app.include_router(oncall.router)
    app.include_router(oncall.feed_router)
    app.include_router(status.router)
    app.include_router(ack.router)
    app.include_router(statuspage.router)
    app.include_router(alerts.router)
    app.include_router(heartbeats.router)
    app.include_router(slack.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(docs.router)
    console.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
