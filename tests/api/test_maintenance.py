"""Planned maintenance, the operator's half: a window moves and is listed, customers hear when
it begins, and the alerts of its components page nobody while it is on, then open their
incident if they still fire when it ends. Real SMTP and webhook receivers, the real worker on
the time-skipping server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from adapters.clock import utcnow
from adapters.email import SmtpConfig, SmtpMailer
from domain.models import NotificationKind
from testkit.mail import smtp_server
from testkit.waiting import eventually
from testkit.webhooks import Endpoint, webhook_receiver
from tests.alert_payloads import INTAKE_AUTH, INTAKE_TOKEN, WEBHOOK, raw, starting_at
from tests.api.conftest import AUTH, TrackedService, api_config, build_app, http_client
from tests.api.messaging import Messaging, subscribe_webhook
from tests.api.test_roles import bearer, make_token
from tests.conftest import open_stack, outbound


@dataclass
class Quiet:
    m: Messaging
    alertmanager: httpx.AsyncClient

    @property
    def api(self) -> httpx.AsyncClient:
        return self.m.api

    async def window(self, components: list[str], *, lasting: timedelta) -> dict[str, Any]:
        """A window on now for the API's wall clock and the test server's clock alike."""
        engine_now = await self.m.stack.env.get_current_time()
        starts = min(utcnow(), engine_now) - timedelta(minutes=1)
        ends = max(utcnow(), engine_now) + lasting
        return await schedule(self.api, components, starts, ends)

    async def alerts_for(self, *, at: datetime, name: str = "checkout-firing") -> httpx.Response:
        return await self.alertmanager.post(WEBHOOK, json=starting_at(raw(name), at))

    def pages(self) -> list[Any]:
        return self.m.stack.notifier.of_kind(NotificationKind.PAGE)


@pytest.fixture
async def quiet(ts_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Quiet]:
    with smtp_server() as smtp:
        mailer = SmtpMailer(SmtpConfig(host=smtp.host, port=smtp.port, starttls=False))
        async with webhook_receiver(ok=Endpoint()) as hooks:
            async for stack in open_stack(
                ts_env, tmp_path, outbound_to=outbound(tmp_path, mailer=mailer)
            ):
                config = api_config(
                    tmp_path,
                    task_queue=stack.task_queue,
                    public_url="http://tocsin.test",
                    webhook_allow_private=True,
                    intake_token=SecretStr(INTAKE_TOKEN),
                )
                declared: list[str] = []
                app = build_app(config, stack.store, TrackedService(stack, declared))
                async with (
                    http_client(app, AUTH) as api,
                    http_client(app) as public,
                    http_client(app, INTAKE_AUTH) as alertmanager,
                ):
                    m = Messaging(stack, api, public, smtp.inbox, hooks, declared, app)
                    yield Quiet(m, alertmanager)


async def schedule(
    api: httpx.AsyncClient, components: list[str], starts: datetime, ends: datetime
) -> dict[str, Any]:
    response = await api.post(
        "/api/v1/maintenances",
        json={
            "title": "Database upgrade",
            "body": "Checkout may be slow for a few minutes.",
            "components": components,
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
            "by": "Gil Ramos",
        },
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def status_of(api: httpx.AsyncClient, maintenance_id: str, wanted: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        found: dict[str, Any] = (await api.get(f"/api/v1/maintenances/{maintenance_id}")).json()
        return found if found["status"] == wanted else None

    return await eventually(reached, what=f"maintenance {wanted}")


# ---------------------------------------------------------------------- quiet during the window


async def test_an_alert_of_a_component_under_maintenance_pages_nobody_and_opens_when_it_ends(
    quiet: Quiet,
) -> None:
    window = await quiet.window(["checkout"], lasting=timedelta(hours=1))
    await status_of(quiet.api, window["id"], "in_progress")
    fired_at = await quiet.m.stack.env.get_current_time()

    response = await quiet.alerts_for(at=fired_at)

    assert response.status_code == 202, response.text
    (group,) = response.json()["groups"]
    assert group["outcome"] == "suppressed"
    assert group["workflow_id"] == f"maintenance-{window['id']}"
    shown = (await quiet.api.get(f"/api/v1/maintenances/{window['id']}")).json()
    assert shown["alerts_suppressed"] == 1
    metrics = (await quiet.api.get("/metrics")).text
    assert 'tocsin_alerts_suppressed_total{reason="maintenance"} 1.0' in metrics
    # A repeat from Alertmanager is held too, and counted again.
    assert (await quiet.alerts_for(at=fired_at)).json()["groups"][0]["outcome"] == "suppressed"
    await quiet.m.stack.env.sleep(timedelta(minutes=30))
    assert await quiet.m.stack.store.list_incidents() == []
    assert quiet.pages() == []

    await quiet.m.stack.env.sleep(timedelta(minutes=31))

    (incident,) = await eventually(quiet.m.stack.store.list_incidents, what="incident opened")
    quiet.m.declared.append(incident.id)
    assert incident.service == "checkout"
    assert incident.source.value == "alertmanager"
    await eventually(lambda: quiet.m.stack.notifier.of_kind(NotificationKind.PAGE, incident.id))
    await status_of(quiet.api, window["id"], "completed")
    shown = (await quiet.api.get(f"/api/v1/maintenances/{window['id']}")).json()
    assert shown["alerts_suppressed"] == 2
    assert len(await quiet.m.stack.store.list_incidents()) == 1


async def test_a_group_resolved_during_the_window_opens_nothing_when_it_ends(
    quiet: Quiet,
) -> None:
    window = await quiet.window(["checkout"], lasting=timedelta(hours=1))
    fired_at = await quiet.m.stack.env.get_current_time()
    firing = await quiet.alerts_for(at=fired_at)
    resolved = await quiet.alerts_for(at=fired_at, name="checkout-resolved")
    assert [r.json()["groups"][0]["outcome"] for r in (firing, resolved)] == ["suppressed"] * 2

    await quiet.m.stack.env.sleep(timedelta(hours=1, minutes=2))

    await status_of(quiet.api, window["id"], "completed")
    await quiet.m.stack.env.sleep(timedelta(minutes=5))
    assert await quiet.m.stack.store.list_incidents() == []
    assert quiet.pages() == []


async def test_cancelling_a_window_that_began_hands_its_held_alerts_over_at_once(
    quiet: Quiet,
) -> None:
    window = await quiet.window(["checkout"], lasting=timedelta(hours=4))
    await quiet.alerts_for(at=await quiet.m.stack.env.get_current_time())

    cancelled = await quiet.api.post(
        f"/api/v1/maintenances/{window['id']}/cancel", json={"by": "Gil"}
    )

    assert cancelled.status_code == 200, cancelled.text
    (incident,) = await eventually(quiet.m.stack.store.list_incidents, what="incident opened")
    quiet.m.declared.append(incident.id)
    await eventually(lambda: quiet.m.stack.notifier.of_kind(NotificationKind.PAGE, incident.id))


async def test_a_persons_declaration_is_never_suppressed(quiet: Quiet) -> None:
    await quiet.window(["checkout"], lasting=timedelta(hours=1))

    response = await quiet.api.post(
        "/api/v1/incidents",
        json={
            "title": "Checkout failing",
            "level": "A",
            "type": "service_outage",
            "service": "checkout",
            "by": "Alice",
        },
    )

    assert response.status_code == 201, response.text
    incident_id = response.json()["id"]
    await eventually(lambda: quiet.m.stack.notifier.of_kind(NotificationKind.PAGE, incident_id))


async def test_alerts_of_other_components_page_as_usual(quiet: Quiet) -> None:
    await quiet.window(["support-chat"], lasting=timedelta(hours=1))

    response = await quiet.alerts_for(at=await quiet.m.stack.env.get_current_time())

    assert response.json()["groups"][0]["outcome"] == "accepted"
    (incident,) = await eventually(quiet.m.stack.store.list_incidents, what="incident opened")
    quiet.m.declared.append(incident.id)
    await eventually(lambda: quiet.m.stack.notifier.of_kind(NotificationKind.PAGE, incident.id))
    metrics = (await quiet.api.get("/metrics")).text
    assert 'tocsin_alerts_suppressed_total{reason="maintenance"} 0.0' in metrics


# ------------------------------------------------------------------- customers hear it begin


async def test_customers_are_told_when_maintenance_begins(quiet: Quiet) -> None:
    m = quiet.m
    await m.api.post("/api/v1/subscribers", json={"email": "ops@example.com", "by": "Gil"})
    await subscribe_webhook(m, "ok")
    engine_now = await m.stack.env.get_current_time()
    window = await schedule(
        m.api, ["checkout"], engine_now + timedelta(hours=1), engine_now + timedelta(hours=2)
    )

    await m.stack.env.sleep(timedelta(hours=1, minutes=1))

    (began,) = await eventually(
        lambda: [r for r in m.inbox.to("ops@example.com") if "in progress" in r.subject] or None
    )
    assert began.subject == "Maintenance in progress: Database upgrade"
    assert "has begun" in began.text
    assert "Affected: checkout" in began.text
    assert "/status/unsubscribe?token=" in began.text

    def hook(kind: str) -> list[dict[str, Any]]:
        return [c for c in m.hooks.endpoints["ok"].verified if c["type"] == kind]

    (called,) = await eventually(lambda: hook("maintenance.started") or None)
    assert called["data"]["maintenance"]["id"] == window["id"]
    assert called["data"]["maintenance"]["status"] == "in_progress"
    assert m.hooks.endpoints["ok"].bad_signatures == 0


# ------------------------------------------------------------------ move, list, refuse


async def test_a_window_moves_before_it_begins_and_starts_at_its_new_time(quiet: Quiet) -> None:
    m = quiet.m
    await m.api.post("/api/v1/subscribers", json={"email": "ops@example.com", "by": "Gil"})
    engine_now = await m.stack.env.get_current_time()
    window = await schedule(
        m.api, ["checkout"], engine_now + timedelta(hours=1), engine_now + timedelta(hours=2)
    )
    new_start = engine_now + timedelta(hours=3)

    moved = await m.api.patch(
        f"/api/v1/maintenances/{window['id']}",
        json={
            "starts_at": new_start.isoformat(),
            "ends_at": (new_start + timedelta(hours=1)).isoformat(),
            "by": "Gil",
        },
    )

    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["starts_at"]) == new_start
    shown = (await m.api.get(f"/api/v1/maintenances/{window['id']}")).json()
    assert datetime.fromisoformat(shown["starts_at"]) == new_start
    (told,) = await eventually(
        lambda: [r for r in m.inbox.to("ops@example.com") if "rescheduled" in r.subject] or None
    )
    assert "now scheduled from" in told.text
    await m.stack.env.sleep(timedelta(hours=1, minutes=30))
    assert (await m.api.get(f"/api/v1/maintenances/{window['id']}")).json()["status"] == "scheduled"
    await m.stack.env.sleep(timedelta(hours=1, minutes=31))
    await status_of(m.api, window["id"], "in_progress")
    listed = await m.api.get("/api/v1/maintenances", params={"status": "in_progress"})
    assert [w["id"] for w in listed.json()["items"]] == [window["id"]]
    completed = await m.api.get("/api/v1/maintenances", params={"status": "completed"})
    assert completed.json() == {"items": []}


async def test_a_window_that_began_can_be_extended_but_not_moved(quiet: Quiet) -> None:
    window = await quiet.window(["checkout"], lasting=timedelta(hours=1))
    await status_of(quiet.api, window["id"], "in_progress")
    later = datetime.fromisoformat(window["ends_at"]) + timedelta(hours=1)
    path = f"/api/v1/maintenances/{window['id']}"

    gone = datetime.fromisoformat(window["starts_at"]) + timedelta(seconds=30)

    moved = await quiet.api.patch(path, json={"starts_at": later.isoformat()})
    in_the_past = await quiet.api.patch(path, json={"ends_at": gone.isoformat()})
    extended = await quiet.api.patch(path, json={"ends_at": later.isoformat()})

    assert moved.status_code == 409
    assert "only ends_at may change" in moved.json()["detail"]
    assert in_the_past.status_code == 422
    assert "must be in the future" in json.dumps(in_the_past.json()["detail"])
    assert extended.status_code == 200, extended.text
    assert datetime.fromisoformat(extended.json()["ends_at"]) == later
    await quiet.m.stack.env.sleep(timedelta(hours=1, minutes=30))
    assert (await quiet.api.get(path)).json()["status"] == "in_progress"


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        ({"ends_at": -1}, "ends_at", "ends_at must be after starts_at"),
        ({"starts_at": 3, "ends_at": 2}, "ends_at", "ends_at must be after starts_at"),
        ({}, "body", "give starts_at, ends_at or both"),
        ({"ends_at": "tomorrow"}, "ends_at", ""),
    ],
)
async def test_a_bad_move_is_a_422_that_says_why_and_changes_nothing(
    quiet: Quiet, change: dict[str, Any], field: str, why: str
) -> None:
    engine_now = await quiet.m.stack.env.get_current_time()
    starts = max(utcnow(), engine_now) + timedelta(hours=1)
    window = await schedule(quiet.api, ["checkout"], starts, starts + timedelta(hours=1))
    body = {
        k: (v if isinstance(v, str) else (starts + timedelta(hours=v)).isoformat())
        for k, v in change.items()
    }

    response = await quiet.api.patch(f"/api/v1/maintenances/{window['id']}", json=body)

    assert response.status_code == 422, response.text
    assert field in json.dumps(response.json()["detail"])
    assert why in json.dumps(response.json()["detail"])
    assert (await quiet.api.get(f"/api/v1/maintenances/{window['id']}")).json() == window


async def test_moving_a_window_that_ended_or_does_not_exist_is_refused(quiet: Quiet) -> None:
    window = await quiet.window(["checkout"], lasting=timedelta(minutes=10))
    await quiet.m.stack.env.sleep(timedelta(minutes=12))
    ended = await status_of(quiet.api, window["id"], "completed")
    later = (utcnow() + timedelta(days=1)).isoformat()

    completed = await quiet.api.patch(
        f"/api/v1/maintenances/{window['id']}", json={"ends_at": later}
    )
    unknown = await quiet.api.patch(
        "/api/v1/maintenances/mnt-20260101-000000", json={"ends_at": later}
    )

    assert completed.status_code == 409
    assert "is completed" in completed.json()["detail"]
    assert unknown.status_code == 404
    assert (await quiet.api.get(f"/api/v1/maintenances/{window['id']}")).json() == ended


async def test_a_window_ending_in_the_past_is_refused(quiet: Quiet) -> None:
    past = utcnow() - timedelta(hours=1)

    response = await quiet.api.post(
        "/api/v1/maintenances",
        json={
            "title": "x",
            "body": "y",
            "components": ["checkout"],
            "starts_at": (past - timedelta(hours=1)).isoformat(),
            "ends_at": past.isoformat(),
            "by": "Gil",
        },
    )

    assert response.status_code == 422
    assert "must be in the future" in json.dumps(response.json()["detail"])
    assert (await quiet.api.get("/api/v1/maintenances")).json() == {"items": []}


async def test_listing_by_an_unknown_status_is_a_422(quiet: Quiet) -> None:
    response = await quiet.api.get("/api/v1/maintenances", params={"status": "later"})

    assert response.status_code == 422
    assert "status" in json.dumps(response.json()["detail"])


async def test_leads_and_comms_plan_maintenance_and_responders_may_not(quiet: Quiet) -> None:
    tokens = {
        name: await make_token(quiet.api, name=name, role=role, person=person)
        for name, role, person in (
            ("jo", "lead", "Jo Mbeki"),
            ("gil", "comms", "Gil Ramos"),
            ("ada", "responder", "Ada Okafor"),
        )
    }
    engine_now = await quiet.m.stack.env.get_current_time()
    starts = max(utcnow(), engine_now) + timedelta(hours=1)
    body = {
        "title": "Database upgrade",
        "body": "Checkout may be slow.",
        "components": ["checkout"],
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=1)).isoformat(),
    }
    app = quiet.m.app
    async with (
        http_client(app, bearer(tokens["jo"])) as jo,
        http_client(app, bearer(tokens["gil"])) as gil,
        http_client(app, bearer(tokens["ada"])) as ada,
    ):
        refused = await ada.post("/api/v1/maintenances", json=body)
        scheduled = await jo.post("/api/v1/maintenances", json=body)
        assert scheduled.status_code == 201, scheduled.text
        path = f"/api/v1/maintenances/{scheduled.json()['id']}"
        later = (starts + timedelta(hours=3)).isoformat()
        moved = await gil.patch(path, json={"ends_at": later})
        not_moved = await ada.patch(path, json={"ends_at": later})

    assert refused.status_code == 403
    assert "schedule, move or cancel planned maintenance" in refused.json()["detail"]
    assert scheduled.json()["created_by"] == "Jo Mbeki"
    assert moved.status_code == 200, moved.text
    assert not_moved.status_code == 403
    assert (await quiet.api.get("/api/v1/maintenances")).json()["items"][0][
        "ends_at"
    ] == moved.json()["ends_at"]


async def test_a_number_is_not_a_date_time(quiet: Quiet) -> None:
    """JSON's 1900000000 is not the spec's date-time, though pydantic would read it as seconds
    since 1970."""
    engine_now = await quiet.m.stack.env.get_current_time()
    starts = max(utcnow(), engine_now) + timedelta(hours=1)
    window = await schedule(quiet.api, ["checkout"], starts, starts + timedelta(hours=1))

    response = await quiet.api.patch(
        f"/api/v1/maintenances/{window['id']}", json={"ends_at": 1_900_000_000}
    )

    assert response.status_code == 422, response.text
    assert "expected a date-time such as 2026-12-01T10:00:00Z" in response.text
    assert (await quiet.api.get(f"/api/v1/maintenances/{window['id']}")).json() == window
