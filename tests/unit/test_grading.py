"""Grading alerts into levels A, B and C (DESIGN.md §1): examples from the captured
Alertmanager notifications, and properties that must hold for any labels and any time."""

from __future__ import annotations

import copy
import math
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.catalog import Catalog, load_catalog
from alerts.grading import (
    WEIGHTS,
    grade,
    grade_firing,
    incident_type,
    level_for,
    most_serious,
    weighted_score,
)
from alerts.models import Alert
from domain.models import Grading, IncidentType, Level
from tests.alert_payloads import payload, raw

CATALOG: Catalog = load_catalog()
STARTS = datetime(2026, 11, 23, 8, 58, 58, 189000, tzinfo=UTC)
FACTOR_NAMES = ["affected_users", "criticality", "timeliness", "exposure"]
CHECKOUT_FIRING: dict[str, Any] = raw("checkout-firing")["alerts"][0]


def checkout(*drop: str, **labels: str) -> Alert:
    """The captured checkout alert without the labels named in ``drop``, others changed."""
    data = copy.deepcopy(CHECKOUT_FIRING)
    for name in drop:
        del data["labels"][name]
    data["labels"].update(labels)
    return Alert.model_validate(data)


def alert_with(labels: dict[str, str], starts_at: datetime = STARTS) -> Alert:
    """A firing alert carrying only ``alertname`` and ``labels``."""
    data = copy.deepcopy(CHECKOUT_FIRING)
    data["labels"] = {"alertname": "TestAlert", **labels}
    data["startsAt"] = starts_at.isoformat()
    return Alert.model_validate(data)


def factor_values(grading: Grading) -> dict[str, float]:
    return {f.name: f.value for f in grading.factors}


# ----------------------------------------------------------------------- captured examples


def test_checkout_is_level_a_by_its_label_with_the_score_recorded_anyway() -> None:
    alert = payload("checkout-firing").alerts[0]
    grading = grade(alert, CATALOG, STARTS + timedelta(minutes=5))
    assert grading.level is Level.A
    assert grading.rule == "label"
    assert grading.alert == "CheckoutSuccessRatioLow"
    assert grading.notes == []
    # 0.4·0.8 + 0.3·1.0 + 0.2·(5m/30m) + 0.1·0.7: by score alone it would be B.
    assert grading.score == pytest.approx(0.32 + 0.3 + 0.2 * 5 / 30 + 0.07, abs=1e-4)
    assert level_for(grading.score, CATALOG) is Level.B
    assert [f.name for f in grading.factors] == FACTOR_NAMES
    assert [f.weight for f in grading.factors] == [WEIGHTS[n] for n in FACTOR_NAMES]
    assert sum(f.contribution for f in grading.factors) == pytest.approx(grading.score, abs=1e-3)
    assert grading.thresholds == {"A": 0.75, "B": 0.45}
    assert "level label" in grading.explain()


def test_support_chat_alerts_are_level_c_by_score() -> None:
    gradings = [
        grade(alert, CATALOG, STARTS + timedelta(minutes=10))
        for alert in payload("support-chat-firing").alerts
    ]
    assert len(gradings) == 2
    for grading in gradings:
        assert grading.level is Level.C
        assert grading.rule == "score"
        assert grading.score < CATALOG.thresholds.B
        assert grading.notes == []
        assert factor_values(grading)["criticality"] == 0.4  # support-chat is medium
        assert "by score" in grading.explain()


def test_support_chat_stays_level_c_however_long_it_fires() -> None:
    for alert in payload("support-chat-firing").alerts:
        grading = grade(alert, CATALOG, STARTS + timedelta(days=30))
        assert factor_values(grading)["timeliness"] == 1.0
        assert grading.level is Level.C


# ---------------------------------------------------------------------------- level label


@pytest.mark.parametrize("label", ["P1", "critical", "", "AA", "D"])
def test_unknown_level_label_is_ignored_with_a_note(label: str) -> None:
    grading = grade(checkout(level=label), CATALOG, STARTS)
    assert grading.rule == "score"
    assert grading.level is level_for(grading.score, CATALOG)
    assert any(repr(label) in note and "ignored" in note for note in grading.notes)


