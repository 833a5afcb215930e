"""The Alertmanager v4 webhook payload: real notifications parse, malformed ones are rejected
with an error naming the field, and the identities tocsin derives (group, dedup key) behave."""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.models import MAX_LABELS, AlertStatus, WebhookPayload
from tests.alert_payloads import payload, raw, starting_at

FIXTURE_NAMES = [
    "checkout-firing",
    "checkout-resolved",
    "support-chat-firing",
    "support-chat-resolved",
]
STARTS = datetime(2026, 11, 23, 8, 58, 58, 189000, tzinfo=UTC)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_captured_notification_parses(name: str) -> None:
    data = raw(name)
    parsed = WebhookPayload.model_validate(data)
    assert parsed.version == "4"
    assert parsed.receiver == "tocsin"
    assert parsed.status == AlertStatus(data["status"])
    assert len(parsed.alerts) == len(data["alerts"])
    assert [a.fingerprint for a in parsed.alerts] == [a["fingerprint"] for a in data["alerts"]]
    assert all(a.startsAt == STARTS for a in parsed.alerts)


def test_go_zero_end_time_of_a_firing_alert_is_no_end() -> None:
    data = raw("checkout-firing")
    assert data["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    alert = payload("checkout-firing").alerts[0]
    assert alert.status is AlertStatus.FIRING
    assert alert.endsAt is None


def test_resolved_alert_keeps_its_real_end_time() -> None:
    alert = payload("checkout-resolved").alerts[0]
    assert alert.status is AlertStatus.RESOLVED
    assert alert.endsAt == datetime(2026, 11, 23, 8, 59, 5, 189000, tzinfo=UTC)


def test_alert_name_comes_from_alertname_label() -> None:
    assert payload("checkout-firing").alerts[0].name == "CheckoutSuccessRatioLow"
    data = raw("checkout-firing")
    del data["alerts"][0]["labels"]["alertname"]
    assert WebhookPayload.model_validate(data).alerts[0].name == "unnamed alert"


# ------------------------------------------------------------------------------- group_id


def test_group_id_is_short_stable_and_shared_by_firing_and_resolved() -> None:
    firing = payload("checkout-firing").group_id
    assert len(firing) == 8
    assert set(firing) <= set(string.ascii_lowercase + string.digits)
    assert payload("checkout-firing").group_id == firing
    # The resolved notification of the same group must land on the same incident.
    assert payload("checkout-resolved").group_id == firing


def test_group_id_differs_between_groups() -> None:
    assert payload("checkout-firing").group_id != payload("support-chat-firing").group_id


def test_group_id_differs_for_another_receiver() -> None:
    data = raw("checkout-firing")
    data["receiver"] = "tocsin-secondary"
    assert WebhookPayload.model_validate(data).group_id != payload("checkout-firing").group_id


def test_group_id_differs_for_another_group_key() -> None:
    data = raw("checkout-firing")
    data["groupKey"] = data["groupKey"].replace("checkout", "checkout-eu")
    assert WebhookPayload.model_validate(data).group_id != payload("checkout-firing").group_id


def test_group_id_does_not_confuse_receiver_and_group_key_boundaries() -> None:
    one = raw("checkout-firing")
    one["receiver"], one["groupKey"] = "ab", "c"
    two = raw("checkout-firing")
    two["receiver"], two["groupKey"] = "a", "bc"
    assert (
        WebhookPayload.model_validate(one).group_id != WebhookPayload.model_validate(two).group_id
    )


# -------------------------------------------------------------------------- unknown fields


def test_unknown_fields_are_ignored() -> None:
    data = raw("support-chat-firing")
    data["newTopLevelField"] = {"added": "in a later Alertmanager"}
    data["alerts"][0]["silencedBy"] = ["abc"]
    parsed = WebhookPayload.model_validate(data)
    assert parsed == payload("support-chat-firing")
    assert "newTopLevelField" not in parsed.model_dump()
    assert "silencedBy" not in parsed.alerts[0].model_dump()


# ------------------------------------------------------------------------ validation errors


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target: Any = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def _delete(path: tuple[str | int, ...]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target: Any = data
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return change


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        pytest.param(_set(("version",), "3"), ("version",), id="version-3"),
        pytest.param(_delete(("groupKey",)), ("groupKey",), id="missing-groupKey"),
        pytest.param(_set(("groupKey",), ""), ("groupKey",), id="empty-groupKey"),
        pytest.param(
            _set(("alerts", 0, "status"), "pending"), ("alerts", 0, "status"), id="alert-pending"
        ),
        pytest.param(_set(("status",), "pending"), ("status",), id="top-status-pending"),
        pytest.param(_set(("alerts",), []), ("alerts",), id="no-alerts"),
        pytest.param(
            _delete(("alerts", 0, "fingerprint")),
            ("alerts", 0, "fingerprint"),
            id="missing-fingerprint",
        ),
        pytest.param(
            _set(("alerts", 0, "startsAt"), "2026-11-23T08:58:58.189"),
            ("alerts", 0, "startsAt"),
            id="naive-startsAt",
        ),
        pytest.param(
            _set(("alerts", 0, "labels"), {f"l{i}": "x" for i in range(MAX_LABELS + 1)}),
            ("alerts", 0, "labels"),
            id="too-many-labels",
        ),
    ],
)
def test_malformed_notification_is_rejected_naming_the_field(
    change: Callable[[dict[str, Any]], None], loc: tuple[str | int, ...]
) -> None:
    data = raw("checkout-firing")
    change(data)
    with pytest.raises(ValidationError) as exc:
        WebhookPayload.model_validate(data)
    errors = exc.value.errors()
    assert len(errors) == 1
    assert errors[0]["loc"] == loc


def test_second_alert_error_names_its_index() -> None:
    data = raw("support-chat-firing")
    data["alerts"][1]["status"] = "pending"
    with pytest.raises(ValidationError) as exc:
        WebhookPayload.model_validate(data)
    assert exc.value.errors()[0]["loc"] == ("alerts", 1, "status")


# ----------------------------------------------------------------------------- dedup_key


def test_dedup_key_is_equal_for_identical_deliveries() -> None:
    # Alertmanager resends on every group interval; an HA pair sends everything twice.
    first = payload("checkout-firing").alerts[0]
    again = payload("checkout-firing").alerts[0]
    assert first.dedup_key == again.dedup_key


def test_dedup_key_differs_by_status() -> None:
    firing = payload("checkout-firing").alerts[0]
    resolved = payload("checkout-resolved").alerts[0]
    assert firing.fingerprint == resolved.fingerprint
    assert firing.dedup_key != resolved.dedup_key


def test_dedup_key_differs_for_a_new_occurrence() -> None:
    first = payload("checkout-firing").alerts[0]
    later = starting_at(raw("checkout-firing"), STARTS + timedelta(hours=2))
    second = WebhookPayload.model_validate(later).alerts[0]
    assert first.fingerprint == second.fingerprint
    assert first.dedup_key != second.dedup_key


def test_dedup_key_differs_between_alerts_of_one_group() -> None:
    app, web = payload("support-chat-firing").alerts
    assert app.dedup_key != web.dedup_key
