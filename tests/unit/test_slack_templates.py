"""The Slack messages as laid out by the templates: the documented card, Block Kit limits,
channel names Slack accepts, and escaping of what people type."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from adapters.slack import layout
from domain.models import Incident, IncidentType, Level, Status

DOCS_CARD = Path(__file__).resolve().parents[2] / "docs" / "slack-card.json"
AT = datetime(2026, 11, 23, 8, 59, 1, tzinfo=UTC)


def sample(**changes: object) -> Incident:
    incident = Incident(
        id="20261123-k7qz",
        title="Checkout failing",
        level=Level.A,
        type=IncidentType.SERVICE_OUTAGE,
        service="checkout",
        declared_at=AT,
        declared_by="Alice",
        ack_deadline=AT + timedelta(minutes=15),
        response_window_seconds=900,
        acknowledged_at=AT + timedelta(minutes=4, seconds=12),
        acknowledged_by="Ada Okafor",
        status=Status.ACKNOWLEDGED,
        description="Only 50% of checkouts succeed since the 08:50 deploy.",
    )
    return incident.model_copy(update=changes)


def test_the_card_in_the_readme_is_what_the_templates_render() -> None:
    text, blocks = layout.card(sample())

    assert json.loads(DOCS_CARD.read_text(encoding="utf-8")) == {"text": text, "blocks": blocks}


def test_an_unacknowledged_card_offers_acknowledge_and_a_resolved_one_no_buttons() -> None:
    _, open_blocks = layout.card(sample(acknowledged_at=None, status=Status.TRIGGERED))
    _, closed_blocks = layout.card(
        sample(status=Status.RESOLVED, resolved_by="Bob", resolved_at=AT + timedelta(hours=1))
    )

    actions = [b for b in open_blocks if b["type"] == "actions"]
    assert actions[0]["elements"][0]["action_id"] == layout.ACK
    assert not [b for b in closed_blocks if b["type"] == "actions"]


@given(
    title=st.text(min_size=1, max_size=400),
    description=st.text(max_size=20_000),
    service=st.text(max_size=300),
)
def test_any_input_fits_block_kit_limits(title: str, description: str, service: str) -> None:
    _, blocks = layout.card(sample(title=title, description=description, service=service))

    assert len(blocks) <= layout.MAX_BLOCKS
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= layout.MAX_HEADER
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= layout.MAX_SECTION
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000


@given(title=st.text(max_size=300))
def test_channel_names_follow_slacks_rules(title: str) -> None:
    name = layout.channel_name(sample(title=title or "x"))

    assert re.fullmatch(r"[a-z0-9_-]{1,80}", name)
    assert name.startswith("inc-20261123-k7qz")


def test_what_people_type_cannot_mention_or_link() -> None:
    _, blocks = layout.card(sample(description="<!channel> see <https://evil.example|here>"))

    rendered = json.dumps(blocks)
    assert "<!channel>" not in rendered
    assert "&lt;!channel&gt;" in rendered
