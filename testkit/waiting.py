"""Waiting, in real time, for something that happens in another process or task."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

_T = TypeVar("_T")


@overload
async def eventually(
    check: Callable[[], Awaitable[_T | None]],
    within: float = ...,
    what: str = ...,
    report: Callable[[], str] | None = ...,
    every: float = ...,
) -> _T: ...


@overload
async def eventually(
    check: Callable[[], _T | None],
    within: float = ...,
    what: str = ...,
    report: Callable[[], str] | None = ...,
    every: float = ...,
) -> _T: ...


async def eventually(
    check: Callable[[], Any],
    within: float = 10.0,
    what: str = "condition",
    report: Callable[[], str] | None = None,
    every: float = 0.05,
) -> Any:
    """Poll ``check`` (plain or async) until it returns something true (an empty list is
    not), and return that. On timeout the assertion carries ``report()``: with several processes
    involved, their logs are the only way to tell which hop lost the thing waited for."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            details = f"\n{report()}" if report is not None else ""
            raise AssertionError(f"{what}: not within {within:g}s{details}")
        await asyncio.sleep(every)
