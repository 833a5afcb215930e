"""The ``tocsin`` command: run the processes, and drive incidents through the HTTP API."""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from pydantic import BaseModel, ValidationError

from tocsin.domain import Incident, IncidentType, Level, Status, TimelineEvent
from tocsin.durations import format_duration, humanize
from tocsin.settings import TOKEN_FILE, Settings

DEFAULT_API_URL = "http://127.0.0.1:8080"

app = typer.Typer(
    name="tocsin",
    help="Incident and crisis-response orchestrator: durable A/B/C playbooks on Temporal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
playbooks_app = typer.Typer(help="Check playbook directories.", no_args_is_help=True)
app.add_typer(playbooks_app, name="playbooks")


def main() -> None:
    app()


# ------------------------------------------------------------------------------ processes
# Temporal, FastAPI and SQLAlchemy are imported inside the commands that run them, so the
# everyday commands (`tocsin incidents`, `tocsin ack`) start in a fraction of a second.


@app.command()
def up(
    api_port: Annotated[
        int | None,
        typer.Option(envvar="TOCSIN_API_PORT", min=1, max=65535, help="HTTP API port [8080]"),
    ] = None,
    temporal_port: Annotated[
        int,
        typer.Option(
            envvar="TOCSIN_TEMPORAL_PORT",
            min=1,
            max=64535,
            help="Temporal gRPC port; the Temporal UI listens on this plus 1000",
        ),
    ] = 7233,
    data_dir: Annotated[
        Path | None,
        typer.Option(envvar="TOCSIN_DATA_DIR", help="state, logs and the API token [.tocsin]"),
    ] = None,
    playbooks: Annotated[
        Path | None,
        typer.Option(
            "--playbooks", envvar="TOCSIN_PLAYBOOKS_DIR", help="playbook directory to run"
        ),
    ] = None,
    api_host: Annotated[
        str | None, typer.Option(envvar="TOCSIN_API_HOST", help="HTTP API address [127.0.0.1]")
    ] = None,
) -> None:
    """Run the whole embedded stack: Temporal dev server, worker and API."""
    from tocsin import up as stack

    overrides: dict[str, Any] = {
        "api_port": api_port,
        "data_dir": data_dir,
        "playbooks_dir": playbooks,
        "api_host": api_host,
    }
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    raise typer.Exit(asyncio.run(stack.run(settings, temporal_port)))


@app.command()
def worker() -> None:
    """Run a worker: incident workflows and their activities."""
    from playbooks.loader import PlaybookError
    from workflows.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(run_worker(Settings()))
    except PlaybookError as exc:
        _fail("the playbook directory has problems:\n  " + "\n  ".join(exc.problems))


@app.command()
def migrate() -> None:
    """Bring the records database to the current schema (run once before scaling out)."""
    from sqlalchemy.exc import SQLAlchemyError

    from tocsin.records import migrate as migrate_records

    settings = Settings()
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(migrate_records(settings.resolved_database_url()))
    except (SQLAlchemyError, OSError) as exc:
        # The first line names the problem; the rest is SQL and a link to SQLAlchemy's docs.
        _fail(f"the records migration failed: {str(exc).splitlines()[0]}")


@app.command()
def api() -> None:
    """Serve the HTTP API on TOCSIN_API_HOST:TOCSIN_API_PORT."""
    import uvicorn

    from api.app import ApiTokenMissing, create_app

    settings = Settings()
    try:
        application = create_app(settings)
    except ApiTokenMissing as exc:
        _fail(str(exc))
    uvicorn.run(application, host=settings.api_host, port=settings.api_port)


# ------------------------------------------------------------------------------ playbooks


@playbooks_app.command("validate")
def playbooks_validate(
    directory: Annotated[
        Path | None,
        typer.Argument(help="playbook directory [TOCSIN_PLAYBOOKS_DIR or the built-in one]"),
    ] = None,
) -> None:
    """Check a playbook directory: the level files, the matrix and the roster."""
    from playbooks.loader import load_playbooks, validate_directory

    base = directory if directory is not None else Settings().playbooks_dir
    problems = validate_directory(base)
    if problems:
        typer.echo(f"{base}: {len(problems)} problem(s)", err=True)
        for problem in problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1)
    playbook_set = load_playbooks(base)
    typer.echo(f"{base}: OK")
    for level in Level:
        playbook = playbook_set.for_level(level)
        steps = ", ".join(format_duration(step.after) for step in playbook.escalation) or "none"
        typer.echo(
            f"  level {level}: {playbook.name}: acknowledge within "
            f"{format_duration(playbook.response_window)}; escalation at {steps}; "
            f"re-page every {format_duration(playbook.on_breach.repeat_every)} after a breach"
        )


