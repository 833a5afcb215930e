"""``POST /api/v1/playbooks/what-if`` starts a replay as a workflow; ``GET …/{id}`` reads its
report. The replay is the CLI's, run by the worker."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from alerts.catalog import load_catalog
from playbooks.base import DEFAULT_DIR
from tests.api.conftest import AUTH, api_config, build_app, database_url, http_client
from tests.api.test_roles import bearer, make_token
from tests.conftest import Stack, open_stack
from tests.workflows.test_what_if import candidate_dir, record_two_incidents
from tocsin.binaries import temporal_test_server
from workflows.playtest.whatif import replayer


@pytest.fixture
async def whatif_stack(ts_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    replay = replayer(database_url(tmp_path), DEFAULT_DIR, temporal_test_server(), load_catalog())
    async for opened in open_stack(ts_env, tmp_path, whatif=replay):
        yield opened


@pytest.fixture
async def api(whatif_stack: Stack, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(api_config(tmp_path), whatif_stack.store, whatif_stack.service)
    async with http_client(app, AUTH) as http:
        http.app = app  # type: ignore[attr-defined]
        yield http


async def report_of(api: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    for _ in range(600):
        answer = await api.get(f"/api/v1/playbooks/what-if/{run_id}")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["status"] != "running":
            return body
        await asyncio.sleep(0.2)
    raise AssertionError("the replay did not finish")


async def test_a_lead_starts_a_replay_and_reads_its_report(
    whatif_stack: Stack, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    await record_two_incidents(whatif_stack)
    since = (await whatif_stack.env.get_current_time()) - timedelta(days=1)

    started = await api.post(
        "/api/v1/playbooks/what-if",
        json={"playbooks": str(candidate_dir(tmp_path)), "since": since.isoformat()},
    )

    assert started.status_code == 202, started.text
    report = await report_of(api, started.json()["id"])
    assert report["status"] == "done"
    assert [row["level"] for row in report["incidents"]] == ["B", "C"]
    assert report["incidents"][0]["candidate"]["acks_not_given"] == [
        "Ben Lindqvist acknowledged at +12m, but was not paged by then: counted as not given"
    ]
    assert (report["totals"]["today"]["breaches"], report["totals"]["candidate"]["breaches"]) == (
        0,
        1,
    )


async def test_refusals_come_before_anything_runs(
    whatif_stack: Stack, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    broken = candidate_dir(tmp_path)
    (broken / "level-a.yaml").write_text("level: A\nresponse_window: soon\n")
    viewer = await make_token(api, name="wallboard", role="viewer")
    body = {"playbooks": str(DEFAULT_DIR), "since": "2020-01-01T00:00:00Z"}

    not_valid = await api.post("/api/v1/playbooks/what-if", json={**body, "playbooks": str(broken)})
    empty = await api.post(
        "/api/v1/playbooks/what-if", json={**body, "until": "2020-02-01T00:00:00Z"}
    )
    nowhere = await api.post("/api/v1/playbooks/what-if", json={**body, "playbooks": "/no\u0000"})
    unknown = await api.get("/api/v1/playbooks/what-if/whatif-000000000000")
    app = api.app  # type: ignore[attr-defined]
    async with http_client(app, bearer(viewer)) as as_viewer:
        forbidden = await as_viewer.post("/api/v1/playbooks/what-if", json=body)

    assert not_valid.status_code == 422
    assert not_valid.json()["detail"].startswith("playbooks: the candidate does not validate: ")
    assert "level-a.yaml: response_window" in not_valid.json()["detail"]
    assert empty.status_code == 422
    assert empty.json()["detail"] == (
        "since 2020-01-01 00:00 until 2020-02-01 00:00: no incidents recorded"
    )
    assert nowhere.status_code == 422
    assert nowhere.json()["detail"].startswith("playbooks: the candidate does not validate: ")
    assert unknown.status_code == 404
    assert forbidden.status_code == 403


async def test_a_replay_that_cannot_run_says_why(
    ts_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    today = tmp_path / "today"
    shutil.copytree(DEFAULT_DIR, today)
    replay = replayer(database_url(tmp_path), today, temporal_test_server(), load_catalog())
    async for stack in open_stack(ts_env, tmp_path, today, whatif=replay):
        await record_two_incidents(stack)
        since = (await stack.env.get_current_time()) - timedelta(days=1)
        # Someone breaks today's playbooks on the worker's disk after the worker started.
        (today / "level-a.yaml").write_text("level: A\nresponse_window: soon\n")
        app = build_app(api_config(tmp_path), stack.store, stack.service)
        async with http_client(app, AUTH) as api:
            started = await api.post(
                "/api/v1/playbooks/what-if",
                json={"playbooks": str(candidate_dir(tmp_path)), "since": since.isoformat()},
            )
            assert started.status_code == 202, started.text
            report = await report_of(api, started.json()["id"])

    assert report["status"] == "failed"
    assert report["incidents"] == []
    assert report["reason"].startswith(f"today's playbooks ({today}) do not validate: ")
    assert "level-a.yaml: response_window" in report["reason"]
