"""Bounds on what a caller can make the server hold: a request body's size, checked before it is read.

A plain ASGI middleware in front of everything: a declared ``Content-Length`` over the
limit is answered 413 at once without reading a byte; a body sent without one
(chunked) is counted as it arrives and cut off, with a 413, the moment it passes the
limit.  So a 300 MB upload, signed in or not, costs the server one chunk of memory,
not 300 MB (and the validation error of a huge JSON never echoes it back).
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.api import LARGE_BODIES

MEGABYTE = 1024 * 1024
BODY_LIMIT = 1 * MEGABYTE
"""Every request but those in ``LARGE_BODIES``: a command, a sign-in, a step on an alarm are a few hundred bytes."""
LARGE_BODY_LIMIT = 2 * MEGABYTE
"""A planner's uploaded scenario; a receipt."""
_LARGE = [(method, re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(path)) + "$")) for method, path in LARGE_BODIES]


def _large(method: str, path: str) -> bool:
    """Whether ``path`` is one of ``LARGE_BODIES``' routes (``{spending_id}`` stands for any one path segment)."""
    return any(method == wanted and pattern.match(path) for wanted, pattern in _LARGE)


class BodyTooLarge(Exception):
    pass


@dataclass(frozen=True)
class BodyLimit:
    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = LARGE_BODY_LIMIT if _large(scope["method"], scope["path"]) else BODY_LIMIT
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, limit)
            return
        seen = 0
        started = refused = False

        async def counted() -> Message:
            # Answered here, as the body passes the limit: the framework would make the broken read a 400.
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    if not started:
                        await _refuse(send, limit)
                        refused = True
                    raise BodyTooLarge
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the app's own answer to the cut-off body: the 413 went first
            started = started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(BodyTooLarge):  # answered already
            await self.app(scope, counted, sending)


async def _refuse(send: Send, limit: int) -> None:
    detail = f"the request body is over the {limit // MEGABYTE} MB limit; nothing was read or stored"
    await answer_json(send, 413, detail, [(b"connection", b"close")])


async def answer_json(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]]) -> None:
    """An ASGI middleware's own answer, before any route: ``{"detail": ...}`` like every other refusal."""
    body = json.dumps({"detail": detail}).encode()
    start = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})
