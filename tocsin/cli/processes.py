"""The processes: ``tocsin up`` (the whole embedded stack), ``api``, ``worker``, ``migrate``.

Temporal, FastAPI and SQLAlchemy are imported inside the commands that run them, so the
everyday commands (``tocsin incidents``, ``tocsin ack``) start in a fraction of a second.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from tocsin.cli.base import api_of, app, fail
from tocsin.settings import Settings


@app.command()
def up(
    ctx: typer.Context,
    api_port: Annotated[
        int | None,
        typer.Option(envvar="TOCSIN_API_PORT", min=1, max=65535, help="HTTP API port [8080]"),
    ] = None,
    temporal_port: Annotated[
        int,
        typer.Option(
            envvar="TOCSIN_TEMPORAL_PORT",
            min=1,
            max=64535,
            help="Temporal gRPC port; the Temporal UI listens on this plus 1000",
        ),
    ] = 7233,
    data_dir: Annotated[
        Path | None,
        typer.Option(envvar="TOCSIN_DATA_DIR", help="state, logs and the API token [.tocsin]"),
    ] = None,
    playbooks: Annotated[
        Path | None,
        typer.Option(
            "--playbooks", envvar="TOCSIN_PLAYBOOKS_DIR", help="playbook directory to run"
        ),
    ] = None,
    api_host: Annotated[
        str | None, typer.Option(envvar="TOCSIN_API_HOST", help="HTTP API address [127.0.0.1]")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            envvar="TOCSIN_WORKERS", min=1, max=64, help="worker processes [number of cores]"
        ),
    ] = None,
) -> None:
    """Run the whole embedded stack: Temporal dev server, worker and API."""
    from tocsin import up as stack

    overrides: dict[str, Any] = {
        "api_port": api_port,
        "data_dir": data_dir or api_of(ctx).data_dir,
        "playbooks_dir": playbooks,
        "api_host": api_host,
        "workers": workers,
    }
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    raise typer.Exit(asyncio.run(stack.run(settings, temporal_port)))


@app.command()
def worker() -> None:
    """Run a worker: incident workflows and their activities."""
    from alerts.catalog import load_catalog
    from playbooks.base import PlaybookError
    from tocsin.binaries import temporal_test_server
    from workflows.playtest.whatif import replayer
    from workflows.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(
            run_worker(
                settings.worker_config(),
                bytecode_cache=settings.data_dir / "pycache",
                whatif=replayer(
                    settings.resolved_database_url(),
                    settings.playbooks_dir,
                    temporal_test_server(),
                    load_catalog(),
                ),
            )
        )
    except PlaybookError as exc:
        fail("the playbook directory has problems:\n  " + "\n  ".join(exc.problems))


@app.command()
def migrate() -> None:
    """Bring the records database to the current schema (run once before scaling out)."""
    from sqlalchemy.exc import SQLAlchemyError

    from adapters.records import migrate as migrate_records

    settings = Settings()
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(migrate_records(settings.resolved_database_url()))
    except (SQLAlchemyError, OSError) as exc:
        # The first line names the problem; the rest is SQL and a link to SQLAlchemy's docs.
        fail(f"the records migration failed: {str(exc).splitlines()[0]}")


@app.command()
def api() -> None:
    """Serve the HTTP API on TOCSIN_API_HOST:TOCSIN_API_PORT."""
    import uvicorn

    from api.app import create_app
    from tocsin.settings import ApiTokenMissing, IntakeTokenMissing

    settings = Settings()
    try:
        application = create_app(settings.api_config())
    except (ApiTokenMissing, IntakeTokenMissing) as exc:
        fail(str(exc))
    # As in the worker (ADR 0034): what the imports built is never garbage; the collector's
    # full passes need not walk it while an alert waits for its answer.
    gc.collect()
    gc.freeze()
    uvicorn.run(application, host=settings.api_host, port=settings.api_port)
