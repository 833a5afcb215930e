"""The bodies of Slack's signed requests, validated: what was pressed, submitted or typed, and
by whom. A body tocsin cannot use is a ``BadRequest`` naming its fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import parse_qs

from pydantic import BaseModel, Discriminator, Field, Tag, TypeAdapter, ValidationError

from domain.models import Actor


class BadRequest(ValueError):
    """A signed request whose body tocsin cannot use; ``errors`` name the fields."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{e['loc']}: {e['msg']}" for e in errors))
        self.errors = errors


class SlackUser(BaseModel):
    id: str = Field(min_length=1, max_length=50)
    username: str | None = None
    name: str | None = None


class SlackChannel(BaseModel):
    id: str


class BlockAction(BaseModel):
    action_id: str
    value: str | None = None


class BlockActions(BaseModel):
    type: Literal["block_actions"]
    user: SlackUser
    actions: list[BlockAction] = Field(min_length=1)
    trigger_id: str | None = None
    channel: SlackChannel | None = None
    response_url: str | None = Field(default=None, max_length=2000)


class View(BaseModel):
    callback_id: str
    private_metadata: str = ""
    state: dict[str, dict[str, dict[str, dict[str, Any]]]] = Field(default_factory=dict)

    def value(self, block_id: str) -> str:
        """The value of an input block (text, or the selected option)."""
        element = self.state.get("values", {}).get(block_id, {}).get("value", {})
        selected = element.get("selected_option")
        if isinstance(selected, dict):
            return str(selected.get("value") or "")
        return str(element.get("value") or "").strip()


class ViewSubmission(BaseModel):
    type: Literal["view_submission"]
    user: SlackUser
    view: View


class OtherInteraction(BaseModel):
    """Interactions tocsin does not act on (view_closed, shortcuts...)."""

    type: str


def _interaction_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in ("block_actions", "view_submission") else "other"


# Dispatched on ``type``: a block_actions without its actions is refused, not taken for one of
# the interactions tocsin ignores (a plain union would fall back to ``OtherInteraction``).
_Interaction: TypeAdapter[BlockActions | ViewSubmission | OtherInteraction] = TypeAdapter(
    Annotated[
        Annotated[BlockActions, Tag("block_actions")]
        | Annotated[ViewSubmission, Tag("view_submission")]
        | Annotated[OtherInteraction, Tag("other")],
        Discriminator(_interaction_kind),
    ]
)


class SlashCommand(BaseModel):
    command: str
    text: str = ""
    user_id: str = Field(min_length=1)
    user_name: str | None = None
    channel_id: str = Field(min_length=1)
    trigger_id: str | None = None
    response_url: str | None = Field(default=None, max_length=2000)


def interaction(body: bytes) -> BlockActions | ViewSubmission | OtherInteraction:
    raw = _form(body).get("payload")
    if raw is None:
        raise _bad("payload", "field required")
    try:
        return _Interaction.validate_json(raw)
    except ValidationError as exc:
        raise _invalid(exc, "payload") from None


def command(body: bytes) -> SlashCommand:
    try:
        return SlashCommand.model_validate(_form(body))
    except ValidationError as exc:
        raise _invalid(exc, "command") from None


def _form(body: bytes) -> dict[str, str]:
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise _bad("body", "not UTF-8 form data") from None
    return {key: values[0] for key, values in fields.items()}


def _bad(field: str, problem: str) -> BadRequest:
    return BadRequest([{"loc": ["body", field], "msg": problem, "type": "value_error"}])


def _invalid(exc: ValidationError, prefix: str) -> BadRequest:
    return BadRequest(
        [
            {"loc": ["body", prefix, *error["loc"]], "msg": error["msg"], "type": error["type"]}
            for error in exc.errors()
        ]
    )


class Where(NamedTuple):
    """Where a private answer to a press goes: its response_url, else its channel, to
    ``user``."""

    response_url: str | None
    channel: str | None
    user: str


@dataclass(frozen=True)
class Press:
    """One button pressed, by someone the roster allows to press it."""

    action_id: str
    value: str
    trigger_id: str | None
    by: Actor
    where: Where
