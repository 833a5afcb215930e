"""A case's expectations against what its run produced: a verdict, the two timelines side by
side, and JUnit XML for CI systems."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from xml.etree import ElementTree as ET

from workflows.playtest.cases import Expectation, LoadedCase, What, show
from workflows.playtest.runner import Happened

_WIDTH = 44
# A timer's work is recorded when its workflow task runs: on a loaded machine, a second or two
# after the instant it fired for. Nothing a playbook says is finer than minutes.
LATENESS = timedelta(seconds=3)


@dataclass
class Verdict:
    case: LoadedCase
    rows: list[tuple[str, str, bool]] = field(default_factory=list)  # expected, actual, ok
    refused: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(ok for _, _, ok in self.rows)


def _matches(expectation: Expectation, happened: Happened) -> bool:
    return (
        expectation.at <= happened.at <= expectation.at + LATENESS
        and expectation.what is happened.what
        and expectation.who in (None, happened.who)
        and expectation.channel in (None, happened.channel)
    )


def _expected_line(e: Expectation) -> str:
    who = f" {e.who}" if e.who else ""
    via = f" via {e.channel}" if e.channel else ""
    return f"{show(e.at):>7} {e.what}{who}{via}"


def _actual_line(h: Happened) -> str:
    who = f" {h.who}" if h.who else ""
    via = f" via {h.channel}" if h.channel else ""
    return f"{show(h.at):>7} {h.what}{who}{via}"


def judge(loaded: LoadedCase, happened: Sequence[Happened]) -> Verdict:
    """Every expectation must have happened, and nothing else of the kinds the case speaks
    of up to its horizon: a case that expects Ben paged at +5m fails if Chen was too."""
    case = loaded.case
    kinds = {e.what for e in case.expect}
    seen = [
        h
        for h in happened
        if h.what in kinds and (h.at <= case.horizon or h.what is What.REVIEW_DUE)
    ]
    rows: list[tuple[timedelta, str, str, bool]] = []
    used: set[int] = set()
    for e in case.expect:
        found = [i for i, h in enumerate(seen) if _matches(e, h)]
        if not found:
            rows.append((e.at, _expected_line(e), "—", False))
        for n, i in enumerate(found):
            rows.append((e.at, _expected_line(e) if n == 0 else "", _actual_line(seen[i]), True))
            used.add(i)
    for i, h in enumerate(seen):
        if i not in used:
            rows.append((h.at, "—", _actual_line(h), False))
    rows.sort(key=lambda row: row[0])
    return Verdict(loaded, [(exp, act, ok) for _, exp, act, ok in rows])


def side_by_side(verdict: Verdict) -> list[str]:
    lines = [f"    {'expected':<{_WIDTH}}   actual"]
    for expected, actual, ok in verdict.rows:
        mark = "  " if ok else "✗ "
        lines.append(f"  {mark}{expected:<{_WIDTH}}   {actual}")
    lines += [f"    refused: {reason}" for reason in verdict.refused]
    return lines


def summary_line(verdict: Verdict) -> str:
    status = "PASS" if verdict.passed else ("ERROR" if verdict.error else "FAIL")
    return f"{status}  {verdict.case.label}  ({verdict.seconds:.1f}s)"


def junit_xml(verdicts: Sequence[Verdict], seconds: float) -> bytes:
    failures = sum(1 for v in verdicts if not v.passed and v.error is None)
    errors = sum(1 for v in verdicts if v.error is not None)
    suite = ET.Element(
        "testsuite",
        name="tocsin playbooks test",
        tests=str(len(verdicts)),
        failures=str(failures),
        errors=str(errors),
        time=f"{seconds:.3f}",
    )
    for v in verdicts:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=v.case.file.stem,
            name=v.case.case.name,
            time=f"{v.seconds:.3f}",
        )
        if v.error is not None:
            ET.SubElement(case, "error", message=v.error).text = v.error
        elif not v.passed:
            text = "\n".join(side_by_side(v))
            ET.SubElement(case, "failure", message="timeline differs").text = text
    xml: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return xml
