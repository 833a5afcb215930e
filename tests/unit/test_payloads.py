"""What a worker holds per cached workflow: the decoded playbooks are one instance per
content, and the payload converters the SDK makes per workflow share their TypeAdapters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from domain.models import Actor, Incident, IncidentType, Level
from domain.playbook import PlaybookSet
from playbooks.base import DEFAULT_DIR
from playbooks.loader import load_playbooks
from tocsin.settings import Settings
from workflows.connect import _JSON, data_converter
from workflows.incident.models import IncidentInput, NotifyResult
from workflows.statements.models import StatementsInput

ALICE = Actor(name="Alice", slack_user_id="U0ALICE01")


def opening(playbooks: PlaybookSet, incident_id: str) -> IncidentInput:
    return IncidentInput(
        incident_id=incident_id,
        title="Checkout failing",
        level=Level.B,
        type=IncidentType.SERVICE_OUTAGE,
        declared_by=ALICE,
        playbooks=playbooks,
    )


def incident(incident_id: str) -> Incident:
    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    return Incident(
        id=incident_id,
        title="Checkout failing",
        level=Level.B,
        type=IncidentType.SERVICE_OUTAGE,
        declared_at=now,
        declared_by=ALICE.name,
        ack_deadline=now + timedelta(minutes=30),
        response_window_seconds=1800,
    )


def decoded(payload: Payload) -> IncidentInput:
    """As the SDK decodes a workflow's input: with a converter of the workflow's own."""
    [value] = data_converter._new_payload_converter().from_payloads([payload], [IncidentInput])
    assert isinstance(value, IncidentInput)
    return value


def encoded(value: IncidentInput) -> Payload:
    [payload] = data_converter.payload_converter.to_payloads([value])
    return payload


def test_incidents_started_under_the_same_playbooks_share_one_decoded_set() -> None:
    playbooks = load_playbooks(DEFAULT_DIR)
    first = decoded(encoded(opening(playbooks, "inc-1")))
    second = decoded(encoded(opening(playbooks, "inc-2")))
    assert first.incident_id == "inc-1"
    assert second.incident_id == "inc-2"
    assert first.playbooks is second.playbooks
    assert first.playbooks == playbooks


def test_other_playbooks_decode_to_their_own_set() -> None:
    playbooks = load_playbooks(DEFAULT_DIR)
    edited = PlaybookSet.model_validate(
        {**playbooks.model_dump(), "partner_targets": {"acme-dns": "15m"}}
    )
    first = decoded(encoded(opening(playbooks, "inc-1")))
    other = decoded(encoded(opening(edited, "inc-2")))
    assert other.playbooks is not first.playbooks
    assert other.playbooks == edited
    assert other.playbooks != first.playbooks


def test_statements_workflows_of_one_playbook_set_share_its_customer_policies() -> None:
    """Each incident's statements workflow carries its levels' customer policies: equal ones
    decode to one instance, the one the playbooks decoded to."""
    playbooks = decoded(encoded(opening(load_playbooks(DEFAULT_DIR), "inc-1"))).playbooks
    policies = {level: pb.customers for level, pb in playbooks.levels.items()}
    converter = data_converter.payload_converter

    def statements(incident_id: str) -> StatementsInput:
        [payload] = converter.to_payloads(
            [StatementsInput(incident=incident(incident_id), policies=policies)]
        )
        [value] = data_converter._new_payload_converter().from_payloads(
            [payload], [StatementsInput]
        )
        assert isinstance(value, StatementsInput)
        return value

    first, second = statements("inc-1"), statements("inc-2")
    for level, policy in policies.items():
        assert first.policies[level] is second.policies[level] is policy


def test_playbooks_built_in_python_are_not_shared() -> None:
    data = load_playbooks(DEFAULT_DIR).model_dump()
    assert PlaybookSet.model_validate(data) is not PlaybookSet.model_validate(data)


def test_each_workflows_converter_decodes_with_the_same_type_adapter() -> None:
    [payload] = data_converter.payload_converter.to_payloads([NotifyResult()])
    before = _JSON._type_adapter.cache_info()
    for _ in range(3):
        data_converter._new_payload_converter().from_payloads([payload], [NotifyResult])
    after = _JSON._type_adapter.cache_info()
    assert after.hits - before.hits >= 2
    assert after.currsize - before.currsize <= 1


def test_the_workflow_cache_of_each_worker_is_a_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_DATA_DIR", str(tmp_path))
    assert Settings().worker_config().cached_workflows == 20
    monkeypatch.setenv("TOCSIN_WORKER_CACHED_WORKFLOWS", "1000")
    assert Settings().worker_config().cached_workflows == 1000
