"""The live push: the twin's change feed over a WebSocket, resumable from a sequence number.

A browser that reconnects says the last sequence number it saw (``?after=``) and
gets every change since, then the live ones, in order, none twice: the replay and
the subscription happen together in the bridge's own thread.  A browser cannot set
headers on a WebSocket, and a token in its URL would end up in logs, so the page's
feed signs in with the session cookie; a script sends ``Authorization: Bearer``.  A
browser sends the cookie to any port of the same host, so a socket opened by a page of
another origin (its ``Origin`` header) is refused: that page could otherwise read the
feed as the member of staff who visits it.  The session is checked again every ``SESSION_CHECK_S``: an account deactivated, or signed
out by a password change, stops receiving within that time.

Nothing here blocks the event loop: joining and leaving the feed go to the bridge's
thread through a worker thread.  Each client has a bounded queue; a client that
falls ``QUEUE_LIMIT`` changes behind is dropped with ``TOO_SLOW`` (1013, try again
later) and resumes from what it last got.  A resume from a change no longer kept
closes with ``GAP`` (4410, in the application's range: gone, reload the station) after
a message saying so, rather than a server-error code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from enum import Enum
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from sqlalchemy.exc import SQLAlchemyError

from hardware_bridge.bridge import FEED_RETAINED
from twin.clock import Clock
from twin.entity import Twin
from twin.errors import FeedGapError
from twin.feed import Change
from web.auth import user_for
from web.deps import Services, same_origin, token_of

logger = logging.getLogger(__name__)
router = APIRouter(tags=["feed"])
SESSION_CHECK_S = 10.0
HEARTBEAT_S = 5.0
"""A quiet feed still sends ``{"heartbeat": true}`` this often: a page that hears nothing for three of them knows the
server or the network is gone (a dropped phone connection may never close the socket) and says so."""
QUEUE_LIMIT = 2_000
"""Changes waiting for one client; a phone on a bad line further behind is better served by a fresh resume."""
TOO_SLOW = status.WS_1013_TRY_AGAIN_LATER
GAP = 4410


class Ending(Enum):
    """Why a client's queue says stop: it fell ``QUEUE_LIMIT`` behind, or its socket closed (the page went, or the server
    is shutting down). The feed only writes, so without listening it would notice a closed socket at its next heartbeat,
    and a server's restart would wait that long for it."""

    BEHIND = "behind"
    GONE = "gone"


def _json(change: Change, clock: Clock) -> dict[str, Any]:
    """``t`` is seconds on the twin's clock; ``at`` the same moment in ISO 8601 with its offset, for people."""
    return {
        "seq": change.seq, "t": change.t, "at": clock.datetime_at(change.t).isoformat(), "entity": change.entity_id,
        "name": change.name, "version": change.version, "data": change.data,
    }  # fmt: skip


class EncodedChanges:
    """Each change's text, made once for every viewer: 40 viewers resuming from far back sent the same 20,000
    changes, each encoding them itself, and that CPU came out of every REST answer's time.

    A change is immutable and its ``seq`` unique in the one twin an app watches; at most
    ``keep`` texts are kept (the feed's own retention), oldest out first. Event loop only."""

    def __init__(self, clock: Clock, keep: int) -> None:
        self.clock = clock
        self.keep = keep
        self._texts: dict[int, str] = {}

    def text(self, change: Change) -> str:
        text = self._texts.get(change.seq)
        if text is None:
            text = self._texts[change.seq] = json.dumps(_json(change, self.clock), ensure_ascii=False, separators=(",", ":"))
            if len(self._texts) > self.keep:
                del self._texts[next(iter(self._texts))]
        return text


def _encoded(websocket: WebSocket, svc: Services) -> EncodedChanges:
    """The app's one cache of encoded changes (made on first use, in the event loop, so no lock)."""
    state = websocket.app.state
    if getattr(state, "encoded_changes", None) is None:
        state.encoded_changes = EncodedChanges(svc.bridge.clock, FEED_RETAINED + QUEUE_LIMIT)
    cache: EncodedChanges = state.encoded_changes
    return cache


