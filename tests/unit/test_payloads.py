"""What a worker holds per cached workflow: the decoded playbooks are one instance per
content, and the payload converters the SDK makes per workflow share their TypeAdapters."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from domain.models import Actor, IncidentType, Level
from domain.playbook import PlaybookSet
from playbooks.base import DEFAULT_DIR
from playbooks.loader import load_playbooks
from tocsin.settings import Settings
from workflows.connect import _JSON, data_converter
from workflows.incident.models import IncidentInput, NotifyResult

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
    assert Settings().worker_config().cached_workflows == 200
    monkeypatch.setenv("TOCSIN_WORKER_CACHED_WORKFLOWS", "1000")
    assert Settings().worker_config().cached_workflows == 1000
