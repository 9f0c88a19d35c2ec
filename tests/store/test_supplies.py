"""The station's supplies (issue 14): whatever moves come, in any order, stock never goes below nought, and the alarm book
holds a stock-out alarm exactly while the shelf people take from is empty (a low-stock one at the reorder point), and
after every use that found it short; fifty parallel writers on PostgreSQL (proposals, approvals, consumption) leave the
books balanced and chained and the stock exact. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from scenarios.schema import Supply
from station.supplies import keep_alarms
from store import spending, supplies
from store.audit import AuditLog
from store.db import sessions
from store.ledger import Ledger, attestations, attested_in, ensure_accounts
from store.models import LedgerEntry, SupplyMove, SupplyStock
from store.supplies import STOCK_LOW, STOCK_OUT, MoveKind, SupplyError
from twin.alarm import AlarmBook
from twin.entity import Twin

CUPS = Supply("cups", "纸杯 Paper cups", "个 cups", "consumable", (("water", 1), ("coffee", 1)), 5, 40, ("corner", "storeroom"))
UMBRELLAS = Supply("umbrellas", "雨伞 Umbrellas", "把", "loan", (), 2, 10, ("door",))
STATION = (CUPS, UMBRELLAS)
AT = datetime(2026, 12, 7, 9, tzinfo=UTC)

moves = st.lists(
    st.tuples(
        st.sampled_from([CUPS, UMBRELLAS]),
        st.sampled_from(list(MoveKind)),
        st.integers(0, 60),
        st.sampled_from(["corner", "storeroom", "door"]),
    ),
    max_size=40,
)


class Model:
    """The stock as a plain dict, and the alarms each item should have: the property's independent reckoning."""

    def __init__(self) -> None:
        self.stock: dict[tuple[str, str], int] = {}
        self.counted: set[str] = set()
        self.short: set[tuple[str, str]] = set()

    def apply(self, supply: Supply, kind: MoveKind, quantity: int, place: str, to: str | None) -> int:
        before = self.stock.get((supply.id, place), 0)
        self.counted.add(supply.id)
        self.short.discard((supply.id, place))
        if kind is MoveKind.COUNTED:
            self.stock[(supply.id, place)] = quantity
            return 0
        if kind is MoveKind.MOVED:
            assert quantity <= before, "the store refuses to move more than is there"
            self.stock[(supply.id, place)] = before - quantity
            self.stock[(supply.id, to)] = self.stock.get((supply.id, to), 0) + quantity  # type: ignore[index]
            self.short.discard((supply.id, to))  # type: ignore[arg-type]
            return 0
        if kind in (MoveKind.USED, MoveKind.LENT):
            taken = min(before, quantity)
            self.stock[(supply.id, place)] = before - taken
            if taken < quantity:
                self.short.add((supply.id, place))
            if to is not None:
                self.stock[(supply.id, to)] = self.stock.get((supply.id, to), 0) + taken
                self.short.discard((supply.id, to))
            return quantity - taken
        self.stock[(supply.id, place)] = before + quantity
        return 0

    def alarms(self, supply: Supply) -> set[str]:
        if supply.id not in self.counted:
            return set()
        total = sum(self.stock.get((supply.id, place), 0) for place in supply.places)
        emptied_short = any(item == supply.id and self.stock[(item, place)] == 0 for item, place in self.short)
        if self.stock.get((supply.id, supply.places[0]), 0) == 0 or total == 0 or emptied_short:
            return {STOCK_OUT}
        return {STOCK_LOW} if total <= supply.reorder_at else set()


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=moves)
def test_stock_never_goes_below_nought_and_the_alarm_book_says_what_the_shelves_do(engine: Engine, steps: list) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM supply_move"))
        connection.execute(text("DELETE FROM supply_stock"))
    made: sessionmaker[Session] = sessions(engine)
    alarms = AlarmBook(Twin("yunting"))
    model = Model()
    for n, (supply, kind, quantity, place) in enumerate(steps):
        to = next((p for p in supply.places if p != place), None) if kind is MoveKind.MOVED else None
        try:
            with made.begin() as db:
                level, short = supplies.move(db, STATION, supply.id, kind, quantity, "custodian", AT, place, to)
        except SupplyError as exc:  # refused whole: a place it is not kept at, nought to use, a consumable "returned"
            assert exc.code in ("supply_place", "supply_quantity", "supply_not_lent", "supply_move_too_many"), exc
            if exc.code == "supply_move_too_many":
                assert quantity > model.stock.get((supply.id, place), 0), "only a move of more than is there is refused so"
            continue
        expected_short = model.apply(supply, kind, quantity, place, to)
        keep_alarms(alarms, level, float(n))
        assert short == expected_short
        with made() as db:
            assert db.scalar(select(func.min(SupplyStock.quantity))) >= 0
            stored = {(row.item, row.place): row.quantity for row in db.scalars(select(SupplyStock))}
        assert stored == {key: value for key, value in model.stock.items() if key in stored}
        for each in STATION:
            held = {a.type for a in alarms.active() if a.source == supplies.alarm_source(each.id)}
            assert held == model.alarms(each), (each.id, held, model.stock)
        if short:
            held = {a.type for a in alarms.active() if a.source == supplies.alarm_source(supply.id)}
            assert STOCK_OUT in held, "a use that found less than it asked for is a stock-out"


