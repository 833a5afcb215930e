"""The API apps of a worker's tests: one per configuration, lent to one test at a time.

FastAPI (0.165) works out every route's dependencies on an app's first request, for each app:
0.1 to 0.2 s of CPU, and the suite builds an app for most of its API tests (about 25 CPU-seconds
in all, measured with a counting plugin on tests/api and tests/slack). A test gets an app built
for a configuration equal to its own but for its records, task queue and Temporal address, which
only the lifespan reads (these tests run none), with a fresh ``app.state`` and its middleware
built anew: the token cache and the rate limits are the middleware's. A test that builds two
apps (a restarted API) gets two."""

from __future__ import annotations

from dataclasses import replace

from fastapi import FastAPI
from starlette.datastructures import State

from api.app import create_app
from api.config import ApiConfig

_free: list[tuple[ApiConfig, FastAPI]] = []
_lent: list[tuple[ApiConfig, FastAPI]] = []


def lend_app(config: ApiConfig) -> FastAPI:
    key = replace(config, database_url="", task_queue="", temporal_address="")
    for i, (kept, app) in enumerate(_free):
        if kept == key:
            del _free[i]
            app.state = State()
            app.middleware_stack = None
            break
    else:
        app = create_app(config)
    app.state.config = config
    _lent.append((key, app))
    return app


def take_back() -> None:
    """At the end of each test: what it was lent can be lent again."""
    _free.extend(_lent)
    _lent.clear()
