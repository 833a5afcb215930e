"""Where rehearsals run: a time-skipping server started from a binary on disk and a scratch
records database, shared by the rehearsals of one run."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

from adapters.records import RecordsStore, migrate
from alerts.catalog import Catalog
from domain.playbook import PlaybookSet
from workflows.playtest.runner import Rehearsal


@dataclass(frozen=True)
class Stage:
    """A time-skipping server and a scratch records database, shared by every rehearsal of
    one run (incidents never share an id, so they never meet in it)."""

    env: WorkflowEnvironment
    store: RecordsStore
    catalog: Catalog
    scratch: Path

    def under(self, playbooks_dir: Path, playbooks: PlaybookSet) -> Rehearsal:
        return Rehearsal(self.env, self.store, playbooks_dir, playbooks, self.catalog, self.scratch)


def _quiet_runtime() -> Runtime:
    """The test server lacks capabilities a production server advertises; the worker's core
    warns of each on stderr, which is noise in a report people read."""
    quiet = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=quiet)))


@contextlib.asynccontextmanager
async def stage(test_server: Path, catalog: Catalog) -> AsyncIterator[Stage]:
    """A time-skipping server from ``test_server`` (nothing is downloaded) and a scratch
    SQLite records database, both gone when the block ends."""
    with tempfile.TemporaryDirectory(prefix="tocsin-rehearsal-") as tmp:
        scratch = Path(tmp)
        url = f"sqlite+aiosqlite:///{scratch / 'records.db'}"
        await migrate(url)
        store = RecordsStore.from_url(url)
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter,
            test_server_existing_path=str(test_server),
            runtime=_quiet_runtime(),
        )
        try:
            yield Stage(env, store, catalog, scratch)
        finally:
            await env.shutdown()
            await store.close()
