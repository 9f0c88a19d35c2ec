"""The city's daily counts: per worker group and day in the station's zone, nobody named, small counts withheld."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from store.audit import AuditLog, load_or_create_key
from store.db import sessions
from store.federation import FORMAT, GROUPS, SMALLEST_SHOWN, FederationError, daily_counts
from store.members import Actor, Members
from store.models import HistoryRow

OFFICER = Actor("officer", "admin", "127.0.0.1")
ZONE = "Asia/Shanghai"
DAY = date(2026, 12, 6)
NOON = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def decided(engine: Engine, rows: list[tuple[datetime, dict[str, Any]]]) -> None:
    with Session(engine) as db, db.begin():
        db.execute(delete(HistoryRow))
        for seq, (at, data) in enumerate(rows, start=1):
            db.add(HistoryRow(station="yunting", seq=seq, at=at, entity_id="door", name="door_decided", version=seq, data=data, t=0.0))


def admitted(visit: str | None, visitor: bool = False) -> dict[str, Any]:
    """An admission as the live door records it (``test_the_doors_own_records_are_counted`` holds the two together)."""
    if visitor:
        return {"reason": "visitor_at_night", "admitted": True, "visit": visit, "via": "visitor", "waited_s": 0.0, "ask": 1}
    return {"reason": "member", "admitted": True, "visit": visit, "via": "pass", "waited_s": 0.0, "spent": {"ab": 1.0}}


def enrol(engine: Engine, tmp_path: Path, people: list[tuple[str, str, str]]) -> list[str]:
    """The members' visit keys."""
    register = Members(AuditLog(tmp_path / "audit.key"), load_or_create_key(tmp_path / "audit.key"))
    with sessions(engine).begin() as db:
        return [str(register.enrol(db, OFFICER, {"name": n, "phone": p, "worker_group": g}).visit_key) for n, p, g in people]


def test_entries_and_people_per_group_visitors_apart_and_the_deleted_unknown(engine: Engine, tmp_path: Path) -> None:
    rider_a, rider_b, rider_c, cleaner = enrol(engine, tmp_path, [
        ("张三", "13800138001", "riders"), ("李四", "13800138002", "riders"), ("王五", "13800138003", "riders"),
        ("赵六", "13800138004", "sanitation"),
    ])  # fmt: skip
    gone = "f" * 64  # a member since deleted: their key links nobody
    rows = [(NOON + timedelta(minutes=n), admitted(m)) for n, m in enumerate([rider_a, rider_a, rider_b, rider_c, cleaner, gone])]
    rows += [(NOON + timedelta(minutes=30 + n), admitted(f"visitor-{n % 3}", visitor=True)) for n in range(4)]
    rows += [(NOON, {"reason": "expired", "admitted": False, "visit": None, "via": "pass", "waited_s": 0.0})] * 3
    rows.append((datetime(2026, 12, 6, 16, 30, tzinfo=UTC), admitted(rider_a)))  # 00:30 on the 7th in Shanghai
    decided(engine, rows)
    document = daily_counts(engine, "yunting", ZONE, DAY, DAY + timedelta(days=1))
    assert document["format"] == FORMAT and document["smallest_shown"] == SMALLEST_SHOWN
    sixth, seventh = document["days"]
    assert sixth["date"] == "2026-12-06" and seventh["date"] == "2026-12-07"
    assert sixth["entries"]["riders"] == 4 and sixth["people"]["riders"] == 3
    assert sixth["entries"]["sanitation"] is None and sixth["people"]["sanitation"] is None  # one worker: withheld
    assert sixth["entries"]["unknown"] is None  # a member since deleted: counted, with no group, and one is withheld
    assert sixth["entries"]["visitor"] == 4 and sixth["people"]["visitor"] == 3  # linked by their keys within the station
    assert sixth["turned_away"]["expired"] == 3 and sixth["turned_away"]["banned"] == 0
    assert seventh["entries"]["riders"] is None and sum(v or 0 for v in seventh["entries"].values()) == 0
    text = json.dumps(document, ensure_ascii=False)
    assert not any(name in text for name in ("张三", "13800138001", "王五"))
    assert set(sixth["entries"]) == set(GROUPS)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=47), st.sampled_from([None, "a", "b", "c"]), st.booleans()), max_size=40))
