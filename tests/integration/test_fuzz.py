"""Schemathesis against the OpenAPI spec of a running ``tocsin up``: every operation, every
check, with the API token, and the webhook with the intake token. 0 server errors, 0
answers the spec does not describe. CI runs few examples; ``make soak`` many."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from testkit.playbooks import playbook_dir
from testkit.stack import TocsinUp, clean_env

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("TOCSIN_FUZZ_EXAMPLES", "8"))
SECONDS = int(os.environ.get("TOCSIN_FUZZ_SECONDS", "40"))
ROOT = Path(__file__).resolve().parents[2]


async def schemathesis(up: TocsinUp, token: str, *where: str, out: Path) -> tuple[int, str]:
    st = Path(sys.executable).with_name("st")
    process = await asyncio.create_subprocess_exec(
        str(st),
        *("--config-file", str(ROOT / "schemathesis.toml")),
        "run",
        f"{up.api_url}/openapi.json",
        *("--header", f"Authorization: Bearer {token}"),
        *("--checks", "all"),
        *("--max-examples", str(EXAMPLES)),
        *("--max-time", str(SECONDS)),
        # One worker: two threads trip CPython 3.11's ast.parse (hypothesis describing a
        # filter lambda: "AST constructor recursion depth mismatch"), a crash of the tool.
        *("--workers", "1"),
        *("--seed", "20261201"),
        *where,
        # Its cache of found failures goes beside the output, one per run: two runs side by
        # side never write one file, and the source tree stays clean.
        cwd=out.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    await asyncio.to_thread(out.write_text, text, encoding="utf-8")
    assert process.returncode is not None
    return process.returncode, text


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


async def test_the_spec_describes_every_answer_of_a_running_stack(tmp_path: Path) -> None:
    env = clean_env(TOCSIN_API_RATE_LIMIT="100000/minute")
    up = TocsinUp(tmp_path, playbook_dir(tmp_path / "playbooks"), env=env)
    await up.start()
    try:
        await up.wait_until_up()
        # Side by side: each spends its whole time budget, and they share nothing but the stack.
        (api, api_text), (intake, intake_text) = await asyncio.gather(
            schemathesis(
                up,
                up.api_token(),
                "--exclude-path-regex",
                "^/api/v1/alerts/",
                out=_folder(tmp_path / "api") / "schemathesis.txt",
            ),
            schemathesis(
                up,
                up.intake_token(),
                "--include-path-regex",
                "^/api/v1/alerts/",
                out=_folder(tmp_path / "intake") / "schemathesis.txt",
            ),
        )
    finally:
        await up.stop()
    assert api == 0, api_text[-6000:]
    assert intake == 0, intake_text[-6000:]
    assert "No issues found" in api_text or " passed" in api_text
    # The API never failed on its own (a worker's activity retrying is logged there by design).
    api_log = (up.data_dir / "logs" / "api.log").read_text(encoding="utf-8")
    assert "Traceback" not in api_log
