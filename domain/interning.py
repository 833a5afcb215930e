"""One decoded instance per content for the large immutable inputs every workflow carries.

Every incident pins the playbook set it began under, so each incident workflow's input holds
a copy, and a worker keeps each cached workflow's decoded input for as long as the workflow
is cached (up to 1,000 per worker): about 34 KiB per open incident of the same few values.
Decoding the same JSON again returns the instance decoded before instead.

Why in the model and not in the workflow: the SDK keeps the decoded input itself (the
workflow's run arguments), so an instance swapped in by the workflow would not free the copy.
Why it is deterministic, in the strict sandbox too: ``domain`` is passed through the sandbox
(one module, one table per process), the instance handed back equals the one decoding would
have built (same JSON text, same order of keys, so the same dict order: nothing a workflow
can tell apart), and the models interned are frozen and never changed in place by the rules.
Only JSON decoding (payloads) interns; models built in Python are left alone.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationInfo, ValidatorFunctionWrapHandler

_M = TypeVar("_M", bound=BaseModel)

# A few playbook sets are in use at once (one per edit of the playbooks since the oldest open
# incident began), each with its few distinct customer policies; a full table starts again
# rather than keeping every set ever decoded.
_LIMIT = 64
_decoded: dict[tuple[type[BaseModel], bytes], BaseModel] = {}


def interned(
    cls: type[_M], data: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
) -> _M:
    """For a ``model_validator(mode="wrap")``: the instance decoded before from equal JSON."""
    if info.mode != "json" or not isinstance(data, dict):
        result: _M = handler(data)
        return result
    # Key order kept: two sets differing only in it iterate differently, so they stay apart.
    key = (cls, hashlib.blake2b(json.dumps(data).encode(), digest_size=20).digest())
    found = _decoded.get(key)
    if isinstance(found, cls):
        return found
    value: _M = handler(data)
    if len(_decoded) >= _LIMIT:
        _decoded.clear()
    _decoded[key] = value
    return value
