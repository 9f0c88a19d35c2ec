"""The purge behind ``[privacy]`` (issue 12, item 6): the door log, visitors' asks and face consents each forgotten
after their own period, nothing else touched, the faces queued for the terminals to forget, one audit entry of counts;
on SQLite and PostgreSQL. And a visitor's phone becomes a visit key that links their asks and nothing else."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from store import visitors
from store.audit import AuditLog, load_or_create_key
from store.db import sessions
from store.members import Actor, Members, faces_to_forget, visit_secret
from store.models import AuditEntry, HistoryRow, Member, VisitorAsk
from store.privacy import Periods, purge

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
PERIODS = Periods(door_log_days=30, visitor_records_days=7, face_consent_days=365)
OFFICER = Actor("officer", "admin", "10.0.0.5")


def _row(name: str, days_ago: float) -> HistoryRow:
    return HistoryRow(station="yunting", seq=0, at=NOW - timedelta(days=days_ago), entity_id="door", name=name, version=0, t=0.0,
                      data={"reason": "member", "admitted": True})  # fmt: skip


def test_each_kind_goes_after_its_own_period_and_nothing_else(engine: Engine, tmp_path: Path) -> None:
    key_file = tmp_path / "audit.key"
    audit, key = AuditLog(key_file), load_or_create_key(key_file)
    register = Members(audit, key)
    made = sessions(engine)
    with made.begin() as db:
        db.add_all([_row("door_decided", 31), _row("worker_entered", 40), _row("door_decided", 29), _row("state", 60)])
        elsewhere = _row("door_decided", 90)
        elsewhere.station = "elsewhere"  # another station's log in the same database is its own
        db.add(elsewhere)
        old = visitors.ask(db, visit_secret(key), "13800138000", ["toilet"], "door", "10.0.0.1", False, NOW - timedelta(days=8))
        recent = visitors.ask(db, visit_secret(key), "13900139000", ["rest"], "door", "10.0.0.1", False, NOW - timedelta(days=6))
        lapsed = register.enrol(db, OFFICER, {"name": "王小明", "phone": "13700137000", "face_consent": True,
                                              "face_consent_on": date(2025, 12, 1), "face_consent_scope": "门禁"})  # fmt: skip
        kept = register.enrol(db, OFFICER, {"name": "李四", "phone": "13600136000", "face_consent": True,
                                            "face_consent_on": date(2026, 6, 1)})  # fmt: skip
    done = purge(made, "yunting", PERIODS, audit, key, NOW)
    assert (done.door_log, done.visitor_records, done.consents_lapsed) == (2, 1, [lapsed.id])
    with made() as db:
        left = sorted((r.station, r.name, round((NOW - r.at.replace(tzinfo=UTC)).days)) for r in db.scalars(select(HistoryRow)))
        assert left == [("elsewhere", "door_decided", 90), ("yunting", "door_decided", 29), ("yunting", "state", 60)]
        assert [a.id for a in db.scalars(select(VisitorAsk))] == [recent.ask.id] != [old.ask.id]
        assert db.get(Member, lapsed.id).face_consent is False  # type: ignore[union-attr]
        assert db.get(Member, lapsed.id).face_consent_on is None  # type: ignore[union-attr]
        assert db.get(Member, kept.id).face_consent is True  # type: ignore[union-attr]
        assert faces_to_forget(db) == [lapsed.id], "the terminals are told to forget the lapsed face"
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "privacy_purged")).one()
        assert entry.username == "station" and entry.after["door_log"] == 2 and entry.after["consents_lapsed"] == 1
        assert "王小明" not in str(entry.after) and "13700137000" not in str(entry.after)
    assert purge(made, "yunting", PERIODS, audit, key, NOW) == type(done)(0, 0, []), "nothing left: nothing done or audited"
    with made() as db:
        assert db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "privacy_purged")) == 1


@settings(max_examples=50, deadline=None)
@given(phone=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), other=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_a_visit_key_links_one_phone_and_never_shows_it(phone: str, other: str) -> None:
    secret = visit_secret(b"station key")
    key = visitors.visitor_visit(secret, phone)
    assert key == visitors.visitor_visit(secret, phone) and phone not in key
    assert (key == visitors.visitor_visit(secret, other)) == (phone == other)
    assert key != visitors.visitor_visit(visit_secret(b"another station"), phone), "another station's keys link nothing"


def test_a_consent_given_anew_since_the_purge_looked_is_kept(engine: Engine, tmp_path: Path) -> None:
    key_file = tmp_path / "audit.key"
    register = Members(AuditLog(key_file), load_or_create_key(key_file))
    made = sessions(engine)
    with made.begin() as db:
        member = register.enrol(
            db, OFFICER, {"name": "王小明", "phone": "13700137000", "face_consent": True, "face_consent_on": date(2026, 12, 6)}
        )
    with made.begin() as db:  # the purge looked for consents before 2026-01-01; this one is newer
        assert register.lapse_consent(db, OFFICER, member.id, date(2026, 1, 1)) is False
    with made() as db:
        assert db.get(Member, member.id).face_consent is True  # type: ignore[union-attr]
