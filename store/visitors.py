"""Visitors at the door: a lost courier who is not a member asks on their phone; the door's night rule or the
custodian makes the ask ready, and the visitor shows its pass at the door's scanner.

What is kept is what the station needs to count visitors and answer the one at the
door, and nothing to profile them:

- the phone is never stored: it is turned into a visit key (``actors.door_access.visit_key``
  of ``visitor:<phone>``) at once, so a visitor's repeat visits are counted (the custodian
  sees "the 3rd time this month") without the number being kept;
- the visitor's page holds a random token; the row keeps its SHA-256;
- rows go after the station's retention for visitor records (``[privacy] visitor_records``).

Bounds, each checked under the visitors' own write lock: at most ``MOST_WAITING`` asks are
open at once (waiting or ready), and ``MOST_WAITING_FROM_ONE_PLACE`` from one address (a
script cannot bury the custodian's list or the door's); one phone has one open ask (asking
again replaces it);
an ask nobody answered lapses after ``ASK_LIFE``, and so does a ready one nobody used.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from actors.door_access import Verdict, visit_key
from actors.message import VisitorAtDoor
from store.db import as_utc, hold_write_lock
from store.errors import Refusal
from store.models import VisitorAsk

_LOCK_KEY = 0x79787673  # "yxvs"
ASK_LIFE = timedelta(minutes=10)
"""How long an ask waits for the custodian, and how long a ready one's pass opens the door."""
MOST_WAITING = 20
"""Asks open at once (waiting for the custodian, or ready to scan), station-wide: more is a script, not a queue at one
door; well below what a door holds (``actors.door.MOST_ASKS``)."""
MOST_WAITING_FROM_ONE_PLACE = 3
"""Asks open at once from one address (a family at the door shares a phone's hotspot, a script does not stop)."""
VISITOR_NEEDS = ("toilet", "drink_water", "rest", "charge_phone", "heat_meal")
"""What a visitor may ask to come in for (the catalog's ``need.<name>``); the door's night rule admits some of them."""
CUSTODIAN_REFUSED = "custodian_refused"
"""The reason of an ask the custodian turned down (``door.custodian_refused``)."""


class AskStatus(StrEnum):
    WAITING = "waiting"
    READY = "ready"
    ADMITTED = "admitted"
    REFUSED = "refused"
    EXPIRED = "expired"


OPEN = (AskStatus.WAITING, AskStatus.READY)


class VisitorError(Refusal):
    """A visitor's or custodian's mistake."""


def visitor_visit(secret: bytes, phone: str) -> str:
    """A visitor's visit key from their normalised phone (``store.members.normalise_phone``)."""
    return visit_key(secret, f"visitor:{phone}")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lock(db: Session) -> None:
    """Hold the visitors' write lock for the rest of ``db``'s transaction: two custodians answering one ask, or a flood
    of asks against the bounds, are taken one after the other."""
    hold_write_lock(db, _LOCK_KEY)


@dataclass(frozen=True)
class Asked:
    ask: VisitorAsk
    token: str
    """Given to the visitor's page once; the row keeps only its hash."""


def ask(db: Session, secret: bytes, phone: str, needs: Sequence[str], door: str, place: str, ready: bool, now: datetime) -> Asked:
    """Record a visitor's ask (``phone`` normalised; ``place`` the address it came from, kept as a keyed hash like the
    phone) and return it with the token their page polls by. ``ready``: the door's night rule needs no custodian."""
    wanted = tuple(dict.fromkeys(needs))
    if not wanted or any(need not in VISITOR_NEEDS for need in wanted):
        raise VisitorError("visitor_needs", f"say what you came for: one or more of {', '.join(VISITOR_NEEDS)}")
    lock(db)
    key, place_key = visitor_visit(secret, phone), visit_key(secret, f"place:{place}")
    db.execute(
        update(VisitorAsk).where(VisitorAsk.visit_key == key, VisitorAsk.status.in_(OPEN)).values(status=AskStatus.EXPIRED, decided_at=now)
    )  # asking again replaces one's own open ask
    # Waiting and ready asks alike: a flood at night must not push real visitors out of the door's list either.
    still_open = _open(AskStatus.WAITING, now) | _open(AskStatus.READY, now)
    if (db.scalar(select(func.count()).select_from(VisitorAsk).where(still_open)) or 0) >= MOST_WAITING:
        raise VisitorError("visitors_queue_full", f"{MOST_WAITING} visitors already wait at the door; please ring the bell")
    from_here = db.scalar(select(func.count()).select_from(VisitorAsk).where(still_open, VisitorAsk.place == place_key)) or 0
    if from_here >= MOST_WAITING_FROM_ONE_PLACE:
        raise VisitorError("visitors_queue_full", f"{from_here} asks from here already wait at the door")
    token = secrets.token_urlsafe(24)
    row = VisitorAsk(
        token_hash=token_hash(token), visit_key=key, door=door, needs=list(wanted), asked_at=now, place=place_key,
        status=AskStatus.READY if ready else AskStatus.WAITING, ready_until=now + ASK_LIFE if ready else None,
    )  # fmt: skip
    db.add(row)
    db.flush()
    return Asked(row, token)


