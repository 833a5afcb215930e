"""Reviews, action items and reports, mirroring ``/api/v1/reviews``, ``/api/v1/actions`` and
``/api/v1/reports``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from api.schemas.actions import ActionList, ActionOut
from api.schemas.reports import ResponseReport, ResponseRowOut
from api.schemas.reviews import ReviewList, ReviewOut
from domain.durations import humanize, parse_duration
from tocsin.cli.base import By, api_of, app, clock, facts, fail, parse, shorten, table, who

review_app = typer.Typer(help="A post-incident review: show, edit, publish, export.")
action_app = typer.Typer(help="One action item of a review.", no_args_is_help=True)
report_app = typer.Typer(help="Response figures by level and month.", invoke_without_command=True)
app.add_typer(review_app, name="review")
app.add_typer(action_app, name="action")
app.add_typer(report_app, name="report")

Target = Annotated[str, typer.Argument(metavar="INCIDENT_OR_REVIEW", help="an incident id or r-…")]


def _path(target: str) -> str:
    return f"/reviews/{target}" if target.startswith("r-") else f"/incidents/{target}/review"


def _review_id(ctx: typer.Context, target: str) -> str:
    if target.startswith("r-"):
        return target
    payload = api_of(ctx).request("GET", _path(target))
    return str(parse(ReviewOut, payload).id)


def _seconds(value: float | None) -> str:
    return "-" if value is None else humanize(timedelta(seconds=value))


def print_review(payload: Any) -> None:
    r = parse(ReviewOut, payload)
    t = r.key_times
    pairs = [
        ("review", f"{r.id} ({r.status.value.replace('_', ' ')}, version {r.version})"),
        ("incident", f"{r.incident_id} — {r.level} {r.title}" + (" (drill)" if r.drill else "")),
        ("owner", r.owner),
        ("due", f"{clock(r.due_at)} UTC"),
        (
            "acknowledged",
            f"after {_seconds(t.time_to_ack_seconds)}"
            + (
                ""
                if t.acknowledged_within_window is None
                else f" (level {t.ack_level}: within the window)"
                if t.acknowledged_within_window
                else f" (level {t.ack_level}: late)"
            ),
        ),
        ("resolved", f"after {_seconds(t.time_to_resolve_seconds)}"),
        ("breaches", "; ".join(r.breaches) or "none"),
        ("participants", ", ".join(r.participants)),
    ]
    if r.published_at:
        pairs.append(("published", f"{clock(r.published_at)} UTC by {r.published_by}"))
    typer.echo(facts(pairs))
    for title, value in (
        ("Summary", r.summary),
        ("Customer impact", r.customer_impact),
        ("Root cause", r.root_cause),
    ):
        typer.echo(f"\n{title}:\n  {value or '(not written yet)'}")
        if title == "Root cause" and r.cause_category:
            typer.echo(f"  Category: {r.cause_category}")  # as the export shows it
    for title, items in (
        ("Five whys", r.five_whys),
        ("Contributing factors", r.contributing_factors),
        ("Went well", r.went_well),
        ("Went badly", r.went_badly),
        ("Lessons", r.lessons),
    ):
        if items:
            typer.echo(f"\n{title}:")
            for item in items:
                typer.echo(f"  - {item}")
    if r.action_items:
        typer.echo("")
        typer.echo(_actions_table(r.action_items))
    typer.echo(f"\n{len(r.timeline)} timeline events; `tocsin review export {r.id}` for all")


def _actions_table(actions: Sequence[ActionOut]) -> str:
    rows = [
        [
            a.id,
            shorten(a.title, 36),
            a.owner,
            f"{a.due_at:%Y-%m-%d}",
            a.priority.value,
            a.status.value + (" OVERDUE" if a.overdue else ""),
        ]
        for a in actions
    ]
    return table(["ACTION", "TITLE", "OWNER", "DUE", "PRIORITY", "STATUS"], rows)


@review_app.command("show")
def show(ctx: typer.Context, target: Target) -> None:
    """A review: what was prefilled, what was written, its action items."""
    api = api_of(ctx)
    api.show(api.request("GET", _path(target)), print_review)


Many = Annotated[list[str] | None, typer.Option(help="repeat for several")]


@review_app.command("edit")
def edit(
    ctx: typer.Context,
    target: Target,
    summary: Annotated[str | None, typer.Option()] = None,
    impact: Annotated[str | None, typer.Option(help="the customer impact")] = None,
    root_cause: Annotated[str | None, typer.Option()] = None,
    why: Many = None,
    category: Annotated[str | None, typer.Option(help="e.g. 'bad deploy'")] = None,
    factor: Many = None,
    went_well: Many = None,
    went_badly: Many = None,
    lesson: Many = None,
    owner: Annotated[str | None, typer.Option()] = None,
    ready: Annotated[bool, typer.Option("--ready", help="mark it in review")] = False,
    from_file: Annotated[
        Path | None, typer.Option("--file", help="a JSON object of the fields to set")
    ] = None,
    by: By = None,
) -> None:
    """Write the review; list options (--why, --factor, --lesson …) replace the list."""
    body: dict[str, Any] = {}
    if from_file is not None:
        try:
            loaded = json.loads(from_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            fail(f"{from_file}: {exc}")
        if not isinstance(loaded, dict):
            fail(f"{from_file}: expected a JSON object of review fields")
        body.update(loaded)
    for name, value in (
        ("summary", summary),
        ("customer_impact", impact),
        ("root_cause", root_cause),
        ("five_whys", why),
        ("cause_category", category),
        ("contributing_factors", factor),
        ("went_well", went_well),
        ("went_badly", went_badly),
        ("lessons", lesson),
        ("owner", owner),
    ):
        if value is not None:
            body[name] = value
    if ready:
        body["status"] = "in_review"
    body["by"] = who(by)
    api = api_of(ctx)
    review_id = _review_id(ctx, target)
    api.show(api.request("PATCH", f"/reviews/{review_id}", body=body), print_review)


@review_app.command("publish")
def publish(ctx: typer.Context, target: Target, by: By = None) -> None:
    """Publish into the knowledge base; reminders stop."""
    api = api_of(ctx)
    review_id = _review_id(ctx, target)
    api.show(
        api.request("POST", f"/reviews/{review_id}/publish", body={"by": who(by)}), print_review
    )


@review_app.command("amend")
def amend(
    ctx: typer.Context,
    target: Target,
    reason: Annotated[str, typer.Option(help="why the published review changes")],
    root_cause: Annotated[str | None, typer.Option()] = None,
    summary: Annotated[str | None, typer.Option()] = None,
    lesson: Many = None,
    by: By = None,
) -> None:
    """Change a published review; the change, its reason and the old text are kept."""
    body: dict[str, Any] = {"reason": reason, "by": who(by)}
    for name, value in (("root_cause", root_cause), ("summary", summary), ("lessons", lesson)):
        if value is not None:
            body[name] = value
    api = api_of(ctx)
    review_id = _review_id(ctx, target)
    api.show(api.request("POST", f"/reviews/{review_id}/amendments", body=body), print_review)


@review_app.command("export")
def export(
    ctx: typer.Context,
    target: Target,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write to this file")] = None,
) -> None:
    """The review as Markdown, to stdout or --out."""
    api = api_of(ctx)
    text = api.text(f"/reviews/{_review_id(ctx, target)}.md")
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")


@review_app.command("search")
def search(ctx: typer.Context, words: Annotated[list[str], typer.Argument()]) -> None:
    """The knowledge base: published reviews matching every word, best first."""

    def render(payload: Any) -> None:
        items = parse(ReviewList, payload).items
        if not items:
            typer.echo("no published review matches")
            return
        rows = [
            [h.id, h.level.value, h.service or "-", shorten(h.title, 30), shorten(h.root_cause, 40)]
            for h in items
        ]
        typer.echo(table(["REVIEW", "LEVEL", "SERVICE", "TITLE", "ROOT CAUSE"], rows))

    api = api_of(ctx)
    api.show(api.request("GET", "/reviews", params={"q": " ".join(words)}), render)


def _due(text: str) -> str:
    """``14d`` from now, or an ISO date/time (UTC when no zone is given)."""
    try:
        return (datetime.now(UTC) + parse_duration(text)).isoformat()
    except ValueError:
        pass
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--due {text!r}: give a duration like 14d or a date like 2026-12-24")
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()


@review_app.command("action")
def add_action(
    ctx: typer.Context,
    target: Target,
    title: Annotated[str, typer.Option()],
    owner: Annotated[str, typer.Option()],
    due: Annotated[str, typer.Option(help="14d from now, or a date")],
    priority: Annotated[str, typer.Option(help="high, medium or low")] = "medium",
    by: By = None,
) -> None:
    """Add an action item; it is followed until done or dropped."""
    body = {"title": title, "owner": owner, "due_at": _due(due), "priority": priority}
    body["by"] = who(by)
    api = api_of(ctx)
    review_id = _review_id(ctx, target)
    api.show(
        api.request("POST", f"/reviews/{review_id}/actions", body=body),
        lambda p: typer.echo(_actions_table([parse(ActionOut, p)])),
    )


@app.command("actions")
def actions(
    ctx: typer.Context,
    overdue: Annotated[bool, typer.Option("--overdue", help="only those past due")] = False,
    all_: Annotated[bool, typer.Option("--all", help="done and dropped too")] = False,
    owner: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Action items: the open ones unless --all."""
    params: dict[str, Any] = {}
    if overdue:
        params["overdue"] = "true"
    elif not all_:
        params["status"] = "open"
    if owner:
        params["owner"] = owner

    def render(payload: Any) -> None:
        items = parse(ActionList, payload).items
        typer.echo(_actions_table(items) if items else "no action items")

    api = api_of(ctx)
    api.show(api.request("GET", "/actions", params=params), render)


