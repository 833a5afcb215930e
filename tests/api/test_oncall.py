"""On call through the API: who holds each tier, schedules, shifts and overrides."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from icalendar import Calendar

from adapters.records import RecordsStore
from api.config import ApiConfig
from api.deps import Runtime
from playbooks.roster import RosterSource
from tests.api.conftest import AUTH, TrackedService, build_app, database_url, http_client
from tests.api.test_metrics import scrape, value
from tests.conftest import Stack

TUESDAY = "2030-01-08T10:00:00Z"  # 11:00 in Berlin, in Ada's week (weekly, from 7 January)
EVENING = "2030-01-08T18:30:00Z"  # 19:30 in Berlin: the evening layer


@pytest.fixture
async def api(scheduled_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(scheduled_app, AUTH) as http:
        yield http


def _tier(items: list[dict[str, Any]], function: str, tier: str) -> dict[str, Any]:
    return next(i for i in items if (i["function"], i["tier"]) == (function, tier))


async def test_oncall_names_the_holder_of_every_tier_and_why(api: httpx.AsyncClient) -> None:
    answer = await api.get("/api/v1/oncall", params={"at": TUESDAY})
    assert answer.status_code == 200, answer.text
    primary = _tier(answer.json()["items"], "technical_support", "primary")
    assert primary == {
        "function": "technical_support",
        "tier": "primary",
        "schedule": "support",
        "people": [
            {"name": "Ada Okafor", "slack_user_id": "U0TECH001", "email": "ada@example.com"}
        ],
        "source": "rotation",
        "until": "2030-01-08T17:00:00Z",  # the evening layer takes over at 18:00 in Berlin
    }
    secondary = _tier(answer.json()["items"], "technical_support", "secondary")
    assert (secondary["source"], secondary["until"], secondary["people"][0]["name"]) == (
        "roster", None, "Ben Lindqvist"
    )  # fmt: skip
    evening = await api.get("/api/v1/oncall", params={"at": EVENING})
    assert (
        _tier(evening.json()["items"], "technical_support", "primary")["people"][0]["name"]
        == "Chen Wei"
    )


async def test_an_override_wins_is_listed_and_removed(api: httpx.AsyncClient, stack: Stack) -> None:
    body = {
        "person": "Ben Lindqvist",
        "start": "2030-01-08T09:00:00Z",
        "end": "2030-01-08T12:00:00Z",
        "by": "Chen Wei",
        "reason": "Ada is at the dentist",
    }
    made = await api.post("/api/v1/schedules/support/overrides", json=body)
    assert made.status_code == 201, made.text
    override = made.json()
    assert override == {"id": override["id"], "schedule": "support", **body}
    now = await api.get("/api/v1/oncall", params={"at": TUESDAY})
    primary = _tier(now.json()["items"], "technical_support", "primary")
    assert (primary["people"][0]["name"], primary["source"], primary["until"]) == (
        "Ben Lindqvist", "override", "2030-01-08T12:00:00Z"
    )  # fmt: skip
    shifts = await api.get(
        "/api/v1/schedules/support/shifts",
        params={"since": "2030-01-08T08:00:00Z", "until": "2030-01-08T13:00:00Z"},
    )
    assert [(s["person"], s["start"], s["end"], s["source"], s["override_id"])
            for s in shifts.json()["items"]] == [
        ("Ada Okafor", "2030-01-07T22:00:00Z", "2030-01-08T09:00:00Z", "rotation", None),
        ("Ben Lindqvist", "2030-01-08T09:00:00Z", "2030-01-08T12:00:00Z", "override",
         override["id"]),
        ("Ada Okafor", "2030-01-08T12:00:00Z", "2030-01-08T17:00:00Z", "rotation", None),
    ]  # fmt: skip
    listed = await api.get("/api/v1/schedules/support/overrides")
    assert [o["id"] for o in listed.json()["items"]] == [override["id"]]
    gone = await api.delete(f"/api/v1/schedules/support/overrides/{override['id']}")
    assert gone.status_code == 204
    again = await api.delete(f"/api/v1/schedules/support/overrides/{override['id']}")
    assert again.status_code == 404
    assert (await api.get("/api/v1/schedules/support/overrides")).json() == {"items": []}
    after = await api.get("/api/v1/oncall", params={"at": TUESDAY})
    assert _tier(after.json()["items"], "technical_support", "primary")["source"] == "rotation"
    audit = await stack.store.tokens.audit_log()
    assert [(a.method, a.path, a.status) for a in audit[:3]] == [
        ("DELETE", f"/api/v1/schedules/support/overrides/{override['id']}", 404),
        ("DELETE", f"/api/v1/schedules/support/overrides/{override['id']}", 204),
        ("POST", "/api/v1/schedules/support/overrides", 201),
    ]


@pytest.mark.parametrize(
    ("change", "status", "detail"),
    [
        ({"person": "Zed"}, 422, "person: 'Zed' is not in the roster"),
        ({"end": "2030-01-08T08:00:00Z"}, 422, "end must be after start"),
        ({"start": "2030-01-08T09:00"}, 422, "timezone"),
        ({"start": "tomorrow"}, 422, "expected a date-time such as 2026-12-01T10:00:00Z"),
        ({"start": "2020-01-01T00:00:00Z", "end": "2020-01-02T00:00:00Z"}, 422, "already past"),
    ],
)
async def test_bad_overrides_are_refused_and_change_nothing(
    api: httpx.AsyncClient, change: dict[str, str], status: int, detail: str
) -> None:
    body = {"person": "Ben Lindqvist", "start": "2030-01-08T09:00:00Z",
            "end": "2030-01-08T12:00:00Z", **change}  # fmt: skip
    answer = await api.post("/api/v1/schedules/support/overrides", json=body)
    assert answer.status_code == status
    assert detail in str(answer.json()["detail"])
    assert (await api.get("/api/v1/schedules/support/overrides")).json() == {"items": []}


async def test_unknown_schedules_and_bad_ranges_are_4xx(api: httpx.AsyncClient) -> None:
    missing = await api.get("/api/v1/schedules/nights/shifts")
    assert (missing.status_code, missing.json()["detail"]) == (
        404, "no schedule 'nights'; the schedules are: leadership, support"
    )  # fmt: skip
    backwards = await api.get(
        "/api/v1/schedules/support/shifts",
        params={"since": "2030-01-08T10:00:00Z", "until": "2030-01-08T09:00:00Z"},
    )
    assert (backwards.status_code, backwards.json()["detail"]) == (
        422, "until: must be after since"
    )  # fmt: skip
    naive = await api.get("/api/v1/oncall", params={"at": "2030-01-08T10:00"})
    assert naive.status_code == 422
    # A number is not a date-time, though pydantic would read it as seconds since 1970.
    for params in ({"at": "0.5"}, {"since": "1700000000"}):
        path = "/api/v1/oncall" if "at" in params else "/api/v1/schedules/support/shifts"
        number = await api.get(path, params=params)
        assert number.status_code == 422, number.text
        assert "expected a date-time such as 2026-12-01T10:00:00Z" in number.text


async def test_schedules_list_their_rotations_and_tiers(api: httpx.AsyncClient) -> None:
    listed = (await api.get("/api/v1/schedules")).json()["items"]
    # The shipped leadership schedule, then the one this directory adds.
    assert [(s["name"], s["time_zone"], s["tiers"]) for s in listed] == [
        ("leadership", "Europe/Paris", ["leadership.secondary"]),
        ("support", "Europe/Berlin", ["technical_support.primary"]),
    ]
    assert [(r["name"], r["shift"], r["people"], r["only"]) for r in listed[1]["rotations"]] == [
        ("weekly", "7d", ["Ada Okafor", "Ben Lindqvist"], None),
        ("evenings", "1d", ["Chen Wei"],
         {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "18:00:00", "to": "23:00:00"}),
    ]  # fmt: skip
    assert listed[1]["now"]["person"] in {"Ada Okafor", "Ben Lindqvist", "Chen Wei"}
    assert listed[0]["now"]["person"] in {"Kai Andersen", "Lina Duarte"}


async def test_metrics_count_the_people_on_call_per_tier_and_show_a_gap(
    scheduled_app: FastAPI, tmp_path: Path
) -> None:
    async with http_client(scheduled_app) as http:
        samples = await scrape(http)
    assert value(samples, "tocsin_oncall_people", function="technical_support", tier="primary") == 1
    assert value(samples, "tocsin_oncall_people", function="leadership", tier="secondary") == 1
    # Nobody on call in the schedule from now on: the tier's gauge says 0.
    only = 'only: {days: [mon], from: "00:00", to: "00:01"}'
    schedules = tmp_path / "playbooks" / "schedules.yaml"
    # Only the support schedule's rotations; the shipped ones follow it in the file.
    support, sep, shipped = schedules.read_text(encoding="utf-8").partition("\n  # Leadership")
    schedules.write_text(
        support.replace("shift: 1w\n", f"shift: 1w\n        {only}\n").replace(
            'only: {days: [mon, tue, wed, thu, fri], from: "18:00", to: "23:00"}',
            only,
        )
        + sep
        + shipped,
        encoding="utf-8",
    )
    runtime = scheduled_app.state.runtime
    scheduled_app.state.runtime = runtime.__class__(
        store=runtime.store, service=runtime.service, roster=RosterSource(tmp_path / "playbooks")
    )
    async with http_client(scheduled_app) as http:
        gap = await scrape(http)
    assert value(gap, "tocsin_oncall_people", function="technical_support", tier="primary") == 0


async def test_a_calendar_feed_lists_shifts_with_stable_uids_until_revoked(
    api: httpx.AsyncClient, scheduled_app: FastAPI
) -> None:
    made = await api.post("/api/v1/schedules/support/calendar")
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    assert url.startswith("http://127.0.0.1:8080/api/v1/schedules/support/calendar.ics?key=")
    feed_path = url.removeprefix("http://127.0.0.1:8080")
    async with http_client(scheduled_app) as anonymous:  # a calendar app sends no token
        first = await anonymous.get(feed_path)
        again = await anonymous.get(feed_path)
        wrong = await anonymous.get("/api/v1/schedules/support/calendar.ics?key=guess")
        unknown = await anonymous.get(feed_path.replace("/support/", "/nights/"))
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(first.content)
    events = list(calendar.walk("VEVENT"))
    # Eight weeks: five evenings a week, each splitting the weekly rotation's shift in two.
    assert 85 <= len(events) <= 92
    starts = sorted(e.decoded("dtstart") for e in events)
    assert starts[-1] - starts[0] <= timedelta(weeks=8)
    assert {str(e["summary"]) for e in events} <= {
        "On call: Ada Okafor (support)", "On call: Ben Lindqvist (support)",
        "On call: Chen Wei (support)",
    }  # fmt: skip
    uids = [str(e["uid"]) for e in events]
    assert len(set(uids)) == len(uids)
    assert set(uids) & {str(e["uid"]) for e in Calendar.from_ical(again.content).walk("VEVENT")}
    assert (wrong.status_code, unknown.status_code) == (404, 404)
    assert wrong.json() == unknown.json() == {"detail": "no such calendar feed"}
    assert (await api.delete("/api/v1/schedules/support/calendar")).status_code == 204
    async with http_client(scheduled_app) as anonymous:
        assert (await anonymous.get(feed_path)).status_code == 404


async def test_an_override_outlives_a_restart_of_the_api(
    api: httpx.AsyncClient, tmp_path: Path, config: ApiConfig, service: TrackedService
) -> None:
    body = {"person": "Ben Lindqvist", "start": "2030-01-08T09:00:00Z",
            "end": "2030-01-08T12:00:00Z", "by": "Chen Wei"}  # fmt: skip
    assert (await api.post("/api/v1/schedules/support/overrides", json=body)).status_code == 201
    # A new process: its own connection to the records and its own reading of the playbooks.
    store = RecordsStore.from_url(database_url(tmp_path))
    try:
        restarted = build_app(config, store, service)
        restarted.state.runtime = Runtime(
            store=store, service=service, roster=RosterSource(tmp_path / "playbooks")
        )
        async with http_client(restarted, AUTH) as http:
            answer = await http.get("/api/v1/oncall", params={"at": TUESDAY})
    finally:
        await store.close()
    primary = _tier(answer.json()["items"], "technical_support", "primary")
    assert (primary["people"][0]["name"], primary["source"]) == ("Ben Lindqvist", "override")
