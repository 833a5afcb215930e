"""Customer statements and subscribers, mirroring ``/api/v1/…/messages`` and
``/api/v1/subscribers``: list an incident's statements, draft, approve (as is or edited),
reject, correct; list, add and remove subscribers."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from api.schemas.statements import StatementList, StatementOut
from api.schemas.subscribers import SubscriberCreated, SubscriberList
from domain.statements import Stage
from tocsin.cli.base import By, api_of, app, clock, facts, parse, shorten, table, who

message_app = typer.Typer(help="Act on one statement for customers.", no_args_is_help=True)
subscribers_app = typer.Typer(help="Who hears of published statements.", no_args_is_help=True)
app.add_typer(message_app, name="message")
app.add_typer(subscribers_app, name="subscribers")

MessageId = Annotated[str, typer.Argument(metavar="MESSAGE_ID")]
IncidentId = Annotated[str, typer.Argument(metavar="INCIDENT_ID")]


def _when(at: Any) -> str:
    return f"{clock(at)} UTC" if at is not None else "-"


def print_message(payload: Any) -> None:
    message = parse(StatementOut, payload)
    pairs = [
        ("id", message.id),
        ("stage", message.stage.value),
        ("status", message.status.value + (" (drill)" if message.drill else "")),
        ("due", _when(message.due_at)),
        ("drafted", f"{_when(message.drafted_at)} by {message.drafted_by}"),
    ]
    if message.approved_by:
        pairs.append(("approved", f"{_when(message.approved_at)} by {message.approved_by}"))
    if message.rejected_by:
        pairs.append(("rejected", f"by {message.rejected_by}: {message.rejected_reason}"))
    if message.published_at:
        pairs.append(("published", _when(message.published_at)))
    if message.corrects:
        pairs.append(("corrects", message.corrects))
    if message.breached:
        pairs.append(("breach", "not approved by its due time"))
    typer.echo(facts(pairs))
    typer.echo("")
    typer.echo(message.body)
    if message.deliveries:
        typer.echo("")
        rows = [
            [
                d.channel.value,
                shorten(d.target, 36),
                d.status.value,
                str(d.attempts),
                _when(d.at),
                shorten(d.error or "", 30),
            ]
            for d in message.deliveries
        ]
        typer.echo(table(["CHANNEL", "TARGET", "STATUS", "TRIES", "LAST TRY", "ERROR"], rows))


@app.command()
def messages(ctx: typer.Context, incident_id: IncidentId) -> None:
    """List an incident's statements for customers, oldest first."""

    def render(payload: Any) -> None:
        items = parse(StatementList, payload).items
        if not items:
            typer.echo("no statements: customers are not told of this incident (yet)")
            return
        rows = [
            [
                m.id,
                m.stage.value,
                m.status.value,
                _when(m.due_at),
                m.approved_by or "-",
                f"{sum(d.status.value == 'delivered' for d in m.deliveries)}/{len(m.deliveries)}",
                shorten(m.body),
            ]
            for m in items
        ]
        headers = ["ID", "STAGE", "STATUS", "DUE", "APPROVED BY", "DELIVERED", "TEXT"]
        typer.echo(table(headers, rows))

    api = api_of(ctx)
    api.show(api.request("GET", f"/incidents/{incident_id}/messages"), render)


@message_app.command("show")
def show_message(ctx: typer.Context, message_id: MessageId) -> None:
    """One statement, its text and where it was delivered."""
    incident_id = message_id.rpartition("-m")[0] or message_id

    def render(payload: Any) -> None:
        for item in parse(StatementList, payload).items:
            if item.id == message_id:
                print_message(item.model_dump(mode="json"))
                return
        typer.echo(f"no statement {message_id} in incident {incident_id}", err=True)
        raise typer.Exit(1)

    api = api_of(ctx)
    api.show(api.request("GET", f"/incidents/{incident_id}/messages"), render)


