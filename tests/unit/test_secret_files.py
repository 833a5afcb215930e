"""Secrets from files: compose hands the Alertmanager webhook's token to Alertmanager and the
API as one secret file, so the two can never disagree."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tocsin.cli import app
from tocsin.settings import Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("TOCSIN_INTAKE_TOKEN", "TOCSIN_INTAKE_TOKEN_FILE", "TOCSIN_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TOCSIN_DATA_DIR", str(tmp_path / "data"))


def test_the_intake_token_is_read_from_the_named_file(tmp_path: Path) -> None:
    secret = tmp_path / "tocsin_intake_token"
    secret.write_text("s3cret-from-a-file\n", encoding="utf-8")
    # A token the data directory also holds loses: the named file is the deployment's secret.
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "intake-token").write_text("stale", encoding="utf-8")

    token = Settings(intake_token_file=secret).resolved_intake_token()

    assert token is not None
    assert token.get_secret_value() == "s3cret-from-a-file"


def test_the_api_refuses_to_start_when_the_named_token_file_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere" / "tocsin_intake_token"
    monkeypatch.setenv("TOCSIN_API_TOKEN", "an-api-token-0123456789")
    monkeypatch.setenv("TOCSIN_INTAKE_TOKEN_FILE", str(missing))

    result = CliRunner().invoke(app, ["api"])

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: TOCSIN_INTAKE_TOKEN_FILE names {missing}, which is missing or empty: "
        "write the Alertmanager webhook's token there"
    ]
