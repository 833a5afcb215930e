"""The service catalog: the shipped file loads, and a broken one is refused with a message
naming the file and what is wrong (``tocsin up`` prints it and stops)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.catalog import DEFAULT_FILE, CatalogError, Criticality, Exposure, load_catalog
from domain.models import Function, IncidentType


def shipped() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    return data


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "services.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_shipped_catalog_loads() -> None:
    catalog = load_catalog()
    assert catalog.total_users == 1_000_000
    assert (catalog.thresholds.A, catalog.thresholds.B) == (0.75, 0.45)
    assert set(catalog.services) >= {"checkout", "support-chat", "customer-data"}
    checkout = catalog.services["checkout"]
    assert checkout.criticality is Criticality.CORE
    assert checkout.exposure is Exposure.CUSTOMER
    assert checkout.owner is Function.TECHNICAL_SUPPORT
    assert checkout.usual_handling_time == timedelta(minutes=30)
    assert catalog.services["customer-data"].default_type is IncidentType.DATA_LEAK


def test_lookup_falls_back_to_the_default_entry() -> None:
    catalog = load_catalog()
    assert catalog.lookup("checkout") == (catalog.services["checkout"], True)
    assert catalog.lookup("billing") == (catalog.default, False)
    assert catalog.lookup(None) == (catalog.default, False)


def test_a_copy_of_the_shipped_catalog_loads_from_another_path(tmp_path: Path) -> None:
    assert load_catalog(write(tmp_path, shipped())) == load_catalog()


def test_b_threshold_not_below_a_is_refused(tmp_path: Path) -> None:
    data = shipped()
    data["thresholds"] = {"A": 0.5, "B": 0.5}
    path = write(tmp_path, data)
    with pytest.raises(CatalogError) as exc:
        load_catalog(path)
    message = str(exc.value)
    assert str(path) in message
    assert "thresholds" in message
    assert "must be below A" in message


def test_unknown_criticality_is_refused(tmp_path: Path) -> None:
    data = shipped()
    data["services"]["checkout"]["criticality"] = "vital"
    path = write(tmp_path, data)
    with pytest.raises(CatalogError) as exc:
        load_catalog(path)
    message = str(exc.value)
    assert str(path) in message
    assert "services.checkout.criticality" in message


def test_missing_total_users_is_refused(tmp_path: Path) -> None:
    data = shipped()
    del data["total_users"]
    path = write(tmp_path, data)
    with pytest.raises(CatalogError) as exc:
        load_catalog(path)
    message = str(exc.value)
    assert str(path) in message
    assert "total_users: Field required" in message


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    data = shipped()
    data["services"]["checkout"]["critcality"] = "core"
    path = write(tmp_path, data)
    with pytest.raises(CatalogError, match=r"services\.checkout\.critcality"):
        load_catalog(path)


def test_invalid_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "services.yaml"
    path.write_text("total_users: [1000\nthresholds: {A: 0.7\n", encoding="utf-8")
    with pytest.raises(CatalogError) as exc:
        load_catalog(path)
    message = str(exc.value)
    assert str(path) in message
    assert "not valid YAML" in message


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "services.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(CatalogError) as exc:
        load_catalog(path)
    assert str(path) in str(exc.value)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(CatalogError) as exc:
        load_catalog(path)
    message = str(exc.value)
    assert str(path) in message
    assert "cannot read" in message


def test_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "services.yaml"
    path.write_bytes("total_users: 1000\n# caf\u00e9\n".encode("latin-1"))
    with pytest.raises(CatalogError) as exc:
        load_catalog(path)
    message = str(exc.value)
    assert str(path) in message
    assert "not UTF-8" in message
