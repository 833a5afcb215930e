"""Pure ASGI middleware that caps the size of request bodies.

Starlette's own ``RequestBodyLimitMiddleware`` answers in plain text and only notices a
chunked body when the route reads it; here the body is read (up to the cap) before the app
sees the request, so every oversized request gets the same JSON 413 and no route ever runs
on a truncated body.

Before answering 413 the rest of the body is read and thrown away, up to a bound (nginx's
"lingering close"): a server that closes a connection with unread data makes the kernel
reset it, and most clients, still busy sending, then report "connection reset" instead of
the 413.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_LINGER_FACTOR = 8


class BodySizeLimit:
    """``max_bytes`` for every path, except those given their own cap in ``per_path``
    (Alertmanager's storms need more than people's requests)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        per_path: dict[str, int] | None = None,
        hints: dict[str, str] | None = None,
    ) -> None:
        self.app = app
        self.default_max = max_bytes
        self.per_path = dict(per_path or {})
        # What the caller can do about it, per path, appended to the 413's detail.
        self.hints = dict(hints or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.per_path.get(scope["path"], self.default_max)
        # The server has already rejected a malformed Content-Length; the count below
        # applies whatever the header says.
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            await self._too_large(scope, receive, send, max_bytes, more_body=True)
            return

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away before finishing its body; let the app see that.
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                more = bool(message.get("more_body", False))
                await self._too_large(scope, receive, send, max_bytes, more_body=more)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break

        body: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)

    async def _too_large(
        self, scope: Scope, receive: Receive, send: Send, max_bytes: int, *, more_body: bool
    ) -> None:
        # Discarded chunks are not kept, so only bandwidth is spent on them.
        linger_bytes = max_bytes * _LINGER_FACTOR
        discarded = 0
        while more_body and discarded <= linger_bytes:
            message = await receive()
            if message["type"] != "http.request":
                break
            discarded += len(message.get("body", b""))
            more_body = bool(message.get("more_body", False))
        hint = self.hints.get(scope["path"], "")
        hint = f"; {hint}" if hint else ""
        # Past the bound, part of the body may still be unread: the connection cannot be reused.
        response = JSONResponse(
            {"detail": f"request body is larger than {max_bytes} bytes{hint}"},
            status_code=413,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
