"""The ``tocsin`` commands that talk to the API, against a stand-in HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import typer
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

from api.schemas.incidents import IncidentList, IncidentOut, Timeline
from domain.models import EventKind, Incident, IncidentType, Level, Status, TimelineEvent
from testkit.processes import free_port
from tocsin.cli import app

TOKEN = "file-token-123"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeApi:
    url: str
    routes: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def reply(self, method: str, path: str, status: int, body: Any) -> None:
        self.routes[(method, path)] = (status, body)


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            api.seen.append(
                Seen(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw) if raw else None,
                )
            )
            status, body = api.routes.get(
                (self.command, parts.path), (404, {"detail": "Not Found"})
            )
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    api = FakeApi(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TOCSIN_API_TOKEN", "TOCSIN_API_URL", "TOCSIN_DATA_DIR", "TOCSIN_PLAYBOOKS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USER", "ada")
    (tmp_path / "api-token").write_text(TOKEN + "\n", encoding="utf-8")
    return tmp_path


runner = CliRunner()


def _incident(**changes: Any) -> Incident:
    declared = datetime.now(UTC) - timedelta(minutes=3)
    base = Incident(
        id="20261123-k7qz",
        title="Checkout is down",
        level=Level.A,
        type=IncidentType.SERVICE_OUTAGE,
        declared_at=declared,
        declared_by="ada",
        ack_deadline=declared + timedelta(minutes=15),
        response_window_seconds=900,
    )
    return base.model_copy(update=changes)


def _out(incident: Incident) -> Any:
    return IncidentOut.of(incident, datetime.now(UTC)).model_dump(mode="json")


def _invoke(api: FakeApi, data_dir: Path, *args: str) -> Any:
    return runner.invoke(app, ["--api-url", api.url, "--data-dir", str(data_dir), *args])


def test_incidents_lists_open_incidents_as_a_table(fake_api: FakeApi, data_dir: Path) -> None:
    open_one = _incident()
    acked = _incident(
        id="20261123-ab23",
        title="Refunds fail for card payments",
        level=Level.B,
        status=Status.ACKNOWLEDGED,
        acknowledged_at=datetime.now(UTC),
        acknowledged_by="ben",
    )
    body = IncidentList(items=[_out(open_one), _out(acked)], total=2)
    fake_api.reply("GET", "/api/v1/incidents", 200, body.model_dump(mode="json"))

    result = _invoke(fake_api, data_dir, "incidents")

    assert result.exit_code == 0, result.output
    header, first, second = result.stdout.splitlines()
    assert header.split() == [
        "ID", "LEVEL", "STATUS", "TITLE", "DECLARED", "(UTC)", "ACK", "BY", "(LEFT)", "ACKED", "BY"
    ]  # fmt: skip
    deadline = f"{open_one.ack_deadline:%H:%M:%S}"
    assert first.startswith("20261123-k7qz  A      triggered     Checkout is down")
    assert f"{deadline} (11m " in first or f"{deadline} (12m " in first
    assert first.endswith("-")
    assert second.startswith("20261123-ab23  B      acknowledged  Refunds fail for card payments")
    assert second.endswith("ben")
    (request,) = fake_api.seen
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.query == {"status": ["triggered", "acknowledged", "mitigated"]}


def test_incidents_all_asks_for_every_status_and_says_when_there_are_none(
    fake_api: FakeApi, data_dir: Path
) -> None:
    fake_api.reply("GET", "/api/v1/incidents", 200, {"items": [], "total": 0})

    result = _invoke(fake_api, data_dir, "incidents", "--all")

    assert result.exit_code == 0
    assert result.stdout.strip() == "no incidents"
    assert fake_api.seen[0].query == {}


def test_incidents_json_prints_the_api_answer_for_scripts(
    fake_api: FakeApi, data_dir: Path
) -> None:
    body = IncidentList(items=[_out(_incident())], total=1).model_dump(mode="json")
    fake_api.reply("GET", "/api/v1/incidents", 200, body)

    result = _invoke(fake_api, data_dir, "--json", "incidents")

    assert result.exit_code == 0
    assert json.loads(result.stdout) == body


def test_declare_sends_the_incident_and_prints_its_deadline(
    fake_api: FakeApi, data_dir: Path
) -> None:
    incident = _incident(service="checkout")
    fake_api.reply("POST", "/api/v1/incidents", 201, _out(incident))

    result = _invoke(
        fake_api,
        data_dir,
        "declare",
        "Checkout is down",
        "--level",
        "A",
        "--type",
        "service_outage",
        "--service",
        "checkout",
    )

    assert result.exit_code == 0, result.output
    assert fake_api.seen[0].body == {
        "title": "Checkout is down",
        "level": "A",
        "type": "service_outage",
        "description": "",
        "service": "checkout",
        "by": "ada",
    }
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines() if line.strip())
    assert lines["id"].strip() == "20261123-k7qz"
    assert lines["status"].strip() == "triggered"
    assert f"{incident.ack_deadline:%Y-%m-%d %H:%M:%S} UTC" in result.stdout
    assert "time left" in result.stdout


def test_ack_sends_who_acknowledged(fake_api: FakeApi, data_dir: Path) -> None:
    acked = _incident(
        status=Status.ACKNOWLEDGED, acknowledged_at=datetime.now(UTC), acknowledged_by="chen"
    )
    fake_api.reply("POST", "/api/v1/incidents/20261123-k7qz/ack", 200, _out(acked))

    result = _invoke(fake_api, data_dir, "ack", "20261123-k7qz", "--by", "chen")

    assert result.exit_code == 0
    assert fake_api.seen[0].body == {"by": "chen"}
    assert "by chen" in result.stdout
    assert "time left" not in result.stdout


def test_ack_of_several_ids_answers_each_on_its_own_line_and_fails_if_any_is_refused(
    fake_api: FakeApi, data_dir: Path
) -> None:
    acked = _incident(
        status=Status.ACKNOWLEDGED, acknowledged_at=datetime.now(UTC), acknowledged_by="chen"
    )
    fake_api.reply("POST", "/api/v1/incidents/20261123-k7qz/ack", 200, _out(acked))
    refusal = "incident 20261123-ab23 was already acknowledged by ben"
    fake_api.reply("POST", "/api/v1/incidents/20261123-ab23/ack", 409, {"detail": refusal})
    other = acked.model_copy(update={"id": "20261123-cd45"})
    fake_api.reply("POST", "/api/v1/incidents/20261123-cd45/ack", 200, _out(other))

    result = _invoke(
        fake_api, data_dir, "ack", "20261123-k7qz", "20261123-ab23", "20261123-cd45", "--by", "chen"
    )

    assert result.exit_code == 1
    assert [s.path for s in fake_api.seen] == [
        "/api/v1/incidents/20261123-k7qz/ack",
        "/api/v1/incidents/20261123-ab23/ack",
        "/api/v1/incidents/20261123-cd45/ack",
    ]
    first, second = result.stdout.splitlines()
    assert first.startswith("20261123-k7qz  acknowledged at ")
    assert first.endswith(" by chen")
    assert second.startswith("20261123-cd45  acknowledged at ")
    assert result.stderr.strip() == f"20261123-ab23  refused: {refusal}"


def test_api_error_prints_its_detail_and_exits_1(fake_api: FakeApi, data_dir: Path) -> None:
    detail = "incident 20261123-k7qz was already acknowledged by ben"
    fake_api.reply("POST", "/api/v1/incidents/20261123-k7qz/ack", 409, {"detail": detail})

    result = _invoke(fake_api, data_dir, "ack", "20261123-k7qz")

    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {detail}"
    assert "Traceback" not in result.output


def test_validation_error_names_the_fields(fake_api: FakeApi, data_dir: Path) -> None:
    detail = [
        {"type": "string_too_short", "loc": ["body", "reason"], "msg": "String too short"},
        {"type": "missing", "loc": ["body", "by"], "msg": "Field required"},
    ]
    fake_api.reply("POST", "/api/v1/incidents/20261123-k7qz/level", 422, {"detail": detail})

    result = _invoke(fake_api, data_dir, "level", "20261123-k7qz", "B", "--reason", " ")

    assert result.exit_code == 1
    assert result.stderr.strip() == "error: reason: String too short; by: Field required"


def test_unknown_incident_is_a_clear_error(fake_api: FakeApi, data_dir: Path) -> None:
    result = _invoke(fake_api, data_dir, "show", "nope")

    assert result.exit_code == 1
    assert result.stderr.strip() == "error: Not Found"


def test_unreachable_api_says_so_without_a_traceback(data_dir: Path) -> None:
    port = free_port()  # nothing listens there
    result = runner.invoke(
        app, ["--api-url", f"http://127.0.0.1:{port}", "--data-dir", str(data_dir), "incidents"]
    )

    assert result.exit_code == 1
    assert f"cannot reach the tocsin API at http://127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.output


def test_token_option_wins_over_the_token_file(fake_api: FakeApi, data_dir: Path) -> None:
    fake_api.reply("GET", "/api/v1/incidents", 200, {"items": [], "total": 0})

    result = _invoke(fake_api, data_dir, "--token", "from-option", "incidents")

    assert result.exit_code == 0
    assert fake_api.seen[0].headers["authorization"] == "Bearer from-option"


@pytest.mark.parametrize("level", ["D", "a"])
def test_a_level_the_api_would_refuse_is_refused_before_any_request(
    fake_api: FakeApi, data_dir: Path, level: str
) -> None:
    result = _invoke(
        fake_api, data_dir, "declare", "x", "--level", level, "--type", "service_outage"
    )

    assert result.exit_code == 2
    assert "--level" in result.stderr
    assert fake_api.seen == []


def test_declare_drill_and_incident_filters_mirror_the_api(
    fake_api: FakeApi, data_dir: Path
) -> None:
    fake_api.reply("POST", "/api/v1/incidents", 201, _out(_incident(drill=True)))
    fake_api.reply("GET", "/api/v1/incidents", 200, {"items": [], "total": 0})

    declared = _invoke(
        fake_api, data_dir, "declare", "Practice", "-l", "C", "-t", "service_outage", "--drill"
    )
    listed = _invoke(
        fake_api,
        data_dir,
        *("incidents", "--level", "B", "--status", "triggered", "--status", "mitigated"),
        "--no-drill",
    )

    assert declared.exit_code == 0, declared.output
    assert "(drill)" in declared.stdout
    assert fake_api.seen[0].body["drill"] is True
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.strip() == "no incidents"
    assert fake_api.seen[1].query == {
        "status": ["triggered", "mitigated"],
        "level": ["B"],
        "drill": ["false"],
    }


def test_without_a_token_it_says_where_it_looked(fake_api: FakeApi, tmp_path: Path) -> None:
    empty = tmp_path / "elsewhere"

    result = _invoke(fake_api, empty, "incidents")

    assert result.exit_code == 1
    assert "no API token" in result.stderr
    assert str(empty.resolve() / "api-token") in result.stderr.replace("\n", "")
    assert fake_api.seen == []


def test_timeline_prints_events_in_order(fake_api: FakeApi, data_dir: Path) -> None:
    at = datetime(2026, 11, 23, 10, 2, 0, tzinfo=UTC)
    events = [
        TimelineEvent(
            incident_id="i", seq=1, at=at, kind=EventKind.DECLARED, actor="ada", text="declared"
        ),
        TimelineEvent(
            incident_id="i",
            seq=2,
            at=at + timedelta(minutes=15),
            kind=EventKind.BREACHED,
            text="window passed",
        ),
        TimelineEvent(
            incident_id="i",
            seq=3,
            at=at + timedelta(minutes=16),
            kind=EventKind.STATEMENT_PUBLISHED,  # the longest kind: the column fits it
            actor="Gil",
            text="published",
        ),
    ]
    body = Timeline(items=events).model_dump(mode="json")
    fake_api.reply("GET", "/api/v1/incidents/i/timeline", 200, body)

    result = _invoke(fake_api, data_dir, "timeline", "i")

    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "2026-11-23 10:02:00  declared             [ada] declared",
        "2026-11-23 10:17:00  breached             window passed",
        "2026-11-23 10:18:00  statement_published  [Gil] published",
    ]


def _help(*command: str) -> str:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize(
    "command", [(), ("declare",), ("incidents",), ("classify",), ("drill", "report")]
)
def test_flags_do_not_show_a_value_they_do_not_take(command: tuple[str, ...]) -> None:
    shown = _help(*command)

    assert "--help" in shown
    assert "<bool>" not in shown


def _option_line(shown: str, option: str) -> str:
    (line,) = [line for line in shown.splitlines() if f" {option} " in line]
    return line


def test_classify_offers_the_levels_and_types_as_declare_does() -> None:
    declare, classify = _help("declare"), _help("classify")
    types = "<service_outage|data_leak|major_product_incident>"

    for shown in (declare, classify):
        assert "<A|B|C>" in _option_line(shown, "--level")
        assert types in _option_line(shown, "--type").replace("│", "").replace(" ", "")
    assert "the incident's type" in _option_line(declare, "--type")


def test_classify_tells_a_real_incident_to_use_tocsin_level(
    fake_api: FakeApi, data_dir: Path
) -> None:
    detail = (
        "20261123-k7qz is not a drill incident: classifications score drills; change a real "
        "incident's level with `tocsin level 20261123-k7qz B --reason ...` "
        "(POST /api/v1/incidents/20261123-k7qz/level)"
    )
    fake_api.reply("POST", "/api/v1/incidents/20261123-k7qz/classify", 409, {"detail": detail})

    result = _invoke(
        fake_api, data_dir, "classify", "20261123-k7qz", "--level", "b", "--type", "data_leak"
    )

    assert result.exit_code == 1
    assert fake_api.seen[0].body["level"] == "B"
    assert "`tocsin level 20261123-k7qz B --reason ...`" in result.stderr


def test_playbooks_validate_summarises_a_valid_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOCSIN_PLAYBOOKS_DIR", raising=False)

    result = runner.invoke(app, ["playbooks", "validate"])

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].endswith(": OK")
    assert "level A: Company-wide emergency: acknowledge within 15m" in lines[1]
    assert "acknowledge within 30m" in lines[2]
    assert "acknowledge within 1h" in lines[3]


def test_playbooks_validate_lists_problems_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "level-a.yaml").write_text("level: A\nresponse_window: soon\n", encoding="utf-8")

    result = runner.invoke(app, ["playbooks", "validate", str(tmp_path)])

    assert result.exit_code == 1
    assert f"{tmp_path / 'level-a.yaml'}: response_window: " in result.stderr
    assert f"{tmp_path / 'level-b.yaml'}: file is missing" in result.stderr
    assert f"{tmp_path / 'roster.yaml'}: file is missing" in result.stderr


def _commands(command: Any, path: str = "tocsin") -> Iterator[tuple[str, Any]]:
    yield path, command
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from _commands(sub, f"{path} {name}")


def test_every_command_that_writes_a_file_takes_out_or_o() -> None:
    written = {
        path: option.opts
        for path, command in _commands(typer.main.get_command(app))
        for option in command.params
        if isinstance(option, TyperOption) and ({"-o", "--out", "--output"} & set(option.opts))
    }

    assert written  # the review export, the quarterly digest and the drill report at least
    assert {path: sorted(opts) for path, opts in written.items()} == {
        path: ["--out", "-o"] for path in written
    }


def test_tokens_list_shows_the_bootstrap_token_with_the_named_ones(
    fake_api: FakeApi, data_dir: Path
) -> None:
    named = {
        "name": "ci",
        "role": "viewer",
        "person": None,
        "acts_for_others": False,
        "created_at": "2026-12-01T10:00:00Z",
        "created_by": "bootstrap",
        "revoked_at": None,
    }
    fake_api.reply("GET", "/api/v1/tokens", 200, {"items": [named]})

    result = _invoke(fake_api, data_dir, "tokens", "list")

    assert result.exit_code == 0, result.output
    _, ci, bootstrap = result.stdout.splitlines()[:3]
    assert ci.split()[:2] == ["ci", "viewer"]
    assert bootstrap.split()[:4] == ["bootstrap", "admin", "-", "yes"]
    assert "tocsin up" in bootstrap
