"""The member register (store/members.py) on SQLite and PostgreSQL: its rules, its audit, and forgetting a member.

The property that matters most to a worker: once deleted, their name and phone are
nowhere in the database (every table, every text and JSON column, the audit log
included), whatever was done to them before.
"""

from __future__ import annotations

import json
import string
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError
from sqlalchemy import Engine, MetaData, select, text
from sqlalchemy.orm import Session, sessionmaker

from actors.door_access import MemberStanding, Standing
from scenarios.i18n import LANGUAGES, TEXT
from store.audit import AuditLog, load_or_create_key
from store.db import sessions
from store.members import (
    Actor,
    MemberConflict,
    MemberIn,
    MemberInvalid,
    MemberNotFound,
    Members,
    WorkerGroup,
    normalise_phone,
    say,
    search,
    standings,
)
from store.models import AuditEntry, Base, Member

OFFICER = Actor("officer", "admin", "10.0.0.5")
CJK = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"


@pytest.fixture
def register(tmp_path: Path) -> Members:
    key_file = tmp_path / "audit.key"
    return Members(AuditLog(key_file), load_or_create_key(key_file))


@pytest.fixture
def made(engine: Engine) -> sessionmaker[Session]:
    return sessions(engine)


def enrol(made: sessionmaker[Session], register: Members, **values: Any) -> Member:
    with made.begin() as db:
        return register.enrol(db, OFFICER, {"name": "张三", "phone": "13800138000", **values})


def problems(error: pytest.ExceptionInfo[Any]) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in error.value.problems]


def test_the_model_is_what_the_migrations_make(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in differences if "member" in str(d)] == []


def test_enrolment_stores_the_normalised_values_and_a_visit_key(made: sessionmaker[Session], register: Members) -> None:
    member = enrol(made, register, phone="+86 138-0013-8000", worker_group="快递员", member_no="A 001", face_consent="是",
                   face_consent_on="2024年5月1日", face_consent_scope="门禁刷脸")  # fmt: skip
    with made() as db:
        stored = db.get(Member, member.id)
        assert stored is not None
        assert (stored.phone, stored.worker_group, stored.member_no) == ("13800138000", "couriers", "A001")
        assert (stored.face_consent, stored.face_consent_on, stored.status) == (True, date(2024, 5, 1), "active")
        assert stored.visit_key and len(stored.visit_key) == 64
        assert stored.created_at is not None and stored.updated_at is not None


def test_a_visit_key_is_drawn_afresh_for_every_enrolment(made: sessionmaker[Session], register: Members) -> None:
    """A deleted member's visits link to nobody: not to the next member given the same number (SQLite reuses the
    highest id once it is deleted), whose key is a new draw."""
    first = enrol(made, register)
    with made.begin() as db:
        gone = db.get(Member, first.id)
        assert gone is not None
        key = gone.visit_key
        register.delete(db, OFFICER, first.id)
    again = enrol(made, register)
    with made() as db:
        stored = db.get(Member, again.id)
        assert stored is not None and stored.visit_key != key
        assert {m.visit: m.member for m in standings(db).values()} == {stored.visit_key: again.id}, "the door learns the new key"


def test_a_phone_or_number_is_enrolled_once(made: sessionmaker[Session], register: Members) -> None:
    first = enrol(made, register, member_no="A001")
    with pytest.raises(MemberConflict) as error:
        enrol(made, register, name="李四", phone="138 0013 8000", member_no="A001")
    assert problems(error) == [("phone", "phone_enrolled"), ("member_no", "member_no_enrolled")]
    assert all(p.params == {"member": first.id} for p in error.value.problems)


def test_the_unique_constraint_is_the_last_guard(made: sessionmaker[Session], register: Members) -> None:
    """A write that skipped the check (a race past the lock, a future path) is refused by the database, as a conflict."""
    enrol(made, register)
    with pytest.raises(MemberConflict) as error, made.begin() as db:
        register.enrol_many(db, OFFICER, [MemberIn(name="李四", phone="13800138000")])
    assert problems(error) == [("", "enrolled_meanwhile")]


def test_every_mistake_is_named_with_its_field(made: sessionmaker[Session], register: Members) -> None:
    with pytest.raises(MemberInvalid) as error:
        enrol(made, register, name="x" * 10_000, phone="12345", worker_group="astronaut", face_consent="是", nickname="z")
    assert problems(error) == [
        ("name", "too_long"), ("phone", "phone"), ("worker_group", "group"), ("face_consent_on", "consent_without_date"),
        ("nickname", "unknown"),
    ]  # fmt: skip
    said = [say(p, "zh") for p in error.value.problems]
    assert said[0] == "姓名：太长，最多 64 个字" and "外卖骑手、快递员" in said[2]
    with made() as db:
        assert db.scalar(select(Member.id)) is None


