"""Drills from Slack: ``/incident drill <scenario>`` starts one, its pages say DRILL, and
``/incident classify`` in a drill incident's channel records the responder's triage."""

from __future__ import annotations

from typing import Any

from adapters.slack import layout
from testkit.waiting import eventually
from tests.slack.conftest import ADA, SlackStack, command, post_signed

JO = "U0LEAD001"  # leadership primary


async def run(slack: SlackStack, text: str, channel: str, user: str = ADA) -> str:
    response = await post_signed(slack, "/slack/commands", command(text, channel, user=user))
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    assert answer["response_type"] == "ephemeral"
    return str(answer["text"])


async def test_a_drill_is_started_and_triaged_from_slack(slack: SlackStack) -> None:
    started = await run(slack, "drill routine", slack.announce, user=JO)
    assert started.startswith("DRILL routine-")
    assert "started by Jo Mbeki" in started
    run_id = started.split()[1]

    async def injected() -> str | None:
        recorded = await slack.store.drills.get(run_id)
        return recorded.incidents.get(0) if recorded else None

    incident_id = await eventually(injected)
    incident = await eventually(lambda: slack.store.get_incident(incident_id))
    channel = await eventually(
        lambda: slack.fake.channel_by_name(layout.channel_name(incident)) or None
    )
    page = (await eventually(lambda: slack.fake.dms_to(ADA) or None))[0]
    assert "DRILL" in page["text"]

    again = await run(slack, "drill routine", slack.announce, user=JO)
    assert again == "No drill started: a routine drill is already running; one at a time"
    unknown = await run(slack, "drill fire", slack.announce, user=JO)
    assert unknown == (
        "No drill started: no drill scenario 'fire'; "
        "known scenarios: comprehensive, integrated, routine"
    )
    usage = await run(slack, "classify B", channel.id)
    assert usage.startswith("Usage: `/incident classify <A|B|C> <type>`")

    classified = await run(slack, "classify b service outage", channel.id)

    assert classified == (
        f"Classified [{incident_id}] as level B service outage; it is scored when the drill ends."
    )
    (recorded,) = await slack.store.drills.classifications([incident_id])
    assert (recorded.by, recorded.level.value, recorded.type.value) == (
        "Ada Okafor",
        "B",
        "service_outage",
    )
    await slack.env.client.get_workflow_handle("drill-routine").terminate("test over")
