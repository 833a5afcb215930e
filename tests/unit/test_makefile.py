"""What ``make`` would do on a fresh clone (``make -n``: nothing is run)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make") or "/usr/bin/make"


def _dry_run(target: str, venv: Path) -> list[str]:
    done = subprocess.run(
        [MAKE, "-n", "-C", str(ROOT), target, f"VENV={venv}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if "pip install" in line]


def test_make_run_installs_the_runtime_only(tmp_path: Path) -> None:
    (install,) = _dry_run("run", tmp_path / "venv")

    assert install.endswith("-e .")
    assert "[" not in install  # no test, bench or charts extras


def test_make_test_installs_what_the_tests_need(tmp_path: Path) -> None:
    (install,) = _dry_run("test", tmp_path / "venv")

    assert install.endswith("-e '.[test,bench,charts]'")


def _makes_venvs(python: str) -> bool:
    found = shutil.which(python)
    probe = [found or python, "-c", "import ensurepip, venv"]
    return found is not None and subprocess.run(probe, capture_output=True).returncode == 0


def test_the_venv_is_made_from_debians_python_when_it_can_make_one(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    done = subprocess.run(
        [MAKE, "-n", "-C", str(ROOT), "test", f"VENV={venv}"],
        capture_output=True,
        text=True,
        check=True,
    )
    made = next(line for line in done.stdout.splitlines() if line.endswith(f"-m venv {venv}"))
    candidates = ["/usr/bin/python3.11", "python3.11", "python3"]
    expected = next(shutil.which(p) for p in candidates if _makes_venvs(p))
    assert made == f"{expected} -m venv {venv}"
