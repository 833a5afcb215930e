"""The one client factory: every process and test connects with the pydantic converter."""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter


async def connect(address: str, namespace: str = "default") -> Client:
    return await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter
    )


async def connect_with_retry(address: str, namespace: str, deadline: float = 60.0) -> Client:
    """Temporal may still be starting (``tocsin up``, compose): keep trying for a while."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline
    while True:
        try:
            return await connect(address, namespace)
        except RuntimeError as exc:
            if loop.time() > give_up:
                raise RuntimeError(f"cannot reach Temporal at {address}: {exc}") from None
            await asyncio.sleep(1)