def _change(ctx: typer.Context, action_id: str, body: dict[str, Any]) -> None:
    api = api_of(ctx)
    api.show(
        api.request("PATCH", f"/actions/{action_id}", body=body),
        lambda p: typer.echo(_actions_table([parse(ActionOut, p)])),
    )


ActionId = Annotated[str, typer.Argument(metavar="ACTION_ID")]


@action_app.command("done")
def action_done(ctx: typer.Context, action_id: ActionId, by: By = None) -> None:
    """Mark it done; its reminders stop."""
    _change(ctx, action_id, {"status": "done", "by": who(by)})


@action_app.command("drop")
def action_drop(
    ctx: typer.Context,
    action_id: ActionId,
    reason: Annotated[str, typer.Option(help="why it will not be done")],
    by: By = None,
) -> None:
    """Drop it, saying why; its reminders stop."""
    _change(ctx, action_id, {"status": "wont_do", "reason": reason, "by": who(by)})


@action_app.command("move")
def action_move(
    ctx: typer.Context,
    action_id: ActionId,
    due: Annotated[str, typer.Option(help="14d from now, or a date")],
    by: By = None,
) -> None:
    """Give it a new due date; its reminders start over."""
    _change(ctx, action_id, {"due_at": _due(due), "by": who(by)})


