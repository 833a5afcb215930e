"""The console's pages and forms over HTTP (the browser tests cover what runs in the page):
sessions, every form's refusal for a viewer, and the pages a lead uses beyond incidents."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from adapters.clock import utcnow
from alerts.catalog import load_catalog
from playbooks.base import DEFAULT_DIR
from testkit.waiting import eventually
from tests.api.conftest import (
    AUTH,
    TOKEN,
    Declare,
    api_config,
    build_app,
    database_url,
    http_client,
    recorded,
)
from tests.api.messaging import Messaging, first_draft
from tests.api.messaging import declare as declare_through_api
from tests.api.test_drills import incidents_of
from tests.api.test_what_if_api import report_of
from tests.conftest import Stack, open_stack
from tests.workflows.test_what_if import candidate_dir, record_two_incidents
from tocsin.binaries import temporal_test_server
from workflows.playtest.whatif import replayer

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
async def api(scheduled_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(scheduled_app, AUTH) as http:
        yield http


@pytest.fixture
async def browser(scheduled_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps cookies, as a browser does; no bearer token."""
    async with http_client(scheduled_app) as http:
        yield http


async def sign_in(http: httpx.AsyncClient, token: str) -> str:
    """Signs ``http`` in; the session's CSRF token."""
    page = await http.get("/console/sign-in")
    match = CSRF.search(page.text)
    assert match
    answer = await http.post("/console/sign-in", data={"csrf": match[1], "token": token})
    assert answer.status_code == 303, answer.text
    console = await http.get("/console")
    assert console.status_code == 200
    found = CSRF.search(console.text)
    assert found
    return found[1]


async def a_token(api: httpx.AsyncClient, name: str, role: str, person: str | None = None) -> str:
    made = await api.post("/api/v1/tokens", json={"name": name, "role": role, "person": person})
    assert made.status_code == 201, made.text
    token: str = made.json()["token"]
    return token


async def test_the_console_asks_to_sign_in_and_refuses_bad_tokens(
    browser: httpx.AsyncClient,
) -> None:
    assert (await browser.get("/console")).headers["location"] == "/console/sign-in"
    assert (await browser.post("/console/incidents", data={"title": "x"})).status_code == 401
    page = await browser.get("/console/sign-in")
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie  # served over plain HTTP here
    csrf = CSRF.search(page.text)
    assert csrf
    wrong = await browser.post("/console/sign-in", data={"csrf": csrf[1], "token": "tk_nope"})
    assert wrong.status_code == 401
    assert "That token is not valid." in wrong.text
    forged = await browser.post("/console/sign-in", data={"token": TOKEN})
    assert forged.status_code == 403
    assert (await browser.get("/console")).status_code == 303


async def test_a_session_over_https_is_a_secure_cookie(scheduled_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=scheduled_app)
    async with httpx.AsyncClient(transport=transport, base_url="https://tocsin.test") as http:
        page = await http.get("/console/sign-in")
    assert "Secure" in page.headers["set-cookie"]


# Every form of the console, with fields that would pass validation.
FORMS = [
    ("/console/incidents", {"title": "x", "level": "C", "type": "service_outage"}),
    ("/console/incidents/{incident}/ack", {}),
    ("/console/incidents/{incident}/level", {"level": "A", "reason": "wider"}),
    ("/console/incidents/{incident}/update", {"text": "rolling back"}),
    ("/console/incidents/{incident}/mitigate", {}),
    ("/console/incidents/{incident}/resolve", {}),
    ("/console/incidents/{incident}/messages", {"stage": "identified"}),
    ("/console/messages/m-1/approve", {}),
    ("/console/messages/m-1/reject", {"reason": "tone"}),
    ("/console/reviews/r-1", {"summary": "s"}),
    ("/console/reviews/r-1/publish", {}),
    ("/console/reviews/r-1/actions", {"title": "t", "owner": "Ada Okafor", "due_at": "2030-01-01"}),
    ("/console/actions/a-0123456789ab", {"status": "done"}),
    ("/console/drills", {"scenario": "routine"}),
    ("/console/drills/schedules/routine/pause", {}),
    ("/console/drills/schedules/routine/trigger", {}),
    (
        "/console/schedules/support/overrides",
        {"person": "Ben Lindqvist", "start": "2030-01-08T09:00", "end": "2030-01-08T12:00"},
    ),
    ("/console/schedules/support/overrides/1/remove", {}),
    (
        "/console/maintenances",
        {
            "title": "t",
            "body": "b",
            "components": "core-api",
            "starts_at": "2030-01-08T09:00",
            "ends_at": "2030-01-08T10:00",
        },
    ),
    ("/console/maintenances/mnt-20300101-abc123/cancel", {}),
    ("/console/playbooks/what-if", {"playbooks": "/tmp", "since": "2026-01-01T00:00"}),
]
PAGES = ["/console", "/console/reviews", "/console/drills", "/console/oncall",
         "/console/playbooks", "/console/reports"]  # fmt: skip