# ------------------------------------------------------------------------------ API client

ApiUrl = Annotated[
    str, typer.Option("--api-url", envvar="TOCSIN_API_URL", help="tocsin API base URL")
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="TOCSIN_API_TOKEN",
        show_default=False,
        help=f"API bearer token [read from <data-dir>/{TOKEN_FILE}]",
    ),
]
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="TOCSIN_DATA_DIR", help="where `tocsin up` keeps its token"),
]
By = Annotated[str | None, typer.Option("--by", help="who does it [$USER]")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]


class _Page(BaseModel):
    items: list[Incident]
    total: int


class _Timeline(BaseModel):
    items: list[TimelineEvent]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _who(by: str | None) -> str:
    return by or os.environ.get("USER") or getpass.getuser()


def _token(token: str | None, data_dir: Path | None) -> str | None:
    if token:
        return token
    settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
    resolved = settings.resolved_api_token()
    return resolved.get_secret_value() if resolved is not None else None


def _http_client(api_url: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=api_url.rstrip("/"), headers=headers, timeout=30.0)


def _describe_detail(detail: Any) -> str:
    """FastAPI's detail is a sentence, or a list of field errors for a bad request body."""
    if isinstance(detail, list):
        lines = []
        for item in detail:
            if isinstance(item, dict):
                loc = [str(p) for p in item.get("loc", []) if p != "body"]
                field = ".".join(loc)
                lines.append(f"{field}: {item.get('msg', '')}" if field else str(item.get("msg")))
            else:
                lines.append(str(item))
        return "; ".join(lines)
    return str(detail)


def _request(
    api_url: str,
    token: str | None,
    data_dir: Path | None,
    method: str,
    path: str,
    *,
    body: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> Any:
    try:
        with _http_client(api_url, _token(token, data_dir)) as client:
            response = client.request(method, path, json=body, params=params)
    except httpx.TransportError as exc:
        _fail(f"cannot reach the tocsin API at {api_url} ({exc}); is `tocsin up` running?")
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.is_error:
        detail = payload.get("detail") if isinstance(payload, dict) else None
        _fail(_describe_detail(detail) if detail else f"HTTP {response.status_code}")
    return payload


def _parse(model: type[Any], payload: Any) -> Any:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        _fail(f"unexpected answer from the API: {exc.error_count()} field(s) do not fit")


def _print_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2))


def _clock(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S}"


