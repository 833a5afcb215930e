"""The README's commands, so that tests run exactly what a reader copies."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def commands(title: str) -> list[str]:
    """Every line of the section's ``sh`` blocks, without its trailing comment."""
    lines: list[str] = []
    inside = False
    for line in section(title).splitlines():
        if line.startswith("```"):
            inside = line == "```sh"
            continue
        if inside and line.strip():
            lines.append(line.split("  #", 1)[0].rstrip())
    return lines
