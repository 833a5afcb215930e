"""The one client factory: every process and test connects with the pydantic converter."""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

# The SDK builds a payload converter for every workflow instance it runs (and again after an
# eviction), and the pydantic one keeps its TypeAdapters per converter: each cached workflow
# built and held its own adapter for its input, its updates and its activities' results,
# schema and Rust validator alike (most of a worker's memory per open incident, and the CPU
# of building them). One JSON converter for the process shares them. It holds nothing a
# workflow could tell apart: a TypeAdapter is built from the type alone, so decoding, and
# with it replay, gives the same values, in the strict sandbox too (temporalio is passed
# through, so the sandbox sees this same instance).
_JSON = PydanticJSONPlainPayloadConverter()


class SharedPydanticPayloadConverter(CompositePayloadConverter):
    """``temporalio.contrib.pydantic``'s converter with one TypeAdapter cache per process."""

    def __init__(self) -> None:
        super().__init__(
            *(
                _JSON if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


data_converter = DataConverter(payload_converter_class=SharedPydanticPayloadConverter)


async def connect(address: str, namespace: str = "default") -> Client:
    return await Client.connect(address, namespace=namespace, data_converter=data_converter)


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