def _deadline_cell(incident: Incident, now: datetime) -> str:
    left = incident.time_left(now)
    if left is None:
        return "-"
    return f"{incident.ack_deadline.astimezone(UTC):%H:%M:%S} ({humanize(left)})"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _title(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_incident(incident: Incident, now: datetime) -> None:
    facts = [
        ("id", incident.id),
        ("title", incident.title),
        ("level", f"{incident.level} ({incident.type.value})"),
        ("status", incident.status.value + (" (drill)" if incident.drill else "")),
        ("declared", f"{_clock(incident.declared_at)} UTC by {incident.declared_by}"),
        ("ack deadline", f"{_clock(incident.ack_deadline)} UTC"),
    ]
    left = incident.time_left(now)
    if left is not None:
        facts.append(("time left", humanize(left)))
    if incident.acknowledged_at is not None:
        by = incident.acknowledged_by or "?"
        facts.append(("acknowledged", f"{_clock(incident.acknowledged_at)} UTC by {by}"))
    if incident.window_breached:
        at = f" at {_clock(incident.breached_at)} UTC" if incident.breached_at else ""
        facts.append(("window", f"breached{at}"))
    if incident.resolved_at is not None:
        facts.append(("resolved", f"{_clock(incident.resolved_at)} UTC"))
    width = max(len(name) for name, _ in facts)
    for name, value in facts:
        typer.echo(f"{name.ljust(width)}  {value}")


def _incident_action(
    api_url: str,
    token: str | None,
    data_dir: Path | None,
    path: str,
    body: dict[str, Any],
    as_json: bool,
) -> None:
    payload = _request(api_url, token, data_dir, "POST", path, body=body)
    if as_json:
        _print_json(payload)
        return
    _print_incident(_parse(Incident, payload), datetime.now(UTC))


@app.command()
def declare(
    title: Annotated[str, typer.Argument(help="what is wrong, in a few words")],
    level: Annotated[Level, typer.Option("--level", "-l", case_sensitive=False)],
    type: Annotated[IncidentType, typer.Option("--type", "-t", case_sensitive=False)],
    description: Annotated[str, typer.Option(help="more detail")] = "",
    service: Annotated[str | None, typer.Option(help="affected service")] = None,
    by: By = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Declare an incident; its level's playbook starts paging at once."""
    body: dict[str, Any] = {
        "title": title,
        "level": level.value,
        "type": type.value,
        "description": description,
        "by": _who(by),
    }
    if service:
        body["service"] = service
    _incident_action(api_url, token, data_dir, "/api/v1/incidents", body, as_json)


@app.command()
def ack(
    incident_id: Annotated[str, typer.Argument(metavar="ID")],
    by: By = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Acknowledge an incident: stops its escalation."""
    path = f"/api/v1/incidents/{incident_id}/ack"
    _incident_action(api_url, token, data_dir, path, {"by": _who(by)}, as_json)


@app.command("level")
def change_level(
    incident_id: Annotated[str, typer.Argument(metavar="ID")],
    level: Annotated[Level, typer.Argument(case_sensitive=False)],
    reason: Annotated[str, typer.Option(help="why the level changes")],
    by: By = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Change an incident's level; the new level's playbook takes over."""
    body = {"level": level.value, "reason": reason, "by": _who(by)}
    path = f"/api/v1/incidents/{incident_id}/level"
    _incident_action(api_url, token, data_dir, path, body, as_json)


@app.command()
def update(
    incident_id: Annotated[str, typer.Argument(metavar="ID")],
    text: Annotated[str, typer.Argument(help="the status update")],
    by: By = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Post a status update to an incident."""
    path = f"/api/v1/incidents/{incident_id}/updates"
    _incident_action(api_url, token, data_dir, path, {"text": text, "by": _who(by)}, as_json)


@app.command()
def mitigate(
    incident_id: Annotated[str, typer.Argument(metavar="ID")],
    note: Annotated[str, typer.Option(help="what was done")] = "",
    by: By = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Mark an incident mitigated: the impact is contained, the cause not yet fixed."""
    path = f"/api/v1/incidents/{incident_id}/mitigate"
    _incident_action(api_url, token, data_dir, path, {"note": note, "by": _who(by)}, as_json)


@app.command()
def resolve(
    incident_id: Annotated[str, typer.Argument(metavar="ID")],
    summary: Annotated[str, typer.Option(help="what happened and what fixed it")] = "",
    by: By = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Resolve an incident."""
    path = f"/api/v1/incidents/{incident_id}/resolve"
    body = {"summary": summary, "by": _who(by)}
    _incident_action(api_url, token, data_dir, path, body, as_json)


@app.command()
def show(
    incident_id: Annotated[str, typer.Argument(metavar="ID")],
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Show one incident."""
    payload = _request(api_url, token, data_dir, "GET", f"/api/v1/incidents/{incident_id}")
    if as_json:
        _print_json(payload)
        return
    _print_incident(_parse(Incident, payload), datetime.now(UTC))


@app.command()
def timeline(
    incident_id: Annotated[str, typer.Argument(metavar="ID")],
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Show what happened to an incident, in order."""
    path = f"/api/v1/incidents/{incident_id}/timeline"
    payload = _request(api_url, token, data_dir, "GET", path)
    if as_json:
        _print_json(payload)
        return
    events = _parse(_Timeline, payload).items
    if not events:
        typer.echo("no events recorded yet")
        return
    for event in events:
        who = f" [{event.actor}]" if event.actor else ""
        typer.echo(f"{_clock(event.at)}  {event.kind.value:<16}{who} {event.text}")


@app.command()
def incidents(
    all_: Annotated[bool, typer.Option("--all", help="include resolved incidents")] = False,
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Token = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """List open incidents, the most recent first."""
    params = {} if all_ else {"status": [status.value for status in Status if status.is_open]}
    payload = _request(api_url, token, data_dir, "GET", "/api/v1/incidents", params=params)
    if as_json:
        _print_json(payload)
        return
    page = _parse(_Page, payload)
    if not page.items:
        typer.echo("no incidents" if all_ else "no open incidents")
        return
    now = datetime.now(UTC)
    rows = [
        [
            incident.id,
            incident.level.value,
            incident.status.value + (" (drill)" if incident.drill else ""),
            _title(incident.title),
            _clock(incident.declared_at),
            _deadline_cell(incident, now),
            incident.acknowledged_by or "-",
        ]
        for incident in page.items
    ]
    headers = ["ID", "LEVEL", "STATUS", "TITLE", "DECLARED (UTC)", "ACK BY (LEFT)", "ACKED BY"]
    typer.echo(_table(headers, rows))
    if page.total > len(page.items):
        typer.echo(f"({len(page.items)} of {page.total} shown)")


if __name__ == "__main__":
    main()
