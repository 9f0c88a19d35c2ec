"""The live push: the twin's change feed over a WebSocket, resumable from a sequence number.

A browser that reconnects says the last sequence number it saw (``?after=``) and
gets every change since, then the live ones, in order, none twice: the replay and
the subscription happen together in the bridge's own thread.  A browser cannot set
headers on a WebSocket, so the session token may also come as ``?token=``.  The
session is checked again every ``SESSION_CHECK_S``: an account deactivated, or signed
out by a password change, stops receiving within that time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from sqlalchemy.exc import SQLAlchemyError

from twin.entity import Twin
from twin.errors import FeedGapError
from twin.feed import Change
from web.auth import user_for
from web.deps import Services, token_of

logger = logging.getLogger(__name__)
router = APIRouter(tags=["feed"])
SESSION_CHECK_S = 10.0


def _json(change: Change) -> dict[str, Any]:
    return {
        "seq": change.seq, "t": change.t, "entity": change.entity_id, "name": change.name,
        "version": change.version, "data": change.data,
    }  # fmt: skip


@router.websocket("/api/feed")
async def feed(websocket: WebSocket, after: int = 0, token: str | None = None) -> None:
    svc: Services = websocket.app.state.services
    bearer = token or token_of(websocket)

    def signed_in() -> bool:
        with svc.sessions.begin() as db:
            return bearer is not None and user_for(db, bearer) is not None

    if not await asyncio.to_thread(signed_in):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="sign in first")
        return
    await websocket.accept()
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Change] = asyncio.Queue()

    def push(change: Change) -> None:  # runs in the bridge's thread
        loop.call_soon_threadsafe(queue.put_nowait, change)

    def join(twin: Twin) -> list[Change]:
        backlog = list(twin.feed.since(after))
        twin.subscribe(push)
        return backlog

    try:
        backlog: list[Change] = svc.bridge.call(join)
    except FeedGapError as exc:
        await websocket.send_json({"error": "gap", "oldest": exc.oldest, "detail": str(exc)})
        await websocket.close(code=status.WS_1011_INTERNAL_ERROR)
        return
    try:
        for change in backlog:
            await websocket.send_json(_json(change))
        check_at = loop.time() + SESSION_CHECK_S
        while True:
            try:
                change = await asyncio.wait_for(queue.get(), timeout=max(0.0, check_at - loop.time()))
            except TimeoutError:
                check_at = loop.time() + SESSION_CHECK_S
                try:
                    still = await asyncio.to_thread(signed_in)
                except SQLAlchemyError as exc:  # the database away for a moment: keep streaming, ask again next time
                    logger.warning("feed: session not checked (%s); trying again in %g s", exc.__class__.__name__, SESSION_CHECK_S)
                    continue
                if not still:
                    await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="signed out")
                    return
                continue
            await websocket.send_json(_json(change))
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        with contextlib.suppress(TimeoutError):
            svc.bridge.call(lambda twin: twin.feed.unsubscribe(push))
