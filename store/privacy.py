"""Personal data kept only as long as needed: the purge job behind the station file's ``[privacy]`` periods.

Three things about people age out, each by its own period (``Settings``):

- the door log (``door_decided``, ``worker_entered``, ``worker_left`` in the history), after
  ``door_log_days``: shorter than the history's own retention if the station says so;
- visitors' asks (``store.visitors``), after ``visitor_records_days``, and with the same period a member's link to
  what they said on the feedback page (the message stays, anonymous); the keyed hash of where a message came from
  after the hour the flood bound needs it (``store.feedback.PLACE_KEPT``);
- a consent to face entry, ``face_consent_days`` after the day it was given: it lapses like a
  withdrawal (the register's change, audited as the station's), so the face is forgotten by
  every terminal (``face_to_forget``) and the member is asked again if they want face entry.

Each run is one audit entry with the counts; each lapsed consent is also that member's own
entry (``member_consent_lapsed``, ``member:<id>``), as every change to the register is. The live station runs it at start and
every hour; ``yxy privacy purge`` runs it by hand or from cron for a station that is not running.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from actors.door import DOOR_DECIDED, DOOR_EVENTS, FACE_ENROLLED
from store import visitors
from store.audit import AuditLog
from store.feedback import PLACE_KEPT
from store.members import Actor, Members
from store.models import Feedback, HistoryRow, Member

logger = logging.getLogger(__name__)
STATION = Actor("station", "station", "")
"""Who the audit log says purged: the station's own job, not a person."""
DOOR_LOG = (DOOR_DECIDED, *DOOR_EVENTS, FACE_ENROLLED)
"""What the door records of people: its decisions, who came and went, the face templates it kept (by visit key)."""


@dataclass(frozen=True)
class Periods:
    door_log_days: float
    visitor_records_days: float
    face_consent_days: float


@dataclass(frozen=True)
class Purged:
    door_log: int
    visitor_records: int
    consents_lapsed: list[int]
    """The members whose consent lapsed (the live station tells the terminals to forget their faces)."""


def purge(made: sessionmaker[Session], station: str, periods: Periods, audit: AuditLog, station_key: bytes, now: datetime) -> Purged:
    """Forget what is past its period and say so in the audit log (counts only). The door log and the visitors' asks go
    in one transaction, each lapsed consent in its own (one member's trouble does not hold back the rest)."""
    with made.begin() as db:
        door_log = db.execute(
            delete(HistoryRow).where(
                HistoryRow.station == station, HistoryRow.name.in_(DOOR_LOG), HistoryRow.at < now - timedelta(days=periods.door_log_days)
            )
        ).rowcount  # type: ignore[attr-defined]
        visitor_records = visitors.purge(db, now - timedelta(days=periods.visitor_records_days))
        # A member's link to what they said on the feedback page ages out like a visit; what was said stays, anonymous.
        db.execute(
            update(Feedback)
            .where(Feedback.member_id.is_not(None), Feedback.at < now - timedelta(days=periods.visitor_records_days))
            .values(member_id=None)
        )
        # Where a message came from is needed for the flood bound's hour only.
        db.execute(update(Feedback).where(Feedback.place != "", Feedback.at < now - PLACE_KEPT).values(place=""))
        lapsed_before = (now - timedelta(days=periods.face_consent_days)).date()
        stale = list(db.scalars(select(Member.id).where(Member.face_consent.is_(True), Member.face_consent_on < lapsed_before).limit(1000)))
    register = Members(audit, station_key)
    lapsed = []
    for member in stale:
        try:
            with made.begin() as db:
                if register.lapse_consent(db, STATION, member, lapsed_before):
                    lapsed.append(member)
        except Exception:
            logger.exception("the face consent of member:%s could not be ended; tried again at the next purge", member)
    done = Purged(int(door_log), visitor_records, lapsed)
    if door_log or visitor_records or lapsed:
        with made.begin() as db:
            counts = {**asdict(done), "consents_lapsed": len(lapsed), **asdict(periods)}
            audit.append(db, STATION.username, STATION.role, "privacy_purged", station, None, counts, STATION.client)
    return done