# --------------------------------------------------------------------------- reports

BAR_WIDTH = 40


def bars(rows: Sequence[ResponseRowOut]) -> str:
    """Mean time to acknowledge per month, one bar chart per level, scaled to the longest."""
    longest = max((r.mtta_seconds or 0 for r in rows), default=0) or 1
    lines = []
    for level in sorted({r.level for r in rows}, key=lambda lv: lv.value):
        lines.append(f"Level {level} — mean time to acknowledge")
        for r in (r for r in rows if r.level is level):
            value = r.mtta_seconds
            width = round(BAR_WIDTH * (value or 0) / longest)
            label = humanize(timedelta(seconds=value)) if value is not None else "none acknowledged"
            lines.append(f"  {r.month}  {'█' * width}{'' if width else '·'} {label}")
    return "\n".join(lines)


def chart(rows: Sequence[ResponseRowOut], path: Path) -> None:
    """Mean time to acknowledge by month, a line per level, as a PNG or SVG file."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        fail("charts need matplotlib: pip install 'tocsin[charts]'")
    months = sorted({r.month for r in rows})
    longest = max((r.mtta_seconds or 0 for r in rows), default=0)
    unit, scale = ("seconds", 1.0) if longest < 120 else ("minutes", 60.0)
    figure, axes = pyplot.subplots(figsize=(8, 4), dpi=120)
    width = 0.8 / max(1, len({r.level for r in rows}))
    for index, level in enumerate(sorted({r.level for r in rows}, key=lambda lv: lv.value)):
        mine = {r.month: (r.mtta_seconds or 0) / scale for r in rows if r.level is level}
        axes.bar(
            [m + index * width for m in range(len(months))],
            [mine.get(month, 0) for month in months],
            width=width,
            label=f"level {level}",
        )
    axes.set_xticks([m + width * 0.5 for m in range(len(months))], months)
    axes.set_ylabel(f"{unit} to acknowledge (mean)")
    axes.set_title("Mean time to acknowledge, by level and month")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


@report_app.callback()
def report(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help="declared on or after, e.g. 2026-10-01")] = None,
    until: Annotated[str | None, typer.Option(help="declared before")] = None,
    drill: Annotated[bool, typer.Option("--drill", help="drills instead of incidents")] = False,
    chart_file: Annotated[
        Path | None, typer.Option("--chart", help="also draw a .png or .svg chart")
    ] = None,
) -> None:
    """The response table by level and month, with a bar chart per level."""
    if ctx.invoked_subcommand is not None:
        return
    params: dict[str, Any] = {"drill": str(drill).lower()}
    for name, value in (("since", since), ("until", until)):
        if value:
            params[name] = value if "T" in value else f"{value}T00:00:00Z"

    def render(payload: Any) -> None:
        rows = parse(ResponseReport, payload).items
        if not rows:
            typer.echo("no incidents in that period")
            return
        body = [
            [
                r.level.value,
                r.month,
                str(r.count),
                str(r.acknowledged),
                _seconds(r.mtta_seconds),
                _seconds(r.mttr_seconds),
                "-" if r.within_window_ratio is None else f"{r.within_window_ratio:.0%}",
                str(r.breaches),
                str(r.statement_breaches),
                str(r.cleared_by_alerts),
            ]
            for r in rows
        ]
        headers = [
            "LEVEL",
            "MONTH",
            "COUNT",
            "ACKED",
            "MTTA",
            "MTTR",
            "IN WINDOW",
            "BREACHES",
            "STMT BREACHES",
            "BY ALERTS",
        ]
        typer.echo(table(headers, body))
        typer.echo("")
        typer.echo(bars(rows))
        if chart_file is not None:
            chart(rows, chart_file)
            typer.echo(f"\nwrote {chart_file}")

    api = api_of(ctx)
    api.show(api.request("GET", "/reports/response", params=params), render)


@report_app.command("quarterly")
def quarterly(
    ctx: typer.Context,
    quarter: Annotated[str | None, typer.Argument(help="e.g. 2026Q4 [this quarter]")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write Markdown here")] = None,
) -> None:
    """The quarterly digest, as Markdown."""
    params = {"quarter": quarter} if quarter else None
    text = api_of(ctx).text("/reports/quarterly.md", params=params)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")