@pytest.mark.parametrize(
    ("label", "level"),
    [("a", Level.A), (" B ", Level.B), ("c", Level.C), ("C", Level.C)],
)
def test_level_label_is_read_case_and_space_insensitively(label: str, level: Level) -> None:
    grading = grade(checkout(level=label), CATALOG, STARTS)
    assert grading.level is level
    assert grading.rule == "label"
    assert grading.notes == []


def test_level_label_c_downgrades_what_the_score_grades_a() -> None:
    now = STARTS + timedelta(hours=1)
    assert grade(checkout("level"), CATALOG, now).level is Level.A
    grading = grade(checkout(level="C"), CATALOG, now)
    assert grading.level is Level.C
    assert grading.score >= CATALOG.thresholds.A


# -------------------------------------------------------------------------- service / type


def test_unknown_service_uses_the_catalog_defaults_with_a_note() -> None:
    grading = grade(checkout("level", service="billing"), CATALOG, STARTS)
    values = factor_values(grading)
    assert values["criticality"] == 0.4  # default: medium
    assert values["affected_users"] == 0.1  # default user base 100,000 of 1,000,000
    assert values["exposure"] == 0.2  # default: internal
    assert any(
        "'billing'" in note and "not in the service catalog" in note for note in grading.notes
    )


def test_missing_service_label_uses_the_defaults_with_a_note() -> None:
    grading = grade(checkout("level", "service"), CATALOG, STARTS)
    assert factor_values(grading)["criticality"] == 0.4
    assert any("no service label" in note for note in grading.notes)
    assert grading.factors[1].basis == "unknown service is medium"


def test_unknown_type_label_falls_back_to_the_service_default_type() -> None:
    alert = checkout(service="support-tickets", type="outage")
    kind, note = incident_type(alert, CATALOG)
    assert kind is IncidentType.MAJOR_PRODUCT_INCIDENT
    assert note is not None
    assert "'outage'" in note
    assert "major_product_incident" in note
    grading = grade(alert, CATALOG, STARTS)
    assert note in grading.notes


def test_known_type_label_is_taken() -> None:
    kind, note = incident_type(checkout(type="data_leak"), CATALOG)
    assert kind is IncidentType.DATA_LEAK
    assert note is None


def test_missing_type_label_uses_the_service_default_type_without_a_note() -> None:
    kind, note = incident_type(checkout("type", service="customer-data"), CATALOG)
    assert kind is IncidentType.DATA_LEAK
    assert note is None


# ---------------------------------------------------------------------------- affected users


def test_affected_users_label_sets_the_share_of_all_users() -> None:
    grading = grade(checkout(affected_users="250000"), CATALOG, STARTS)
    factor = grading.factors[0]
    assert factor.value == 0.25
    assert factor.basis == "250,000 of 1,000,000 users"
    assert grading.notes == []


def test_affected_users_above_the_total_is_capped_at_one() -> None:
    grading = grade(checkout(affected_users="5000000"), CATALOG, STARTS)
    assert factor_values(grading)["affected_users"] == 1.0


def test_affected_ratio_label_is_a_share_of_the_service_users() -> None:
    grading = grade(checkout(affected_ratio="0.25"), CATALOG, STARTS)
    # 25% of checkout's 800,000 users, of 1,000,000.
    assert factor_values(grading)["affected_users"] == 0.2
    assert grading.notes == []


def test_affected_users_label_wins_over_affected_ratio() -> None:
    grading = grade(checkout(affected_users="10000", affected_ratio="1"), CATALOG, STARTS)
    assert factor_values(grading)["affected_users"] == 0.01


@pytest.mark.parametrize(
    ("labels", "name"),
    [
        ({"affected_users": "lots"}, "affected_users"),
        ({"affected_users": "-3"}, "affected_users"),
        ({"affected_users": "nan"}, "affected_users"),
        ({"affected_ratio": "1.5"}, "affected_ratio"),
        ({"affected_ratio": "-0.1"}, "affected_ratio"),
        ({"affected_ratio": "half"}, "affected_ratio"),
    ],
)
def test_invalid_affected_labels_are_ignored_with_a_note(labels: dict[str, str], name: str) -> None:
    grading = grade(checkout(**labels), CATALOG, STARTS)
    # Falls back to the whole user base of checkout: 800,000 of 1,000,000.
    assert factor_values(grading)["affected_users"] == 0.8
    raw_value = labels[name]
    assert any(note.startswith(f"{name} label {raw_value!r} ignored") for note in grading.notes), (
        grading.notes
    )


