"""Named API tokens with roles, mirroring ``/api/v1/tokens`` (an admin token is needed)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from api.schemas.tokens import TokenCreated, TokenList
from domain.access import Role
from tocsin.cli.base import api_of, app, clock, parse, table

tokens_app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


@tokens_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="unique: lower case, digits, . _ -")],
    role: Annotated[Role, typer.Option(help="viewer, responder, lead, comms or admin")],
    person: Annotated[
        str | None, typer.Option(help="the roster person it acts as (its `by`)")
    ] = None,
    acts_for_others: Annotated[
        bool, typer.Option("--acts-for-others", help="an integration's token: any `by`")
    ] = False,
) -> None:
    """Create a token and print it once: only its SHA-256 is kept."""
    api = api_of(ctx)
    body: dict[str, Any] = {"name": name, "role": role.value, "acts_for_others": acts_for_others}
    if person:
        body["person"] = person

    def render(payload: Any) -> None:
        made = parse(TokenCreated, payload)
        as_whom = f", acting as {made.person}" if made.person else ""
        typer.echo(f"token {made.name} ({made.role.value}{as_whom}):")
        typer.echo(made.token)
        typer.echo("It is shown this once; keep it in a secret store.", err=True)

    api.show(api.request("POST", "/tokens", body=body), render)


@tokens_app.command("list")
def list_tokens(ctx: typer.Context) -> None:
    """Every token, revoked ones included (never the tokens themselves), and the bootstrap
    admin token of `tocsin up`."""
    api = api_of(ctx)

    def render(payload: Any) -> None:
        rows = [
            [
                t.name,
                t.role.value,
                t.person or "-",
                "yes" if t.acts_for_others else "no",
                f"{clock(t.created_at)} by {t.created_by}",
                f"revoked {clock(t.revoked_at)}" if t.revoked_at else "live",
            ]
            for t in parse(TokenList, payload).items
        ]
        # Not a named token, but the one every fresh stack starts with: `tokens revoke
        # bootstrap` says how to rotate it.
        rows.append(
            ["bootstrap", "admin", "-", "yes", "by tocsin up (TOCSIN_API_TOKEN, api-token)", "live"]
        )
        typer.echo(table(["NAME", "ROLE", "ACTS AS", "FOR OTHERS", "CREATED (UTC)", "STATE"], rows))

    api.show(api.request("GET", "/tokens"), render)


@tokens_app.command("revoke")
def revoke(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Revoke a token: refused everywhere within seconds. The bootstrap token is rotated
    instead (the answer says how)."""
    api = api_of(ctx)
    api.request("DELETE", f"/tokens/{name}")
    typer.echo(f"token {name} revoked")