def _open(status: AskStatus, now: datetime) -> ColumnElement[bool]:
    """The condition of an ask in ``status`` that has not lapsed by ``now``."""
    if status is AskStatus.WAITING:
        return (VisitorAsk.status == status) & (VisitorAsk.asked_at >= now - ASK_LIFE)
    return (VisitorAsk.status == status) & (VisitorAsk.ready_until > now)


def shown_status(row: VisitorAsk, now: datetime) -> AskStatus:
    """An ask's status as of ``now``: an open one past its time has lapsed (computed on read: a page polling every few
    seconds does not write)."""
    status = AskStatus(row.status)
    if status is AskStatus.WAITING and as_utc(row.asked_at) < now - ASK_LIFE:
        return AskStatus.EXPIRED
    if status is AskStatus.READY and (row.ready_until is None or as_utc(row.ready_until) <= now):
        return AskStatus.EXPIRED
    return status


def by_token(db: Session, token: str) -> VisitorAsk | None:
    return db.scalar(select(VisitorAsk).where(VisitorAsk.token_hash == token_hash(token)))


def get(db: Session, ask_id: int) -> VisitorAsk | None:
    return db.get(VisitorAsk, ask_id)


def ready(db: Session, now: datetime) -> list[VisitorAsk]:
    """The asks whose pass opens the door now: what the doors are told again after a restart."""
    return list(db.scalars(select(VisitorAsk).where(_open(AskStatus.READY, now)).order_by(VisitorAsk.id).limit(1000)))


def recent(db: Session, since: datetime, limit: int = 100) -> list[VisitorAsk]:
    """The asks since ``since``, newest first: the custodian's list (the waiting ones are answered there)."""
    query = select(VisitorAsk).where(VisitorAsk.asked_at >= since).order_by(VisitorAsk.id.desc()).limit(limit)
    return list(db.scalars(query))


def visits_by_key(db: Session, keys: Iterable[str], since: datetime) -> dict[str, int]:
    """How often each visit key asked since ``since``: "the 3rd time this month", never who."""
    wanted = sorted(set(keys))[:1000]
    query = (
        select(VisitorAsk.visit_key, func.count())
        .where(VisitorAsk.visit_key.in_(wanted), VisitorAsk.asked_at >= since)
        .group_by(VisitorAsk.visit_key)
    )
    return {str(key): int(n) for key, n in db.execute(query)}


def approve(row: VisitorAsk, by: str, now: datetime) -> None:
    row.status, row.reason, row.decided_at, row.decided_by, row.ready_until = AskStatus.READY, None, now, by, now + ASK_LIFE


def settle(row: VisitorAsk, status: AskStatus, reason: str, by: str | None, now: datetime) -> None:
    row.status, row.reason, row.decided_at = status, reason, now
    if by is not None:
        row.decided_by = by


def at_door(row: VisitorAsk) -> VisitorAtDoor:
    """The ask as its door holds it: ready until its time (approved or by the night rule), or withdrawn."""
    until = as_utc(row.ready_until).timestamp() if row.status == AskStatus.READY and row.ready_until is not None else 0.0
    return VisitorAtDoor(row.id, row.visit_key, tuple(row.needs), row.decided_by is not None, until)


def settle_by_door(row: VisitorAsk, decided: Mapping[str, Any], now: datetime) -> None:
    """What the door decided on the visitor's pass: let in; told the night is over (the custodian must approve, so it
    waits again); or refused for now (the door is full or locked: the pass works again once it is not)."""
    if row.status not in OPEN:
        return
    reason = str(decided.get("reason"))
    if decided.get("admitted"):
        settle(row, AskStatus.ADMITTED, reason, None, now)
    elif reason == Verdict.NEEDS_APPROVAL and row.status == AskStatus.READY and row.decided_by is None:
        # A night ask scanned after the night: the custodian decides now. (An approved ask cannot need approval: such an
        # answer is older than the approval, and changes nothing.)
        row.status, row.reason, row.ready_until = AskStatus.WAITING, reason, None
    else:
        row.reason = reason


def purge(db: Session, before: datetime) -> int:
    """Forget the visitor records asked before ``before`` (the retention period's start); returns how many."""
    return int(db.execute(delete(VisitorAsk).where(VisitorAsk.asked_at < before)).rowcount)  # type: ignore[attr-defined]
