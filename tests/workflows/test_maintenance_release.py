"""What a maintenance window held is handed to the intake by an activity Temporal may run
more than once: a second hand-over of the same group opens no second incident and pages
nobody twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from adapters.email import OutboxMailer
from adapters.webhooks import WebhookSender
from alerts.catalog import load_catalog
from domain.models import NotificationKind
from testkit.waiting import eventually
from tests.alert_payloads import payload, raw, starting_at
from tests.conftest import Stack
from workflows.announcements.activities import AnnouncementActivities
from workflows.announcements.models import ReleaseAlertsInput
from workflows.fanout import Fanout
from workflows.incident.client import IncidentService


async def test_handing_a_held_group_over_twice_opens_one_incident_and_one_page(
    stack: Stack, tmp_path: Path
) -> None:
    intake = IncidentService(
        stack.client, stack.task_queue, stack.playbooks, catalog=load_catalog()
    )
    fanout = Fanout(stack.store, OutboxMailer(tmp_path), WebhookSender(), "http://tocsin.test")
    activities = AnnouncementActivities(stack.store, OutboxMailer(tmp_path), fanout, intake)
    now = await stack.env.get_current_time()
    held = ReleaseAlertsInput(
        maintenance_id="mnt-20261204-abcdef",
        group_id=payload("checkout-firing").group_id,
        payload=starting_at(raw("checkout-firing"), now),
    )

    await activities.release_alerts(held)
    await activities.release_alerts(held)

    (incident,) = await eventually(stack.store.list_incidents, what="incident opened")
    await eventually(lambda: stack.notifier.of_kind(NotificationKind.PAGE, incident.id))
    await stack.env.sleep(timedelta(seconds=5))
    assert len(await stack.store.list_incidents()) == 1
    assert len(stack.notifier.of_kind(NotificationKind.PAGE, incident.id)) == 1