def test_a_count_is_sent_true_or_withheld_never_wrong(engine: Engine, events: list[tuple[int, str | None, bool]]) -> None:
    rows = []
    for half_hour, member, ok in events:
        at = datetime(2026, 12, 5, 16, tzinfo=UTC) + timedelta(minutes=30 * half_hour)  # the 6th and 7th in Shanghai
        data = (admitted(member) if member else admitted("v", visitor=True)) if ok else {
            "reason": "forged", "admitted": False, "visit": None, "via": "pass", "waited_s": 0.0}  # fmt: skip
        rows.append((at, data))
    decided(engine, rows)
    document = daily_counts(engine, "yunting", ZONE, DAY, DAY + timedelta(days=1))
    truth: Counter[tuple[str, str]] = Counter()
    for half_hour, member, ok in events:
        day = (DAY + timedelta(days=half_hour // 48)).isoformat()
        truth[(day, ("unknown" if member else "visitor") if ok else "forged")] += 1
    for shown in document["days"]:
        for key, value in [*shown["entries"].items(), *shown["turned_away"].items()]:
            real = truth[(shown["date"], key)]
            assert value == real if value is not None else 0 < real < SMALLEST_SHOWN


def test_a_period_backwards_or_longer_than_a_year_is_refused(engine: Engine) -> None:
    with pytest.raises(FederationError, match="before it begins"):
        daily_counts(engine, "yunting", ZONE, DAY, DAY - timedelta(days=1))
    with pytest.raises(FederationError, match="at most 366"):
        daily_counts(engine, "yunting", ZONE, DAY, DAY + timedelta(days=400))


def test_the_command_writes_the_document_and_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    database = f"sqlite:///{tmp_path / 'yxy.db'}"
    runner = CliRunner()
    out = tmp_path / "counts.json"
    done = runner.invoke(
        app, ["federation", "export", "--from", "2026-12-01", "--to", "2026-12-07", "--database", database, "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert [d["date"] for d in document["days"]] == [f"2026-12-0{n}" for n in range(1, 8)]
    assert document["station"] == "yunting" and document["timezone"] == ZONE
    for wrong in (["--from", "2026-13-01"], ["--from", "2026-12-07", "--to", "2026-12-01"], ["--from", "2026-01-01", "--to", "2027-12-31"]):
        refused = runner.invoke(app, ["federation", "export", *wrong, "--database", database])
        assert refused.exit_code == 2 and "error:" in refused.output and "Traceback" not in refused.output


def test_the_doors_own_records_are_counted(engine: Engine, tmp_path: Path) -> None:
    """The live door's own record of a member let in by pass (not a hand-made one) counts in their group."""
    import secrets
    import time

    import simpy

    from actors.door import DoorConfig, DoorPolicy
    from actors.door_pass import issue
    from actors.message import DeviceEvent, Register
    from scenarios.sim import SimBinding
    from store.members import standings
    from twin.clock import Clock
    from twin.entity import Twin

    enrol(engine, tmp_path, [("张三", "13800138001", "riders")])
    with sessions(engine)() as db:
        register = Register(b"k" * 32, "yunting", standings(db), time.time())
    env = simpy.Environment()
    twin = Twin("yunting", retain=0)
    heard: list[dict[str, Any]] = []
    twin.subscribe(lambda change: heard.append(dict(change.data)), names=["door_decided"])
    binding = SimBinding(env, twin, Clock(datetime(2026, 12, 6, 12), lambda: env.now), 7)
    binding.host(DoorPolicy, "door", DoorConfig(capacity=40))
    binding.deliver("door", register)
    (member,) = register.members
    binding.deliver(
        "door", DeviceEvent("pass_scanned", {"text": issue(b"k" * 32, "yunting", member, time.time(), secrets.token_urlsafe(12))})
    )
    assert heard and heard[0]["admitted"]
    decided(engine, [(NOON, heard[0])])
    (day,) = daily_counts(engine, "yunting", ZONE, DAY, DAY)["days"]
    assert sum(v or 0 for v in day["entries"].values()) == 0 and day["entries"]["riders"] is None  # one rider: withheld, not lost
    decided(engine, [(NOON + timedelta(minutes=n), heard[0]) for n in range(3)])
    (day,) = daily_counts(engine, "yunting", ZONE, DAY, DAY)["days"]
    assert day["entries"]["riders"] == 3 and day["entries"]["unknown"] == 0 and day["entries"]["visitor"] == 0
