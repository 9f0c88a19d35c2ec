"""Feedback and complaints from the station's phone page, and their handling.

Anyone may rate the station (1-5), say something, or complain under a category; nobody has to
say who they are (a signed-in member may choose to attach their membership). The page keeps a
random token, of which only the SHA-256 is stored, to come back for the answer. The address a
message came from (an IPv6 one by its /64, which one phone can fill) is kept only as a keyed hash,
to bound floods (``MOST_FROM_ONE_PLACE`` an hour), never shown, and blanked by the privacy purge
once the hour has passed; ``MOST_AN_HOUR`` bounds the whole station's, whatever the addresses.

A complaint is due ``DUE`` after it is made (Fuzhou's star rating counts complaints unresolved
in time): it is assigned to a staff member, answered (the answer is shown on the
complainant's page) and closed. An open complaint past its deadline is overdue, computed on
read, so the star figures and the staff list agree without a job.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from actors.door_access import visit_key
from store.db import as_utc, hold_write_lock
from store.errors import Refusal, unprintable
from store.models import Feedback

CATEGORIES = ("cleanliness", "equipment", "supplies", "staff", "safety", "opening_hours", "other")
"""What a complaint is about (the station's own words for Fuzhou's rating items)."""
DUE = timedelta(days=3)
"""ASSUMPTION: three days to resolve a complaint, as city union stations commonly promise; a station may decide otherwise."""
MOST_FROM_ONE_PLACE = 10
"""Messages an hour from one address: a family's phones on the station's Wi-Fi, not a script."""
MOST_AN_HOUR = 120
"""ASSUMPTION: messages an hour from everyone: a busy station sees a few hundred people a day, and a flood from many
addresses must not bury the custodian's list (nor cost the station its complaints star)."""
MOST_OPEN_LISTED = 200
"""Open complaints the staff page lists at once, the most urgent first."""
PLACE_KEPT = timedelta(hours=1)
"""How long the keyed hash of a message's address is needed: the flood bound's window."""
MOST_TEXT = 500
_LOCK_KEY = 0x79787966  # "yxyf"


class Status(StrEnum):
    NOTED = "noted"
    OPEN = "open"
    ASSIGNED = "assigned"
    ANSWERED = "answered"
    CLOSED = "closed"


OPEN_STATES = (Status.OPEN.value, Status.ASSIGNED.value, Status.ANSWERED.value)
"""A complaint not yet closed."""


class FeedbackError(Refusal):
    """A message or a step of handling a complaint that cannot be taken."""


@dataclass(frozen=True)
class Given:
    row: Feedback
    token: str
    """Given to the page once; the row keeps only its hash."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _text(text: str, where: str) -> str:
    cleaned = text.strip()
    if len(cleaned) > MOST_TEXT:
        raise FeedbackError("feedback_text", f"{where}: {len(cleaned)} characters, at most {MOST_TEXT}", field=where)
    if unprintable(cleaned, allowed="\n\t"):
        raise FeedbackError("feedback_text", f"{where}: control characters are not text", field=where)
    return cleaned


def give(
    db: Session, secret: bytes, place: str, rating: int | None, comment: str, category: str | None, member_id: int | None, now: datetime
) -> Given:
    """Keep one message; a complaint (``category`` given) opens, due ``DUE`` from now."""
    if rating is None and category is None and not comment.strip():
        raise FeedbackError("feedback_empty", "give a rating, a comment or a complaint")
    if rating is not None and not 1 <= rating <= 5:
        raise FeedbackError("feedback_rating", "rating: 1 to 5 stars")
    if category is not None and category not in CATEGORIES:
        raise FeedbackError("feedback_category", f"category: one of {', '.join(CATEGORIES)}", category=category[:32])
    if category is not None and not comment.strip():
        raise FeedbackError("feedback_text", "say what the complaint is about", field="comment")
    said = _text(comment, "comment")
    hold_write_lock(db, _LOCK_KEY)
    place_key = visit_key(secret, f"feedback:{_network(place)}")
    this_hour = select(func.count()).select_from(Feedback).where(Feedback.at >= now - PLACE_KEPT)
    recent = db.scalar(this_hour.where(Feedback.place == place_key))
    if (recent or 0) >= MOST_FROM_ONE_PLACE:
        raise FeedbackError("feedback_too_many", f"{recent} messages from here this hour: please come back later")
    if (db.scalar(this_hour) or 0) >= MOST_AN_HOUR:
        raise FeedbackError("feedback_too_many", f"{MOST_AN_HOUR} messages this hour from everyone: please come back later")
    token = secrets.token_urlsafe(24)
    complaint = category is not None
    row = Feedback(
        at=now, rating=rating, comment=said, category=category, member_id=member_id, token_hash=token_hash(token), place=place_key,
        status=(Status.OPEN if complaint else Status.NOTED).value, due=now + DUE if complaint else None,
    )  # fmt: skip
    db.add(row)
    db.flush()
    return Given(row, token)


def by_token(db: Session, token: str) -> Feedback | None:
    return db.scalar(select(Feedback).where(Feedback.token_hash == token_hash(token)))


def overdue(row: Feedback, now: datetime) -> bool:
    """A complaint still open past its deadline (an answered one is not closed until the station closes it)."""
    return row.status in OPEN_STATES and row.due is not None and as_utc(row.due) < now


def open_for_handling(db: Session, feedback_id: int) -> Feedback:
    hold_write_lock(db, _LOCK_KEY)
    row = db.get(Feedback, feedback_id, populate_existing=True)
    if row is None or row.category is None:
        raise FeedbackError("complaint_unknown", f"there is no complaint {feedback_id}")
    if row.status == Status.CLOSED.value:
        raise FeedbackError("complaint_closed", f"complaint {feedback_id} is closed")
    return row


def assign(row: Feedback, assignee: str) -> None:
    row.assignee = assignee[:64]
    if row.status == Status.OPEN.value:
        row.status = Status.ASSIGNED.value


def answer(row: Feedback, reply: str, username: str, now: datetime) -> None:
    said = _text(reply, "reply")
    if not said:
        raise FeedbackError("feedback_text", "reply: say what was done", field="reply")
    row.reply, row.replied_at, row.replied_by, row.status = said, now, username[:64], Status.ANSWERED.value


def close(row: Feedback, now: datetime) -> None:
    if row.reply is None:
        raise FeedbackError("complaint_unanswered", "answer the complaint before closing it")
    row.status, row.closed_at = Status.CLOSED.value, now


def recent(db: Session, since: datetime, complaints_only: bool, limit: int) -> list[Feedback]:
    query = select(Feedback).where(Feedback.at >= since).order_by(Feedback.id.desc()).limit(limit)
    if complaints_only:
        query = query.where(Feedback.category.is_not(None))
    return list(db.scalars(query))


def open_complaints(db: Session) -> list[Feedback]:
    """The open complaints, the first due first, at most ``MOST_OPEN_LISTED``."""
    query = select(Feedback).where(Feedback.status.in_(OPEN_STATES)).order_by(Feedback.due, Feedback.id).limit(MOST_OPEN_LISTED)
    return list(db.scalars(query))


def _network(address: str) -> str:
    """Where a message came from, as a flood is bounded: an IPv4 address, or an IPv6 address's /64 (one phone's network
    hands it a whole /64 to pick addresses from)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:  # a dual-stack proxy's IPv4 client
        ip = ip.ipv4_mapped
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)