def test_a_devices_uses_take_their_per_use_of_each_item() -> None:
    assert supplies.uses_taken(STATION, "coffee", 3) == [("cups", 3)]
    assert supplies.uses_taken(STATION, "microwave", 3) == []


def test_bad_moves_are_refused_saying_what_is_wrong(engine: Engine) -> None:
    made: sessionmaker[Session] = sessions(engine)
    cases = [
        (("soap", MoveKind.USED, 1), "supply_unknown"),
        (("cups", MoveKind.USED, 0), "supply_quantity"),
        (("cups", MoveKind.USED, -1), "supply_quantity"),
        (("cups", MoveKind.DELIVERED, 10**7), "supply_quantity"),
        (("cups", MoveKind.RETURNED, 1), "supply_not_lent"),
    ]
    for (item, kind, quantity), code in cases:
        with pytest.raises(SupplyError) as refused, made.begin() as db:
            supplies.move(db, STATION, item, kind, quantity, "custodian", AT)
        assert refused.value.code == code
    with pytest.raises(SupplyError, match="not kept at"), made.begin() as db:
        supplies.move(db, STATION, "cups", MoveKind.USED, 1, "custodian", AT, place="door")
    with pytest.raises(SupplyError, match="one line"), made.begin() as db:
        supplies.move(db, STATION, "cups", MoveKind.USED, 1, "custodian", AT, note="a\nb")
    with made() as db:
        assert db.scalar(select(func.count()).select_from(SupplyMove)) == 0, "nothing refused was stored"


def test_fifty_parallel_writers_leave_the_books_chained_and_the_stock_exact(engine: Engine, tmp_path: object) -> None:
    """Proposals, approvals and consumption at once: 50 threads, each its own session, as 50 phones and the meter."""
    from pathlib import Path

    made: sessionmaker[Session] = sessions(engine)
    folder = Path(str(tmp_path))
    ledger, log = Ledger(folder / "head"), AuditLog(folder / "audit.key")
    with made.begin() as db:
        ensure_accounts(db)
        supplies.move(db, STATION, "cups", MoveKind.COUNTED, 500, "custodian", AT)
    errors: list[BaseException] = []
    day = date(2026, 12, 7)

    def writer(n: int) -> None:
        try:
            if n % 3 == 0:  # a custodian proposes with a receipt; an officer approves
                with made.begin() as db:
                    row = spending.propose(
                        db, spending.Proposal(spending.Kind.SPEND, "supplies", "cash", 100 + n, f"cups {n}", day), f"c{n}", AT
                    )
                    spending.attach(db, row, b"%PDF-1.4 " + str(n).encode(), f"c{n}", AT)
                    proposal = row.id
                with made.begin() as db:
                    decided = spending.open_for_decision(db, proposal)
                    spending.approve(db, ledger, decided, "officer", AT, attested_in(log, "officer", "admin", "10.0.0.1"))
            elif n % 3 == 1:  # money received, approved at once
                with made.begin() as db:
                    row = spending.propose(
                        db, spending.Proposal(spending.Kind.RECEIVE, "donations", "cash", 1000, f"gift {n}", day), f"c{n}", AT
                    )
                    proposal = row.id
                with made.begin() as db:
                    spending.approve(db, ledger, spending.open_for_decision(db, proposal), "officer", AT,
                                     attested_in(log, "officer", "admin", "10.0.0.1"))  # fmt: skip
            else:  # the meter and the custodians use cups at the corner
                with made.begin() as db:
                    supplies.move(db, STATION, "cups", MoveKind.USED, 7, f"device:water{n}", AT)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with made() as db:
        assert ledger.verify(db, attested=attestations(db)) == []
        balances = ledger.balances(db)
        assert sum(balances.values()) == 0
        spent = sum(100 + n for n in range(50) if n % 3 == 0)
        received = sum(1000 for n in range(50) if n % 3 == 1)
        assert balances["supplies"] == spent and balances["donations"] == -received and balances["cash"] == received - spent
        assert db.scalar(select(func.count()).select_from(LedgerEntry)) == len([n for n in range(50) if n % 3 != 2])
        cups = db.get(SupplyStock, ("cups", "corner"))
        uses = len([n for n in range(50) if n % 3 == 2])
        assert cups is not None and cups.quantity == 500 - 7 * uses
        assert db.scalar(select(func.sum(SupplyMove.delta)).where(SupplyMove.item == "cups")) == cups.quantity