def test_invalid_affected_users_falls_back_to_a_valid_ratio() -> None:
    grading = grade(checkout(affected_users="lots", affected_ratio="0.5"), CATALOG, STARTS)
    assert factor_values(grading)["affected_users"] == 0.4
    assert len(grading.notes) == 1


# ---------------------------------------------------------------------------------- exposure


@pytest.mark.parametrize(("label", "value"), [("data", 1.0), ("customer", 0.7), ("internal", 0.2)])
def test_exposure_label_overrides_the_catalog(label: str, value: float) -> None:
    grading = grade(checkout(exposure=label), CATALOG, STARTS)
    assert factor_values(grading)["exposure"] == value
    assert grading.notes == []


def test_unknown_exposure_label_is_ignored_with_a_note() -> None:
    grading = grade(checkout(exposure="public"), CATALOG, STARTS)
    assert factor_values(grading)["exposure"] == 0.7  # checkout: customer
    assert any("'public'" in note and "exposure" in note for note in grading.notes)


def test_data_leak_has_data_exposure() -> None:
    grading = grade(checkout(type="data_leak"), CATALOG, STARTS)
    factor = grading.factors[3]
    assert factor.value == 1.0
    assert "data-leak" in factor.basis


def test_exposure_label_wins_over_data_leak_type() -> None:
    grading = grade(checkout(type="data_leak", exposure="internal"), CATALOG, STARTS)
    assert factor_values(grading)["exposure"] == 0.2


# -------------------------------------------------------------------------------- timeliness


@pytest.mark.parametrize(
    ("after", "value"),
    [
        (timedelta(0), 0.0),
        (timedelta(minutes=15), 0.5),  # checkout usually takes 30m
        (timedelta(minutes=30), 1.0),
        (timedelta(days=3), 1.0),
        (timedelta(minutes=-5), 0.0),  # clock skew: now before startsAt
    ],
)
def test_timeliness_grows_with_how_long_the_alert_has_fired(after: timedelta, value: float) -> None:
    grading = grade(checkout(), CATALOG, STARTS + after)
    assert factor_values(grading)["timeliness"] == value


def test_long_firing_checkout_without_level_label_rises_from_b_to_a() -> None:
    alert = checkout("level")
    early = grade(alert, CATALOG, STARTS)
    late = grade(alert, CATALOG, STARTS + timedelta(hours=1))
    assert (early.level, early.rule) == (Level.B, "score")
    assert (late.level, late.rule) == (Level.A, "score")
    assert late.score > early.score


# --------------------------------------------------------------------------------- level_for


def test_level_for_thresholds_are_inclusive() -> None:
    a, b = CATALOG.thresholds.A, CATALOG.thresholds.B
    assert level_for(1.0, CATALOG) is Level.A
    assert level_for(a, CATALOG) is Level.A
    assert level_for(a - 0.0001, CATALOG) is Level.B
    assert level_for(b, CATALOG) is Level.B
    assert level_for(b - 0.0001, CATALOG) is Level.C
    assert level_for(0.0, CATALOG) is Level.C


# ----------------------------------------------------------------------- weighted_score


def test_weighted_score_extremes_and_missing_factors() -> None:
    assert weighted_score(dict.fromkeys(WEIGHTS, 1.0)) == 1.0
    assert weighted_score(dict.fromkeys(WEIGHTS, 0.0)) == 0.0
    assert weighted_score({}) == 0.0
    assert weighted_score({"affected_users": 1.0}) == 0.4
    assert weighted_score({"exposure": 1.0, "unrelated": 1.0}) == 0.1
    assert weighted_score({"criticality": 5.0, "timeliness": -5.0}) == 0.3


# ---------------------------------------------------------------- most_serious / grade_firing


def test_most_serious_takes_the_highest_level_then_the_highest_score() -> None:
    now = STARTS
    labelled_c = grade(checkout(level="C", affected_users="1000000"), CATALOG, now)
    scored_b = grade(checkout("level", affected_ratio="0.5"), CATALOG, now)
    scored_b_higher = grade(checkout("level"), CATALOG, now)
    assert scored_b.level is scored_b_higher.level is Level.B
    assert scored_b_higher.score > scored_b.score
    assert labelled_c.score >= CATALOG.thresholds.A  # would be A by score
    assert most_serious([labelled_c, scored_b, scored_b_higher]) is scored_b_higher
    assert most_serious([]) is None