@router.websocket("/api/feed")
async def feed(websocket: WebSocket, after: int = 0) -> None:
    svc: Services = websocket.app.state.services
    if not same_origin(websocket):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="opened by a page of another origin")
        return
    bearer = token_of(websocket)

    def signed_in() -> bool:
        with svc.sessions.begin() as db:
            return bearer is not None and user_for(db, bearer) is not None

    if not await asyncio.to_thread(signed_in):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="sign in first")
        return
    await websocket.accept()
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Change | Ending] = asyncio.Queue(maxsize=QUEUE_LIMIT + 2)  # room for both endings
    behind = False

    def enqueue(change: Change) -> None:  # in the event loop
        nonlocal behind
        if behind:
            return
        if queue.qsize() >= QUEUE_LIMIT:
            behind = True
            queue.put_nowait(Ending.BEHIND)  # a place kept for it: tells the sender to drop this client
            return
        queue.put_nowait(change)

    async def listen() -> None:
        """Reads what the page sends (nothing is expected) until the socket closes, then ends the sender."""
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass
        queue.put_nowait(Ending.GONE)

    def push(change: Change) -> None:  # runs in the bridge's thread
        with contextlib.suppress(RuntimeError):  # the server's loop has closed; this client's unsubscribe is on its way
            loop.call_soon_threadsafe(enqueue, change)

    def join(twin: Twin) -> list[Change]:
        backlog = list(twin.feed.since(after))
        twin.subscribe(push)
        return backlog

    listener: asyncio.Task[None] | None = None
    try:  # from the join on: a join that timed out or was cancelled may still subscribe, later, in the bridge's loop
        try:
            backlog: list[Change] = await asyncio.to_thread(svc.bridge.call, join)
        except FeedGapError as exc:
            await websocket.send_json({"error": "gap", "oldest": exc.oldest, "detail": str(exc)})
            await websocket.close(code=GAP, reason="changes since then are no longer kept: reload")
            return
        listener = asyncio.create_task(listen())
        encoded = _encoded(websocket, svc)
        for past in backlog:
            await websocket.send_text(encoded.text(past))
        check_at = loop.time() + SESSION_CHECK_S
        sent_at = loop.time()
        while True:
            try:
                wait = max(0.0, min(sent_at + HEARTBEAT_S, check_at) - loop.time())
                change: Change | Ending | None = await asyncio.wait_for(queue.get(), timeout=wait)
                quiet = False
            except TimeoutError:
                change, quiet = None, True
            if change is Ending.GONE:
                return
            if loop.time() >= check_at:  # however busy the feed is
                check_at = loop.time() + SESSION_CHECK_S
                try:
                    still = await asyncio.to_thread(signed_in)
                except SQLAlchemyError as exc:  # the database away for a moment: keep streaming, ask again next time
                    logger.warning("feed: session not checked (%s); trying again in %g s", exc.__class__.__name__, SESSION_CHECK_S)
                    still = True
                if not still:
                    await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="signed out")
                    return
            if quiet:
                if loop.time() >= sent_at + HEARTBEAT_S:
                    await websocket.send_json({"heartbeat": True})
                    sent_at = loop.time()
            elif change is Ending.BEHIND:
                await websocket.close(code=TOO_SLOW, reason=f"more than {QUEUE_LIMIT} changes behind: resume with ?after=")
                return
            elif change is not None:
                await websocket.send_text(encoded.text(change))
                sent_at = loop.time()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        if listener is not None:
            listener.cancel()
        # Not awaited: a handler cancelled (its server gone, a test client closed) would have its await cut short and
        # leave ``push`` subscribed for good.
        svc.bridge.post(lambda twin: twin.feed.unsubscribe(push))
