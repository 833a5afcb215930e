"""Every form (modal) tocsin opens in Slack, as Block Kit: what a button or ``/incident``
asks for before it changes an incident, a statement or a review. Each form's ``callback_id``
is the action it completes (``layout``'s ids), so its submission is routed like the button."""

from __future__ import annotations

from typing import Any

from adapters.slack.layout import (
    CHANGE_LEVEL,
    DECLARE,
    POST_UPDATE,
    RESOLVE,
    REVIEW_EDIT,
    STATEMENT_EDIT,
    STATEMENT_REJECT,
    Block,
    clip,
    type_name,
)
from domain.models import IncidentType, Level

_LEVEL_OPTIONS = [
    {"text": {"type": "plain_text", "text": f"{lv.value} — {desc}"}, "value": lv.value}
    for lv, desc in (
        (Level.A, "company-wide, 15 min"),
        (Level.B, "one department or major service, 30 min"),
        (Level.C, "a single channel, 60 min"),
    )
]
_TYPE_OPTIONS = [
    {"text": {"type": "plain_text", "text": type_name(t)}, "value": t.value} for t in IncidentType
]


def _input(block_id: str, label: str, element: dict[str, Any], optional: bool = False) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {**element, "action_id": "value"},
        "optional": optional,
    }


def _text_input(multiline: bool = False, max_length: int = 3000) -> dict[str, Any]:
    return {"type": "plain_text_input", "multiline": multiline, "max_length": max_length}


def _select(options: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "static_select", "options": options}


def _modal(callback_id: str, title: str, blocks: list[Block], metadata: str = "") -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": clip(title, 24)},
        "submit": {"type": "plain_text", "text": "Submit"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def declare_modal(channel_id: str) -> dict[str, Any]:
    return _modal(
        DECLARE,
        "Declare an incident",
        [
            _input("title", "Title", _text_input(max_length=200)),
            _input("level", "Level", _select(_LEVEL_OPTIONS)),
            _input("type", "Type", _select(_TYPE_OPTIONS)),
            _input("service", "Service", _text_input(max_length=200), optional=True),
            _input("description", "Description", _text_input(multiline=True), optional=True),
        ],
        metadata=channel_id,
    )


def level_modal(incident_id: str) -> dict[str, Any]:
    return _modal(
        CHANGE_LEVEL,
        "Change level",
        [
            _input("level", "New level", _select(_LEVEL_OPTIONS)),
            _input("reason", "Why", _text_input(multiline=True, max_length=2000)),
        ],
        metadata=incident_id,
    )


def update_modal(incident_id: str) -> dict[str, Any]:
    return _modal(
        POST_UPDATE,
        "Post an update",
        [_input("text", "Update", _text_input(multiline=True))],
        metadata=incident_id,
    )


def resolve_modal(incident_id: str) -> dict[str, Any]:
    return _modal(
        RESOLVE,
        "Resolve",
        [_input("summary", "Summary", _text_input(multiline=True), optional=True)],
        metadata=incident_id,
    )


def review_modal(review_id: str, fields: dict[str, str]) -> dict[str, Any]:
    """The owner writes the review from the incident's channel; lists one item per line.
    Blameless: the hint asks about systems and process, not people."""

    def text(block: str, label: str, multiline: bool = True) -> Block:
        element = _text_input(multiline=multiline, max_length=3000)
        if fields.get(block):
            element["initial_value"] = fields[block][:3000]
        return _input(block, label, element, optional=True)

    hint: Block = {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": "Blameless: ask what in our systems and process let this happen, not "
                "who is at fault. Lists take one item per line.",
            }
        ],
    }
    return _modal(
        REVIEW_EDIT,
        "Post-incident review",
        [
            hint,
            text("summary", "Summary"),
            text("customer_impact", "Customer impact"),
            text("root_cause", "Root cause"),
            text("five_whys", "Five whys (one per line)"),
            text("contributing_factors", "Contributing factors"),
            text("went_well", "What went well"),
            text("went_badly", "What went badly"),
            text("lessons", "Lessons"),
        ],
        metadata=review_id,
    )


# ------------------------------------------------------------------------ statements


def statement_modal(message_id: str, body: str) -> dict[str, Any]:
    """Edit a statement's text, then approve it as edited."""
    text = _text_input(multiline=True, max_length=3000) | {"initial_value": body[:3000]}
    return _modal(
        STATEMENT_EDIT,
        "Edit and approve",
        [_input("body", "Statement for customers", text)],
        metadata=message_id,
    )


def reject_modal(message_id: str) -> dict[str, Any]:
    reason = _text_input(multiline=True, max_length=2000)
    return _modal(
        STATEMENT_REJECT,
        "Reject the statement",
        [_input("reason", "Why (the next draft is asked for with it)", reason)],
        metadata=message_id,
    )