async def test_a_viewer_sees_no_form_and_every_form_refuses_it(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, declare: Declare, stack: Stack
) -> None:
    incident = await declare(title="Checkout is down")
    await recorded(stack.store, incident["id"])
    csrf = await sign_in(browser, await a_token(api, "viewer-bo", "viewer"))
    for path in [*PAGES, f"/console/incidents/{incident['id']}"]:
        page = await browser.get(path)
        assert page.status_code == 200, path
        posts = re.findall(r'<form[^>]*method="post" action="([^"]+)"', page.text)
        assert posts == ["/console/sign-out"], (path, posts)

    for path, values in FORMS:
        answer = await browser.post(
            path.format(incident=incident["id"]), data={"csrf": csrf, **values}
        )
        assert answer.status_code == 403, (path, answer.text)
        assert "viewer" in answer.text
    state = (await api.get(f"/api/v1/incidents/{incident['id']}")).json()
    assert (state["status"], state["level"]) == ("triggered", "A")
    listed = (await api.get("/api/v1/incidents")).json()
    assert listed["total"] == 1


async def test_each_role_sees_the_buttons_its_api_routes_allow(
    api: httpx.AsyncClient, scheduled_app: FastAPI, declare: Declare, stack: Stack
) -> None:
    incident = await declare(title="Checkout is down")
    await recorded(stack.store, incident["id"])
    page = f"/console/incidents/{incident['id']}"
    seen: dict[str, set[str]] = {}
    for role in ("responder", "comms", "lead"):
        async with http_client(scheduled_app) as http:
            await sign_in(http, await a_token(api, f"{role}-1", role))
            text = (await http.get(page)).text
        seen[role] = set(re.findall(r'action="/console/incidents/[^/]+/([a-z]+)"', text))
    assert seen["responder"] == {"ack", "update", "mitigate", "resolve"}
    assert seen["comms"] == {"messages"}
    assert seen["lead"] == {"ack", "update", "level", "mitigate", "resolve"}


