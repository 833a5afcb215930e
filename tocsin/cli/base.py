"""The ``tocsin`` app, its shared options, and talking to the API.

The options every API command needs (API URL, token, data directory, ``--json``) are taken once,
before the command: ``tocsin --json incidents --status triggered``. Each can also come from the
environment (``TOCSIN_API_URL``, ``TOCSIN_API_TOKEN``, ``TOCSIN_DATA_DIR``).
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import httpx
import typer
from pydantic import BaseModel, ValidationError
from typer.core import TyperOption

from api.config import API_PREFIX
from tocsin.settings import TOKEN_FILE, Settings

DEFAULT_API_URL = "http://127.0.0.1:8080"

_M = TypeVar("_M", bound=BaseModel)


def _flag_takes_no_value(display: Callable[[TyperOption, Any], str | None]) -> Any:
    """Typer's help shows a flag's type as if it took a value (``--json <bool>``, ``--help
    <bool>``); a flag takes none, so its type column stays empty. Typer has no setting for
    it (fastapi/typer#493 is about the same column), hence the wrapper."""

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else display(self, ctx)

    return display_type_rich


TyperOption.display_type_rich = _flag_takes_no_value(TyperOption.display_type_rich)  # type: ignore[method-assign]

app = typer.Typer(
    name="tocsin",
    help="Incident and crisis-response orchestrator: durable A/B/C playbooks on Temporal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@dataclass
class Api:
    """How this invocation reaches the API; the token is looked up only when a command
    needs it, so ``tocsin up`` and ``tocsin playbooks validate`` never ask for one."""

    url: str
    token: str | None
    data_dir: Path | None
    as_json: bool

    def _token(self) -> str:
        if self.token:
            return self.token
        settings = Settings(data_dir=self.data_dir) if self.data_dir else Settings()
        resolved = settings.resolved_api_token()
        if resolved is None:
            fail(
                "no API token: pass --token, set TOCSIN_API_TOKEN, or run where `tocsin up` "
                f"wrote one (looked in {(settings.data_dir / TOKEN_FILE).resolve()}; "
                "choose the directory with --data-dir or TOCSIN_DATA_DIR)"
            )
        return resolved.get_secret_value()

    def request(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """``path`` under ``/api/v1``; an error answer ends the command with its detail."""
        payload, error = self.attempt(method, path, body=body, params=params)
        if error is not None:
            fail(error)
        return payload

    def attempt(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> tuple[Any, str | None]:
        """The answer, or the error it describes, for a command that goes on after a refusal."""
        response = self._send(method, path, body, params)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.is_error:
            detail = payload.get("detail") if isinstance(payload, dict) else None
            return payload, describe_detail(detail) if detail else f"HTTP {response.status_code}"
        return payload, None

    def text(self, path: str, *, params: dict[str, Any] | None = None) -> str:
        """A text answer (Markdown) of ``path`` under ``/api/v1``."""
        response = self._send("GET", path, None, params)
        if response.is_error:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = None
            fail(describe_detail(detail) if detail else f"HTTP {response.status_code}")
        return response.text

    def _send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        params: dict[str, Any] | None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token()}"}
        try:
            with httpx.Client(base_url=self.url.rstrip("/"), headers=headers, timeout=30.0) as c:
                return c.request(method, f"{API_PREFIX}{path}", json=body, params=params)
        except httpx.TransportError as exc:
            fail(f"cannot reach the tocsin API at {self.url} ({exc}); is `tocsin up` running?")

    def show(self, payload: Any, render: Any) -> None:
        """Print ``payload`` as JSON with ``--json``, else through ``render``."""
        if self.as_json:
            typer.echo(json.dumps(payload, indent=2))
        else:
            render(payload)


@app.callback()
def options(
    ctx: typer.Context,
    api_url: Annotated[
        str, typer.Option("--api-url", envvar="TOCSIN_API_URL", help="tocsin API base URL")
    ] = DEFAULT_API_URL,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="TOCSIN_API_TOKEN",
            show_default=False,
            help=f"API bearer token (default: read from <data-dir>/{TOKEN_FILE})",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", envvar="TOCSIN_DATA_DIR", help="where `tocsin up` keeps its state"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
) -> None:
    ctx.obj = Api(url=api_url, token=token, data_dir=data_dir, as_json=as_json)


def api_of(ctx: typer.Context) -> Api:
    """The shared options, which the app's callback put on the context."""
    api = ctx.find_object(Api)
    if api is None:
        raise RuntimeError("the tocsin app's callback did not run")
    return api


def who(by: str | None) -> str:
    return by or os.environ.get("USER") or getpass.getuser()


By = Annotated[str | None, typer.Option("--by", help="who does it [$USER]")]


def describe_detail(detail: Any) -> str:
    """FastAPI's detail is a sentence, or a list of field errors for a bad request body."""
    if isinstance(detail, list):
        lines = []
        for item in detail:
            if isinstance(item, dict):
                loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query")]
                field = ".".join(loc)
                lines.append(f"{field}: {item.get('msg', '')}" if field else str(item.get("msg")))
            else:
                lines.append(str(item))
        return "; ".join(lines)
    return str(detail)


def parse(model: type[_M], payload: Any) -> _M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        fail(f"unexpected answer from the API: {exc.error_count()} field(s) do not fit")


def clock(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def facts(pairs: Sequence[tuple[str, str]]) -> str:
    width = max(len(name) for name, _ in pairs)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in pairs)


def shorten(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