def test_grade_firing_skips_resolved_alerts() -> None:
    firing = payload("support-chat-firing").alerts
    resolved = payload("support-chat-resolved").alerts
    gradings = grade_firing([*firing, *resolved], CATALOG, STARTS)
    assert len(gradings) == len(firing)
    assert grade_firing(resolved, CATALOG, STARTS) == []


# ------------------------------------------------------------------------------ properties

any_float = st.floats(allow_nan=True, allow_infinity=True)
ordered_float = st.floats(allow_nan=False, allow_infinity=True)
factor_dicts = st.fixed_dictionaries({name: any_float for name in WEIGHTS})

LABEL_KEYS = ["affected_users", "affected_ratio", "exposure", "service", "type", "level"]
meaningful_values = st.sampled_from(
    [
        *("A", "b", " c ", "P1", "", "0", "-0", "-3", "0.25", "1.5", "1e400", "nan", "inf"),
        *("lots", "data", "customer", "internal", "public"),
        *("checkout", "support-chat", "customer-data", "billing"),
        *("data_leak", "service_outage", "major_product_incident", "outage"),
    ]
)
label_values = st.one_of(
    meaningful_values,
    # An explicit alphabet: also odd whitespace and digits, without building Hypothesis's
    # whole-Unicode table on a fresh checkout (slow enough to fail its health check).
    st.text(alphabet=string.printable + "\u00e9\u00df\u00a0\u2003\u3000\uff21\u0663", max_size=20),
    st.integers(min_value=-(10**9), max_value=10**12).map(str),
    st.floats().map(repr),
)
label_dicts = st.dictionaries(st.sampled_from(LABEL_KEYS), label_values)
nows = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
levels = st.sampled_from(["A", "B", "C", "a", " b", "c "])


@given(factor_dicts)
def test_weighted_score_is_always_between_zero_and_one(values: dict[str, float]) -> None:
    score = weighted_score(values)
    assert not math.isnan(score)
    assert 0.0 <= score <= 1.0


@given(factor_dicts, st.sampled_from(list(WEIGHTS)), ordered_float, ordered_float)
def test_weighted_score_never_falls_when_one_factor_rises(
    values: dict[str, float], name: str, x: float, y: float
) -> None:
    low, high = min(x, y), max(x, y)
    assert weighted_score({**values, name: low}) <= weighted_score({**values, name: high})


@given(label_dicts, nows)
def test_grade_score_is_always_between_zero_and_one(labels: dict[str, str], now: datetime) -> None:
    grading = grade(alert_with(labels), CATALOG, now)
    assert 0.0 <= grading.score <= 1.0
    assert [f.name for f in grading.factors] == FACTOR_NAMES
    assert all(0.0 <= f.value <= 1.0 for f in grading.factors)
    if grading.rule == "score":
        assert grading.level is level_for(grading.score, CATALOG)


@given(label_dicts, levels, nows)
def test_a_valid_level_label_always_wins(labels: dict[str, str], level: str, now: datetime) -> None:
    grading = grade(alert_with({**labels, "level": level}), CATALOG, now)
    assert grading.level == level.strip().upper()
    assert grading.rule == "label"


@given(
    label_dicts,
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=10**9),
    nows,
)
def test_more_affected_users_never_lowers_score_or_level(
    labels: dict[str, str], x: int, y: int, now: datetime
) -> None:
    fewer, more = min(x, y), max(x, y)
    low = grade(alert_with({**labels, "affected_users": str(fewer)}), CATALOG, now)
    high = grade(alert_with({**labels, "affected_users": str(more)}), CATALOG, now)
    assert low.score <= high.score
    assert low.level.rank <= high.level.rank


@given(label_dicts, nows, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)))
def test_a_later_now_never_lowers_the_score(
    labels: dict[str, str], now: datetime, later_by: timedelta
) -> None:
    alert = alert_with(labels)
    earlier = grade(alert, CATALOG, now)
    later = grade(alert, CATALOG, now + later_by)
    assert earlier.score <= later.score
    assert earlier.level.rank <= later.level.rank