def test_changes_are_checked_whole_and_audited_without_the_person(made: sessionmaker[Session], register: Members) -> None:
    member = enrol(made, register)
    with made.begin() as db:
        changed = register.change(db, OFFICER, member.id, {"name": "张小三", "phone": "13900139000", "worker_group": "环卫"})
        assert (changed.name, changed.phone, changed.worker_group) == ("张小三", "13900139000", "sanitation")
    with pytest.raises(MemberInvalid) as error, made.begin() as db:
        register.change(db, OFFICER, member.id, {"face_consent_scope": "all doors"})
    assert problems(error) == [("face_consent_scope", "no_consent")]
    with made() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "member_changed")).one()
    assert entry.target == f"member:{member.id}" and entry.after is not None
    assert entry.after["changed"] == ["name", "phone", "worker_group"]
    assert "张" not in json.dumps([entry.before, entry.after], ensure_ascii=False) and "139" not in json.dumps(entry.after)


def test_ban_needs_a_reason_and_may_lapse(made: sessionmaker[Session], register: Members) -> None:
    member = enrol(made, register)
    with pytest.raises(MemberInvalid) as error, made.begin() as db:
        register.set_status(db, OFFICER, member.id, Standing.BANNED, until=datetime(2020, 1, 1, tzinfo=UTC))
    assert problems(error) == [("status_reason", "reason_needed"), ("status_until", "until_past")]
    until = datetime.now(UTC) + timedelta(days=7)
    with made.begin() as db:
        register.set_status(db, OFFICER, member.id, Standing.BANNED, "打架，张三本人承认", until)
    with made() as db:
        stored = db.get(Member, member.id)
        assert stored is not None and stored.status == "banned" and stored.status_reason == "打架，张三本人承认"
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "member_banned")).one()
        assert entry.after is not None and entry.after["reason_given"] is True and "打架" not in json.dumps(entry.after)
    with made.begin() as db:
        register.set_status(db, OFFICER, member.id, Standing.ACTIVE)
    with made() as db:
        stored = db.get(Member, member.id)
        assert stored is not None and (stored.status, stored.status_reason, stored.status_until) == ("active", None, None)
    with pytest.raises(MemberNotFound), made.begin() as db:
        register.set_status(db, OFFICER, 999, Standing.DEACTIVATED)


def test_search_finds_by_name_phone_or_number_a_bounded_page_at_a_time(made: sessionmaker[Session], register: Members) -> None:
    for i in range(12):
        enrol(made, register, name=f"王{i:02d}", phone=f"1380013{i:04d}", member_no=f"N-{i}")
    enrol(made, register, name="100%_李", phone="13900000000")
    with made() as db:
        assert [m.name for m in search(db, "王0").members] == [f"王0{i}" for i in range(10)]
        assert [m.name for m in search(db, "+86 138-0013-0011").members] == ["王11"]
        assert [m.name for m in search(db, "n-1").members] == ["王01", "王10", "王11"]
        assert [m.name for m in search(db, "%_").members] == ["100%_李"]  # wildcards are letters here
        first = search(db, "王", limit=5)
        second = search(db, "王", limit=5, after=first.next_after or 0)
        last = search(db, "王", limit=5, after=second.next_after or 0)
        assert [len(p.members) for p in (first, second, last)] == [5, 5, 2] and last.next_after is None
        with pytest.raises(MemberInvalid):
            search(db, "王", limit=10_000)
        with pytest.raises(MemberInvalid):
            search(db, "x" * 65)


def test_each_worker_group_is_named_in_every_language() -> None:
    assert all(f"group.{group.value}" in TEXT[lang] for group in WorkerGroup for lang in LANGUAGES)


# ---- phones ------------------------------------------------------------------------------------------------------------

MOBILES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@given(MOBILES, st.sampled_from(["", "+86", "+86 ", "0086", "86", "(+86) "]), st.sampled_from(["", " ", "-"]))
def test_a_mobile_number_however_written_normalises_to_its_11_digits(phone: str, prefix: str, separator: str) -> None:
    written = prefix + separator.join((phone[:3], phone[3:7], phone[7:]))
    assert normalise_phone(written) == phone
    assert normalise_phone(normalise_phone(written)) == phone
    assert normalise_phone(written.translate(str.maketrans(string.digits, "０１２３４５６７８９"))) == phone  # full-width


@given(st.text(max_size=20))
def test_anything_else_is_refused_or_a_mobile(text_: str) -> None:
    try:
        found = normalise_phone(text_)
    except PydanticCustomError as exc:
        assert exc.type in ("phone", "missing")
    else:
        assert len(found) == 11 and found.isdigit() and found[0] == "1"