async def test_a_lead_covers_a_shift_and_plans_maintenance_from_the_on_call_page(
    api: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    csrf = await sign_in(browser, await a_token(api, "lead-chen", "lead"))
    page = await browser.get("/console/oncall")
    assert "Schedule support" in page.text
    now = utcnow().replace(second=0, microsecond=0)
    start, end = now + timedelta(hours=1), now + timedelta(hours=3)
    local = "%Y-%m-%dT%H:%M"  # what a datetime-local field sends: no offset, read as UTC
    added = await browser.post(
        "/console/schedules/support/overrides",
        data={"csrf": csrf, "person": "Ben Lindqvist", "start": start.strftime(local),
              "end": end.strftime(local), "reason": "Ada is away"},
    )  # fmt: skip
    assert added.status_code == 303, added.text
    overrides = (await api.get("/api/v1/schedules/support/overrides")).json()["items"]
    assert [(o["person"], o["by"], o["reason"]) for o in overrides] == [
        ("Ben Lindqvist", "lead-chen", "Ada is away")
    ]
    assert datetime.fromisoformat(overrides[0]["start"]) == start.astimezone(UTC)
    page = await browser.get("/console/oncall")
    assert "Ben Lindqvist covers" in page.text
    removed = await browser.post(
        f"/console/schedules/support/overrides/{overrides[0]['id']}/remove", data={"csrf": csrf}
    )
    assert removed.status_code == 303
    assert (await api.get("/api/v1/schedules/support/overrides")).json()["items"] == []

    planned = await browser.post(
        "/console/maintenances",
        data={"csrf": csrf, "title": "Database upgrade", "body": "Slow for ten minutes.",
              "components": "core-api", "starts_at": start.strftime(local),
              "ends_at": end.strftime(local)},
    )  # fmt: skip
    assert planned.status_code == 303, planned.text
    [maintenance] = (await api.get("/api/v1/maintenances")).json()["items"]
    assert (maintenance["title"], maintenance["status"]) == ("Database upgrade", "scheduled")
    cancelled = await browser.post(
        f"/console/maintenances/{maintenance['id']}/cancel", data={"csrf": csrf}
    )
    assert cancelled.status_code == 303
    after = (await api.get(f"/api/v1/maintenances/{maintenance['id']}")).json()
    assert after["status"] == "cancelled"

    bad = await browser.post(
        "/console/maintenances",
        data={"csrf": csrf, "title": "x", "body": "y", "components": "core-api",
              "starts_at": end.strftime(local), "ends_at": start.strftime(local)},
    )  # fmt: skip
    assert bad.status_code == 422
    assert "ends_at" in bad.text or "after" in bad.text


async def test_a_lead_reads_the_reports_and_drills_and_starts_a_what_if(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, declare: Declare, stack: Stack
) -> None:
    incident = await declare(title="Checkout is down")
    await recorded(stack.store, incident["id"])
    await api.post(f"/api/v1/incidents/{incident['id']}/ack", json={"by": "Ada Okafor"})
    csrf = await sign_in(browser, await a_token(api, "lead-chen", "lead"))

    reports = await browser.get("/console/reports")
    assert reports.status_code == 200
    month = utcnow().strftime("%Y-%m")
    assert f"<td>{month}</td><td>A</td><td>1</td>" in reports.text
    assert '"months": ["' + month in reports.text
    assert "Quarterly digest" in reports.text

    drills = await browser.get("/console/drills")
    assert "Run routine" in drills.text

    since = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    bad = await browser.post(
        "/console/playbooks/what-if",
        data={"csrf": csrf, "playbooks": "/nonexistent", "since": since},
    )
    assert bad.status_code == 422
    assert "playbooks" in bad.text


async def test_an_incident_run_from_the_console_end_to_end(messaging: Messaging) -> None:
    """Declared, updated, raised, its messages approved as edited and rejected, mitigated,
    resolved, its review written, given an action item, published and found."""
    m = messaging
    lead_token = await a_token(m.api, "lead-chen", "lead", "Chen Wei")
    comms_token = await a_token(m.api, "comms-gil", "comms", "Gil Ramos")
    async with http_client(m.app) as lead, http_client(m.app) as comms:
        csrf = await sign_in(lead, lead_token)
        declared = await lead.post(
            "/console/incidents",
            data={"csrf": csrf, "title": "Checkout failing", "level": "B",
                  "type": "service_outage", "service": "checkout"},
        )  # fmt: skip
        assert declared.status_code == 303, declared.text
        incident_id = declared.headers["location"].rsplit("/", 1)[1]
        url = f"/console/incidents/{incident_id}"
        assert (
            await lead.post(f"{url}/update", data={"csrf": csrf, "text": "Rolling back"})
        ).status_code == 303
        raised = await lead.post(f"{url}/level", data={"csrf": csrf, "level": "A", "reason": "all"})
        assert raised.status_code == 303, raised.text
        state = (await m.api.get(f"/api/v1/incidents/{incident_id}")).json()
        assert (state["declared_by"], state["level"]) == ("Chen Wei", "A")
        await eventually(lambda: _on_timeline(lead, url, "Rolling back"), what="the update")
        empty = await lead.post(f"{url}/update", data={"csrf": csrf, "text": " "})
        assert empty.status_code == 422
        assert "text" in empty.text

        comms_csrf = await sign_in(comms, comms_token)
        draft = await first_draft(m, incident_id)
        page = (await comms.get(url)).text
        assert f'action="/console/messages/{draft["id"]}/approve"' in page
        approved = await comms.post(
            f"/console/messages/{draft['id']}/approve",
            data={"csrf": comms_csrf, "body": "Card payments fail for some. We are on it."},
        )
        assert approved.status_code == 303, approved.text
        second = await comms.post(
            f"{url}/messages", data={"csrf": comms_csrf, "stage": "identified", "body": "A bug."}
        )
        assert second.status_code == 303, second.text

        async def message(wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
            listed = await m.api.get(f"/api/v1/incidents/{incident_id}/messages")
            return next((x for x in listed.json()["items"] if wanted(x)), None)

        edited = await eventually(
            lambda: message(lambda x: x["id"] == draft["id"] and x["approved_by"])
        )
        assert (edited["approved_by"], edited["body"]) == (
            "Gil Ramos", "Card payments fail for some. We are on it."
        )  # fmt: skip
        fresh = await eventually(lambda: message(lambda x: x["body"] == "A bug."))
        assert fresh["status"] == "draft"
        rejected = await comms.post(
            f"/console/messages/{fresh['id']}/reject", data={"csrf": comms_csrf, "reason": "vague"}
        )
        assert rejected.status_code == 303, rejected.text

        async def rejection() -> str | None:
            listed = await m.api.get(f"/api/v1/incidents/{incident_id}/messages")
            reasons = [
                x["rejected_reason"] for x in listed.json()["items"] if x["id"] == fresh["id"]
            ]
            return reasons[0] if reasons else None

        assert await eventually(rejection, what="the rejection recorded") == "vague"

        assert (await lead.post(f"{url}/mitigate", data={"csrf": csrf})).status_code == 303
        assert (await lead.post(f"{url}/resolve", data={"csrf": csrf})).status_code == 303

        async def review() -> dict[str, Any] | None:
            found = await m.api.get(f"/api/v1/incidents/{incident_id}/review")
            return found.json() if found.status_code == 200 else None

        review_id = (await eventually(review))["id"]
        written = await lead.post(
            f"/console/reviews/{review_id}",
            data={"csrf": csrf, "summary": "Payments failed after a release.",
                  "root_cause": "A gateway timeout of 100 ms.", "lessons": "Canary\nAlert"},
        )  # fmt: skip
        assert written.status_code == 303, written.text
        action = await lead.post(
            f"/console/reviews/{review_id}/actions",
            data={"csrf": csrf, "title": "Canary gateway releases", "owner": "Ada Okafor",
                  "due_at": "2030-01-31", "priority": "high"},
        )  # fmt: skip
        assert action.status_code == 303, action.text
        [item] = (await m.api.get(f"/api/v1/reviews/{review_id}")).json()["action_items"]
        assert (item["title"], item["due_at"]) == (
            "Canary gateway releases",
            "2030-01-31T17:00:00Z",
        )
        done = await lead.post(
            f"/console/actions/{item['id']}", data={"csrf": csrf, "status": "done"}
        )
        assert done.status_code == 303, done.text
        published = await lead.post(f"/console/reviews/{review_id}/publish", data={"csrf": csrf})
        assert published.status_code == 303, published.text

        final = (await m.api.get(f"/api/v1/reviews/{review_id}")).json()
        assert (final["status"], final["lessons"]) == ("published", ["Canary", "Alert"])
        assert [a["status"] for a in final["action_items"]] == ["done"]
        found = await lead.get("/console/reviews", params={"q": "gateway timeout"})
        assert f'href="/console/reviews/{review_id}"' in found.text
        missing = await lead.get("/console/reviews", params={"q": "kubernetes"})
        assert f'href="/console/reviews/{review_id}"' not in missing.text


async def _on_timeline(http: httpx.AsyncClient, url: str, text: str) -> bool | None:
    return True if text in (await http.get(url)).text else None


async def test_a_lead_runs_a_drill_from_the_console_and_reads_its_report(
    app: FastAPI, client: httpx.AsyncClient, stack: Stack
) -> None:
    async with http_client(app) as lead:
        csrf = await sign_in(lead, await a_token(client, "lead-chen", "lead", "Chen Wei"))
        assert "Run routine" in (await lead.get("/console/drills")).text
        started = await lead.post("/console/drills", data={"csrf": csrf, "scenario": "routine"})
        assert started.status_code == 303, started.text
        report = started.headers["location"]
        run_id = report.rsplit("/", 1)[1]
        assert "Drill report: routine" in (await lead.get(report)).text
        (incident_id,) = await incidents_of(client, run_id, 1)
        url = f"/console/incidents/{incident_id}"
        assert f'action="{url}/classify"' in (await lead.get(url)).text
        triage = {"csrf": csrf, "level": "B", "type": "service_outage"}
        assert (await lead.post(f"{url}/classify", data=triage)).status_code == 303
        await stack.env.sleep(timedelta(minutes=5))
        assert (await lead.post(f"{url}/ack", data={"csrf": csrf})).status_code == 303
        await stack.env.sleep(timedelta(minutes=20))
        assert (await lead.post(f"{url}/resolve", data={"csrf": csrf})).status_code == 303

        async def finished() -> str | None:
            page = (await lead.get(report)).text
            return page if "· finished" in page else None

        page = await eventually(finished, what="the drill finished")
        assert "<td>classification_accuracy</td>" in page
        assert page.count("<td>yes</td>") == 3
        runs = (await lead.get("/console/drills")).text
        assert f'<a href="/console/drills/{run_id}">{run_id}</a>' in runs
        assert "<td>met</td>" in runs


@pytest.fixture
async def replaying(ts_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    """A stack whose worker replays recorded incidents (as in ``test_what_if_api``)."""
    replay = replayer(database_url(tmp_path), DEFAULT_DIR, temporal_test_server(), load_catalog())
    async for opened in open_stack(ts_env, tmp_path, whatif=replay):
        yield opened


async def test_a_lead_runs_a_what_if_from_the_console_and_reads_it_beside_today(
    replaying: Stack, tmp_path: Path
) -> None:
    whatif_stack = replaying
    app = build_app(api_config(tmp_path), whatif_stack.store, whatif_stack.service)
    await record_two_incidents(whatif_stack)
    since = (await whatif_stack.env.get_current_time()) - timedelta(days=1)
    async with http_client(app, AUTH) as api, http_client(app) as lead:
        csrf = await sign_in(lead, await a_token(api, "lead-chen", "lead", "Chen Wei"))
        started = await lead.post(
            "/console/playbooks/what-if",
            data={"csrf": csrf, "playbooks": str(candidate_dir(tmp_path)),
                  "since": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")},
        )  # fmt: skip
        assert started.status_code == 303, started.text
        page_url = started.headers["location"]
        await report_of(api, page_url.rsplit("/", 1)[1])
        page = (await lead.get(page_url)).text
    assert "Per incident: today beside the candidate" in page
    # Today no breach; the candidate's slower paging breaches the B incident's window.
    assert '<th scope="row">today</th><td>2</td><td>2</td><td>0</td>' in page
    assert '<th scope="row">candidate</th><td>2</td><td>1</td><td>1</td>' in page


async def test_the_live_board_streams_changes_and_stops_for_a_revoked_token(
    messaging: Messaging, served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.console import incidents as board

    monkeypatch.setattr(board, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(board, "RECHECK_SECONDS", 0.2)
    m = messaging
    token = await a_token(m.api, "viewer-bo", "viewer")
    async with httpx.AsyncClient(base_url=served) as http:
        await sign_in(http, token)
        async with http.stream("GET", "/console/events", timeout=20) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            async for line in lines:
                if "No open incidents." in line:
                    break
            incident = await declare_through_api(m, title="Checkout failing")
            async for line in lines:
                if incident["id"] in line:
                    break
            revoked = await m.api.delete("/api/v1/tokens/viewer-bo")
            assert revoked.status_code == 204
            async for _ in lines:  # the stream ends: the loop does too
                pass
        assert (await http.get("/console")).headers["location"] == "/console/sign-in"


async def test_what_an_alert_or_a_person_wrote_is_shown_as_text_never_as_markup(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, declare: Declare, stack: Stack
) -> None:
    title = '<img src=x onerror="alert(1)">Checkout'
    incident = await declare(title=title)
    await recorded(stack.store, incident["id"])
    await sign_in(browser, await a_token(api, "viewer-bo", "viewer"))
    for path in ("/console", f"/console/incidents/{incident['id']}"):
        page = await browser.get(path)
        assert "<img src=x" not in page.text, path
        assert "&lt;img src=x onerror=" in page.text, path
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
