"""The embedded default: readable lines on stdout and appended to a log file.

Each line is stamped when it is written: a page held in its person's bundle window goes out
when the window closes, later than the event it reports."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from adapters.clock import utcnow
from domain import wording
from domain.models import Person, Recipient
from domain.notify import Notification


class ConsoleNotifier:
    def __init__(
        self,
        log_path: Path | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._log_path = log_path
        self._clock = clock
        self._stream = stream if stream is not None else sys.stdout
        self._lock = asyncio.Lock()
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)

    async def send(self, notification: Notification) -> str | None:
        await self._write(notification.text)
        return None

    async def send_bundle(
        self, recipient: Recipient, pages: list[Notification], key: str
    ) -> str | None:
        await self._write(wording.bundle_text(recipient, pages))
        return None

    async def tell(self, person: Person, text: str, key: str) -> None:
        await self._write(f"to {person.name}: {text}")

    async def _write(self, text: str) -> None:
        async with self._lock:
            line = f"{self._clock():%Y-%m-%d %H:%M:%S}Z {text}"
            self._stream.write(line + "\n")
            self._stream.flush()
            if self._log_path is not None:
                await asyncio.to_thread(self._append, self._log_path, line)

    @staticmethod
    def _append(path: Path, line: str) -> None:
        with path.open("a", encoding="utf-8") as log:
            log.write(line + "\n")