# ---- forgetting a member -----------------------------------------------------------------------------------------------


def every_text(engine: Engine) -> Iterator[tuple[str, str, str]]:
    """(table, column, text) for every string and JSON value in every table of the database."""
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as connection:
        for table in tables.sorted_tables:
            for row in connection.execute(select(table)).mappings():
                for column, value in row.items():
                    if isinstance(value, str):
                        yield table.name, column, value
                    elif isinstance(value, dict | list):
                        yield table.name, column, json.dumps(value, ensure_ascii=False)


NAMES = st.text(alphabet=CJK + "abc ·", min_size=2, max_size=20).filter(lambda n: any(c in CJK for c in n) and n == " ".join(n.split()))
PEOPLE = st.lists(st.tuples(NAMES, MOBILES), min_size=1, max_size=4, unique_by=(lambda p: p[0], lambda p: p[1]))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=PEOPLE, renamed=st.lists(st.tuples(NAMES, MOBILES), max_size=2), banned=st.booleans())
def test_a_deleted_member_is_nowhere_in_the_database(
    engine: Engine, register: Members, people: list[tuple[str, str]], renamed: list[tuple[str, str]], banned: bool
) -> None:
    made = sessions(engine)
    with made.begin() as db:
        db.execute(text("DELETE FROM member"))
    ids = [enrol(made, register, name=name, phone=phone, member_no=f"no-{i}", employer=name).id for i, (name, phone) in enumerate(people)]
    for name, phone in renamed:  # the first member changes name and phone: the old ones must go too
        with made.begin() as db:
            if phone not in {p for _, p in people}:
                register.change(db, OFFICER, ids[0], {"name": name, "phone": phone, "face_consent_scope": None})
    with made.begin() as db:
        if banned:
            register.set_status(db, OFFICER, ids[0], Standing.BANNED, f"{people[0][0]} 打架")
        register.audit_export(db, OFFICER, len(ids), "csv")
    with made.begin() as db:
        for member_id in ids:
            register.delete(db, OFFICER, member_id)
    secrets = {value for person in [*people, *renamed] for value in person}
    found = [(table, column) for table, column, value in every_text(engine) for secret in secrets if secret in value]
    assert found == []
    with made() as db:
        assert {entry.target for entry in db.scalars(select(AuditEntry).where(AuditEntry.action == "member_deleted"))} >= {
            f"member:{i}" for i in ids
        }
        assert register._audit.verify(db) == []


def test_a_deleted_member_is_not_left_in_the_sqlite_file(tmp_path: Path, register: Members) -> None:
    """secure_delete: the freed pages are zeros, so the name is not in the file for someone who reads it with a hex editor."""
    from store.db import engine_for, migrate

    engine = engine_for(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    made = sessions(engine)
    members = [enrol(made, register, name=f"赵{i}敏", phone=f"1390000{i:04d}") for i in range(30)]
    with made.begin() as db:
        register.delete(db, OFFICER, members[7].id)
    engine.dispose()  # the last connection checkpoints the write-ahead log into the file and removes it
    content = b"".join(p.read_bytes() for p in tmp_path.glob("m.db*"))
    assert "赵8敏".encode() in content
    assert "赵7敏".encode() not in content and b"13900000007" not in content


def test_parallel_enrolments_of_one_phone_store_it_once(made: sessionmaker[Session], register: Members) -> None:
    outcomes: list[str] = []

    def attempt(name: str) -> None:
        try:
            enrol(made, register, name=name)
            outcomes.append("enrolled")
        except MemberConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(f"张{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "enrolled"]
    with made() as db:
        assert len(search(db, "13800138000").members) == 1


def test_the_door_learns_each_members_standing_and_nothing_personal(made: sessionmaker[Session], register: Members) -> None:
    """What the door decides by (actors/door_access.py): standing, when it lapses, face consent, and the visit key it
    logs by; no name or phone."""
    kept = enrol(made, register, worker_group="riders", face_consent="是", face_consent_on="2024-05-01", face_consent_scope="门禁")
    banned = enrol(made, register, name="李四", phone="13900139000")
    until = datetime(2030, 1, 1, tzinfo=UTC)
    with made.begin() as db:
        register.set_status(db, OFFICER, banned.id, Standing.BANNED, "fought at the door", until)
    with made() as db:
        known = standings(db)
    assert known[kept.id] == MemberStanding(kept.id, Standing.ACTIVE, None, True, kept.visit_key)
    assert known[banned.id] == MemberStanding(banned.id, Standing.BANNED, until.timestamp(), False, banned.visit_key)
    assert "张三" not in repr(known) and "13800138000" not in repr(known)
