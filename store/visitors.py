"""Visitors at the door: a lost courier who is not a member asks on their phone; the door's night rule or the
custodian lets them in.

What is kept is what the station needs to count visitors and answer the one at the
door, and nothing to profile them:

- the phone is never stored: it is turned into a visit key (``actors.door_access.visit_key``
  of ``visitor:<phone>``) at once, so a visitor's repeat visits are counted (the custodian
  sees "3rd time this month") without anyone being able to read the number back;
- the visitor's page holds a random token; the row keeps its SHA-256;
- rows go after the station's retention for visitor records (``Retention.visitor_records_days``).

Bounds, each checked under the visitors' own write lock: at most ``MOST_WAITING`` asks wait
for the custodian at once (a script cannot bury the custodian's list); one phone has one ask
waiting (asking again replaces it); an unanswered ask expires after ``ASK_LIFE``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from actors.door_access import visit_key
from store.db import as_utc, hold_write_lock
from store.models import VisitorAsk

_LOCK_KEY = 0x79787673  # "yxvs"
ASK_LIFE = timedelta(minutes=10)
"""How long an ask waits for the custodian before the visitor's page says nobody answered."""
MOST_WAITING = 20
"""Asks waiting for the custodian at once, station-wide: more is a script, not a queue at one door."""
VISITOR_NEEDS = ("toilet", "drink_water", "rest", "charge_phone", "heat_meal")
"""What a visitor may ask to come in for (the catalog's ``need.<name>``); the door's night rule admits some of them."""
CUSTODIAN_REFUSED = "custodian_refused"
"""The reason of an ask the custodian turned down (``door.custodian_refused``)."""


class AskStatus(StrEnum):
    WAITING = "waiting"
    ADMITTED = "admitted"
    REFUSED = "refused"
    EXPIRED = "expired"


class VisitorError(Exception):
    """A visitor's or custodian's mistake: ``code`` is the catalog's ``problem_<code>``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def visitor_visit(secret: bytes, phone: str) -> str:
    """A visitor's visit key from their normalised phone (``store.members.normalise_phone``)."""
    return visit_key(secret, f"visitor:{phone}")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Asked:
    ask: VisitorAsk
    token: str
    """Given to the visitor's page once; the row keeps only its hash."""


def lock(db: Session) -> None:
    """Hold the visitors' write lock for the rest of ``db``'s transaction: two custodians answering one ask, or a flood
    of asks against ``MOST_WAITING``, are taken one after the other."""
    hold_write_lock(db, _LOCK_KEY)


def ask(db: Session, secret: bytes, phone: str, needs: Sequence[str], door: str, now: datetime) -> Asked:
    """Record a visitor's ask (``phone`` normalised) and return it with the token their page polls by."""
    wanted = tuple(dict.fromkeys(needs))
    if not wanted or any(need not in VISITOR_NEEDS for need in wanted):
        raise VisitorError("visitor_needs", f"say what you came for: one or more of {', '.join(VISITOR_NEEDS)}")
    lock(db)
    expire(db, now)
    key = visitor_visit(secret, phone)
    db.execute(
        update(VisitorAsk)
        .where(VisitorAsk.visit_key == key, VisitorAsk.status == AskStatus.WAITING)
        .values(status=AskStatus.EXPIRED, decided_at=now)
    )  # asking again replaces one's own waiting ask
    if waiting_count(db) >= MOST_WAITING:
        raise VisitorError("visitors_queue_full", f"{MOST_WAITING} visitors already wait for the custodian; please ring the bell")
    token = secrets.token_urlsafe(24)
    row = VisitorAsk(token_hash=token_hash(token), visit_key=key, door=door, needs=list(wanted), asked_at=now, status=AskStatus.WAITING)
    db.add(row)
    db.flush()
    return Asked(row, token)


def by_token(db: Session, token: str, now: datetime) -> VisitorAsk | None:
    row = db.scalar(select(VisitorAsk).where(VisitorAsk.token_hash == token_hash(token)))
    if row is not None and row.status == AskStatus.WAITING and _expired(row, now):
        row.status, row.decided_at = AskStatus.EXPIRED, now
    return row


def get(db: Session, ask_id: int) -> VisitorAsk | None:
    return db.get(VisitorAsk, ask_id)


def waiting_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(VisitorAsk).where(VisitorAsk.status == AskStatus.WAITING)) or 0


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


def settle(row: VisitorAsk, status: AskStatus, reason: str, by: str | None, now: datetime) -> None:
    row.status, row.reason, row.decided_at, row.decided_by = status, reason, now, by


def expire(db: Session, now: datetime) -> int:
    """Asks nobody answered within ``ASK_LIFE`` are expired; returns how many."""
    result = db.execute(
        update(VisitorAsk)
        .where(VisitorAsk.status == AskStatus.WAITING, VisitorAsk.asked_at < now - ASK_LIFE)
        .values(status=AskStatus.EXPIRED, decided_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def purge(db: Session, before: datetime) -> int:
    """Forget the visitor records asked before ``before`` (the retention period's start); returns how many."""
    return int(db.execute(delete(VisitorAsk).where(VisitorAsk.asked_at < before)).rowcount)  # type: ignore[attr-defined]


def _expired(row: VisitorAsk, now: datetime) -> bool:
    return as_utc(row.asked_at) < now - ASK_LIFE
