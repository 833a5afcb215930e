"""A what-if report as people read it: a table in the terminal, or Markdown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from domain.whatif import IncidentWhatIf, Side, Total, WhatIfReport
from workflows.playtest.cases import show


def _paged(side: Side) -> str:
    return ", ".join(f"{p.who} {show(timedelta(seconds=p.at_seconds))}" for p in side.paged) or "—"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _load(load: dict[str, int]) -> str:
    return ", ".join(f"{who} {n}" for who, n in sorted(load.items(), key=lambda kv: -kv[1]))


_ROWS: list[tuple[str, Callable[[Side], str]]] = [
    ("paged first", _paged),
    ("acknowledged within window", lambda s: _yes(s.acknowledged_within_window)),
    ("breaches", lambda s: str(s.breaches)),
    ("escalation steps fired", lambda s: str(s.escalation_steps)),
    ("pages per person", lambda s: _load(s.pages_per_person) or "—"),
    ("statement deadlines met", lambda s: f"{s.statements_met} of {s.statements_due}"),
]

_TOTALS: list[tuple[str, Callable[[Total], str]]] = [
    ("incidents", lambda t: str(t.incidents)),
    ("acknowledged within window", lambda t: str(t.acknowledged_within_window)),
    ("breaches", lambda t: str(t.breaches)),
    ("escalation steps fired", lambda t: str(t.escalation_steps)),
    ("pages", lambda t: str(t.pages)),
    ("pages per person", lambda t: _load(t.pages_per_person) or "—"),
    ("statement deadlines met", lambda t: f"{t.statements_met} of {t.statements_due}"),
    ("acknowledgements not given", lambda t: str(t.acks_not_given)),
]


def _title(row: IncidentWhatIf) -> str:
    return (
        f"{row.id} · level {row.level} · {row.title} · declared {row.declared_at:%Y-%m-%d %H:%M}Z"
    )


def _notes(row: IncidentWhatIf) -> list[str]:
    return [f"today: {n}" for n in row.today.acks_not_given] + [
        f"candidate: {n}" for n in row.candidate.acks_not_given
    ]


def table(report: WhatIfReport) -> str:
    width = max(len(label) for label, _ in _TOTALS) + 2
    out: list[str] = []
    for row in report.incidents:
        out.append(_title(row))
        out.append(f"  {'':<{width}}{'today':<42}candidate")
        for label, cell in _ROWS:
            out.append(f"  {label:<{width}}{cell(row.today):<42}{cell(row.candidate)}")
        out += [f"  ! {note}" for note in _notes(row)]
        out.append("")
    out.append(f"Totals over {len(report.incidents)} incident(s)")
    out.append(f"  {'':<{width}}{'today':<42}candidate")
    for label, total in _TOTALS:
        today, candidate = total(report.totals.today), total(report.totals.candidate)
        out.append(f"  {label:<{width}}{today:<42}{candidate}")
    return "\n".join(out)


def markdown(report: WhatIfReport) -> str:
    out = ["# What-if: candidate playbooks against today's", ""]
    out.append("| | today | candidate |")
    out.append("|---|---|---|")
    for label, total in _TOTALS:
        out.append(f"| {label} | {total(report.totals.today)} | {total(report.totals.candidate)} |")
    for row in report.incidents:
        out += ["", f"## {_title(row)}", "", "| | today | candidate |", "|---|---|---|"]
        for label, cell in _ROWS:
            out.append(f"| {label} | {cell(row.today)} | {cell(row.candidate)} |")
        out += [f"- {note}" for note in _notes(row)] if _notes(row) else []
    return "\n".join(out) + "\n"