@message_app.command("draft")
def draft(
    ctx: typer.Context,
    incident_id: IncidentId,
    stage: Annotated[Stage, typer.Option("--stage", help="where the incident stands")],
    body: Annotated[
        str | None, typer.Option(help="the text; drafted from the stage's template if omitted")
    ] = None,
    by: By = None,
) -> None:
    """Draft a statement; the communications lead is asked to approve it."""
    payload: dict[str, Any] = {"stage": stage.value, "by": who(by)}
    if body is not None:
        payload["body"] = body
    api = api_of(ctx)
    api.show(api.request("POST", f"/incidents/{incident_id}/messages", body=payload), print_message)


@message_app.command("approve")
def approve(
    ctx: typer.Context,
    message_id: MessageId,
    body: Annotated[str | None, typer.Option(help="an edited text, approved instead")] = None,
    by: By = None,
) -> None:
    """Approve a draft (as it is, or edited): it is published at once."""
    payload: dict[str, Any] = {"by": who(by)}
    if body is not None:
        payload["body"] = body
    api = api_of(ctx)
    api.show(api.request("POST", f"/messages/{message_id}/approve", body=payload), print_message)


@message_app.command("reject")
def reject(
    ctx: typer.Context,
    message_id: MessageId,
    reason: Annotated[str, typer.Option(help="why; the next draft is asked for with it")],
    by: By = None,
) -> None:
    """Reject a draft; a fresh one is asked for, due at the same time."""
    api = api_of(ctx)
    api.show(
        api.request(
            "POST", f"/messages/{message_id}/reject", body={"reason": reason, "by": who(by)}
        ),
        print_message,
    )


@message_app.command("correct")
def correct(
    ctx: typer.Context,
    message_id: MessageId,
    body: Annotated[str, typer.Option(help="the corrected text")],
    by: By = None,
) -> None:
    """Publish a correction of a published statement; the original is kept, superseded."""
    api = api_of(ctx)
    api.show(
        api.request("POST", f"/messages/{message_id}/correct", body={"body": body, "by": who(by)}),
        print_message,
    )


@subscribers_app.command("list")
def list_subscribers(ctx: typer.Context) -> None:
    """Every subscriber: e-mail addresses and webhook endpoints."""

    def render(payload: Any) -> None:
        listed = parse(SubscriberList, payload).items
        if not listed:
            typer.echo("no subscribers")
            return
        rows = [
            [
                s.id,
                s.kind,
                shorten(s.email or s.webhook_url or "", 40),
                s.status,
                s.source,
                _when(s.created_at),
            ]
            for s in listed
        ]
        typer.echo(table(["ID", "KIND", "ADDRESS", "STATUS", "FROM", "ADDED"], rows))

    api = api_of(ctx)
    api.show(api.request("GET", "/subscribers"), render)


@subscribers_app.command("add")
def add_subscriber(
    ctx: typer.Context,
    email: Annotated[str | None, typer.Option(help="an e-mail address")] = None,
    webhook_url: Annotated[str | None, typer.Option(help="an https:// endpoint")] = None,
    by: By = None,
) -> None:
    """Add a subscriber, active at once; a webhook's signing secret is shown this once."""
    payload: dict[str, Any] = {"by": who(by)}
    if email is not None:
        payload["email"] = email
    if webhook_url is not None:
        payload["webhook_url"] = webhook_url

    def render(body: Any) -> None:
        created = parse(SubscriberCreated, body)
        pairs = [("id", created.id), ("address", created.email or created.webhook_url or "")]
        if created.secret:
            pairs.append(("signing secret", f"{created.secret}  (shown once: keep it now)"))
        typer.echo(facts(pairs))

    api = api_of(ctx)
    api.show(api.request("POST", "/subscribers", body=payload), render)


@subscribers_app.command("remove")
def remove_subscriber(
    ctx: typer.Context, subscriber_id: Annotated[str, typer.Argument(metavar="ID")]
) -> None:
    """Remove a subscriber; nothing more is sent to it."""
    api = api_of(ctx)
    api.show(
        api.request("DELETE", f"/subscribers/{subscriber_id}"),
        lambda _: typer.echo(f"removed {subscriber_id}"),
    )
