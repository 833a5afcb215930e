from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from domain.durations import Duration, format_duration, humanize, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d", timedelta(days=1)),
        ("250ms", timedelta(milliseconds=250)),
        (" 5m ", timedelta(minutes=5)),
        ("PT15M", timedelta(minutes=15)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("PT1.5S", timedelta(seconds=1.5)),
        (30, timedelta(seconds=30)),
        (0.5, timedelta(milliseconds=500)),
    ],
)
def test_parse_duration_reads_playbook_and_iso_spellings(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "15", "m", "15 m", "15x", "1h 30m", "-5m", "P", True, None])
def test_parse_duration_rejects_what_is_not_a_duration(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(minutes=15), "15m"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(days=1, seconds=1), "1d1s"),
        (timedelta(milliseconds=1500), "1s500ms"),
        (timedelta(minutes=-5), "-5m"),
    ],
)
def test_format_duration_writes_the_shortest_playbook_spelling(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


@given(st.integers(min_value=0, max_value=10 * 365 * 86400 * 1000))
def test_format_then_parse_gives_back_the_same_duration(milliseconds: int) -> None:
    delta = timedelta(milliseconds=milliseconds)
    assert parse_duration(format_duration(delta)) == delta


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=42), "42s"),
        (timedelta(minutes=14, seconds=58), "14m 58s"),
        (timedelta(hours=2, minutes=5, seconds=9), "2h 5m"),
        (timedelta(minutes=-3, seconds=-2), "overdue by 3m 2s"),
    ],
)
def test_humanize_reads_well_for_people(delta: timedelta, text: str) -> None:
    assert humanize(delta) == text


class _Policy(BaseModel):
    window: Duration


def test_duration_fields_parse_and_serialise_in_playbook_spelling() -> None:
    policy = _Policy.model_validate({"window": "1h30m"})
    assert policy.window == timedelta(hours=1, minutes=30)
    assert policy.model_dump(mode="json") == {"window": "1h30m"}
    assert _Policy.model_validate_json(policy.model_dump_json()) == policy


def test_duration_field_error_names_the_bad_value() -> None:
    with pytest.raises(ValidationError, match="'soon' is not a duration"):
        _Policy.model_validate({"window": "soon"})
