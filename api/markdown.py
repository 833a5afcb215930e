"""Reviews and the quarterly digest as Markdown: what ``GET …/reviews/{id}.md`` and
``…/reports/quarterly.md`` answer and ``tocsin review export`` saves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from domain.drills import DrillReport, DrillStatus
from domain.durations import humanize
from domain.models import Level
from domain.reports import Digest, ResponseRow
from domain.reviews import ActionItem, KeyTimes, Review


def _when(at: datetime | None) -> str:
    return "—" if at is None else f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _seconds(value: float | None) -> str:
    return "—" if value is None else humanize(timedelta(seconds=value))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _bullets(items: Sequence[str], empty: str = "_none recorded_") -> list[str]:
    return [f"- {item}" for item in items] if items else [empty]


def _ack_judged(t: KeyTimes) -> str:
    """The level and deadline that judged the acknowledgement, as the report counts it."""
    if t.acknowledged_at is None or t.ack_deadline is None:
        return f" (window {_seconds(t.response_window_seconds)})"
    verdict = "met" if t.acknowledged_within_window else "missed"
    return f" (level {t.ack_level}, deadline {_when(t.ack_deadline)}, {verdict})"


def review_markdown(review: Review, actions: Sequence[ActionItem]) -> str:
    t = review.key_times
    drill = " (drill)" if review.drill else ""
    lines = [
        f"# Post-incident review: {review.title}{drill}",
        "",
        f"- **Incident:** {review.incident_id} — level {review.level}, "
        f"{review.type.value.replace('_', ' ')}"
        + (f", service {review.service}" if review.service else ""),
        f"- **Status:** {review.status.value.replace('_', ' ')}"
        + (
            f" (published {_when(review.published_at)} by {review.published_by})"
            if review.published_at
            else f", due {_when(review.due_at)}"
        ),
        f"- **Owner:** {review.owner}",
        f"- **Participants:** {', '.join(review.participants) or '—'}",
        "",
        "This review is blameless: it asks what in our systems and process let this happen, "
        "not who is at fault.",
        "",
        "## Summary",
        "",
        review.summary or "_not written yet_",
        "",
        "## Customer impact",
        "",
        review.customer_impact or "_not written yet_",
        "",
        "## Key times (from declaration)",
        "",
        "| | |",
        "|---|---|",
        f"| Declared | {_when(t.declared_at)} |",
        f"| Acknowledged | {_when(t.acknowledged_at)} after {_seconds(t.time_to_ack_seconds)}"
        f"{_ack_judged(t)} |",
        f"| Mitigated | {_when(t.mitigated_at)} after {_seconds(t.time_to_mitigate_seconds)} |",
        f"| Resolved | {_when(t.resolved_at)} after {_seconds(t.time_to_resolve_seconds)} |",
        f"| First statement | due {_when(t.first_statement_due_at)}, published "
        f"{_when(t.first_statement_published_at)}"
        + (
            ""
            if t.first_statement_on_time is None
            else " (on time)"
            if t.first_statement_on_time
            else " (late)"
        )
        + " |",
        "",
        "## Breaches",
        "",
        *_bullets(review.breaches, "_none_"),
        "",
        "## Root cause",
        "",
        review.root_cause or "_not written yet_",
        "",
    ]
    if review.five_whys:
        lines += ["Five whys:", ""]
        lines += [f"{n}. {why}" for n, why in enumerate(review.five_whys, 1)]
        lines.append("")
    if review.cause_category:
        lines += [f"Category: {review.cause_category}", ""]
    lines += [
        "## Contributing factors",
        "",
        *_bullets(review.contributing_factors),
        "",
        "## What went well",
        "",
        *_bullets(review.went_well),
        "",
        "## What went badly",
        "",
        *_bullets(review.went_badly),
        "",
        "## Lessons",
        "",
        *_bullets(review.lessons),
        "",
        "## Action items",
        "",
    ]
    if actions:
        lines += ["| Item | Owner | Due | Priority | Status |", "|---|---|---|---|---|"]
        for a in actions:
            status = a.status.value.replace("_", " ")
            if a.reason:
                status += f" ({_cell(a.reason)})"
            lines.append(
                f"| {_cell(a.title)} | {_cell(a.owner)} | {a.due_at:%Y-%m-%d} | "
                f"{a.priority.value} | {status} |"
            )
    else:
        lines.append("_none_")
    lines += ["", "## Timeline", "", "| Time (UTC) | What | Who |", "|---|---|---|"]
    for event in review.timeline:
        lines.append(
            f"| {event.at.astimezone(UTC):%m-%d %H:%M:%S} | {_cell(event.text)} | "
            f"{_cell(event.actor or '')} |"
        )
    if review.amendments:
        lines += ["", "## Amendments", ""]
        for amendment in review.amendments:
            fields = ", ".join(amendment.changes)
            lines.append(
                f"- {_when(amendment.at)} by {amendment.by} ({fields}): {amendment.reason}"
            )
    return "\n".join(lines) + "\n"


def response_table(rows: Sequence[ResponseRow]) -> list[str]:
    lines = [
        "| Level | Month | Count | Acked | MTTA | MTTR | Within window | Breaches "
        "| Statement breaches | Cleared by alerts |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = "—" if r.within_window_ratio is None else f"{r.within_window_ratio:.0%}"
        lines.append(
            f"| {r.level} | {r.month} | {r.count} | {r.acknowledged} | "
            f"{_seconds(r.mtta_seconds)} | {_seconds(r.mttr_seconds)} | {ratio} | "
            f"{r.breaches} | {r.statement_breaches} | {r.cleared_by_alerts} |"
        )
    return lines


def quarterly_markdown(d: Digest, now: datetime) -> str:
    lines = [f"# Quarterly incident digest {d.quarter}", "", "## Incidents by level and type", ""]
    kinds = sorted({k for _, k in d.by_level_and_type}, key=lambda k: k.value)
    if kinds:
        lines.append("| Level | " + " | ".join(k.value.replace("_", " ") for k in kinds) + " |")
        lines.append("|---|" + "---:|" * len(kinds))
        for level in Level:
            counts = [str(d.by_level_and_type.get((level, k), 0)) for k in kinds]
            lines.append(f"| {level} | " + " | ".join(counts) + " |")
    else:
        lines.append("_no incidents this quarter_")
    lines += ["", "## Response by month", "", *response_table(d.response), ""]
    lines += [
        f"Response windows breached: **{d.window_breaches}**; statements not approved in "
        f"time: **{d.statement_breaches}**.",
        "",
        "## Top root causes",
        "",
        *_bullets([f"{cause}: {n}" for cause, n in d.top_causes], "_no published reviews_"),
        "",
        "## Services with repeat incidents",
        "",
        *_bullets([f"{service}: {n} incidents" for service, n in d.repeat_services], "_none_"),
        "",
        f"## Reviews: {d.reviews_published} published, {max(d.reviews_missing, 0)} not yet",
        "",
        f"## Action items: {len(d.open_actions)} open, {len(d.overdue_actions)} overdue",
        "",
    ]
    if d.open_actions:
        lines += ["| Item | Owner | Due | Overdue |", "|---|---|---|---|"]
        for a in d.open_actions:
            late = "yes" if a.overdue(now) else ""
            lines.append(f"| {_cell(a.title)} | {_cell(a.owner)} | {a.due_at:%Y-%m-%d} | {late} |")
        lines.append("")
    lines += [
        "## Drills",
        "",
        *_bullets(
            [
                f"{r['id']}: {r['status']}, {r['targets_met']} of {r['targets']} targets met"
                for r in d.drills
            ],
            "_no drills recorded this quarter_",
        ),
        "",
        "## Leadership participation",
        "",
        f"Leadership was reached in {len(d.leadership_incidents)} incident(s)"
        + (f": {', '.join(d.leadership_incidents)}." if d.leadership_incidents else "."),
        "",
    ]
    return "\n".join(lines)


def _measured(target: str, value: float | None) -> str:
    if value is None:
        return "—"
    if target in ("classification_accuracy", "reputation_recovery"):
        return f"{value:.0%}"
    if target == "collaboration":
        return f"{value:g}/10"
    return _seconds(value)


def drill_markdown(report: DrillReport) -> str:
    run = report.run
    verdict = (
        "running"
        if run.status is DrillStatus.RUNNING
        else ("passed" if report.passed else "not passed")
    )
    lines = [
        f"# DRILL report: {run.scenario} ({run.kind.value})",
        "",
        f"- **Run:** {run.id}, started {_when(run.started_at)} by {run.started_by}",
        f"- **Finished:** {_when(run.finished_at)}",
        f"- **Result:** {verdict} — {report.met} of {report.targets} targets met",
        f"- **Incidents:** {', '.join(run.incidents[i] for i in sorted(run.incidents)) or '—'}",
        "",
        "## Targets",
        "",
        "| Target | Goal | Measured | Met | Note |",
        "|---|---|---|---|---|",
    ]
    for s in run.scores:
        lines.append(
            f"| {s.target.replace('_', ' ')} | {_cell(s.goal)} | {_measured(s.target, s.value)}"
            f" | {'yes' if s.met else 'no'} | {_cell(s.note) or ''} |"
        )
    lines += ["", "## Classification accuracy by responder (last drills)", ""]
    if report.responders:
        lines += ["| Responder | Right | Classified | Accuracy |", "|---|---|---|---|"]
        lines += [
            f"| {_cell(r.name)} | {r.right} | {r.total} | {r.accuracy:.0%} |"
            for r in report.responders
        ]
    else:
        lines.append("_nobody classified a drill incident_")
    lines += ["", "## Leadership participation by quarter (seed: at least quarterly)", ""]
    lines += ["| Quarter | Drills | Leadership taking part | Met |", "|---|---|---|---|"]
    lines += [
        f"| {q.quarter} | {q.drills} | {_cell(', '.join(q.leaders)) or '—'}"
        f" | {'yes' if q.met else 'no'} |"
        for q in report.leadership
    ]
    lines += ["", "## Follow-ups", "", *_bullets(report.follow_ups), ""]
    return "\n".join(lines)
