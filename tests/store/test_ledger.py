"""The union's books (issue 14): every entry balances, and so every period; a reversing entry brings every balance back
exactly; whatever is done to the tables behind the application's back, ``verify`` names it; fifty parallel writers on
PostgreSQL never fork the chain; bad entries are refused saying what is wrong and where. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli.main import app
from store.audit import AuditLog, key_file_for
from store.db import engine_for, migrate, sessions
from store.ledger import (
    DEFAULT_ACCOUNTS,
    MOST_FEN,
    Attested,
    Ledger,
    LedgerError,
    Line,
    attested_in,
    check_published,
    ensure_accounts,
    fen,
    head_file_for,
    published,
    seal,
    seal_published,
)  # fmt: skip
from store.models import LedgerEntry

CODES = [account.code for account in DEFAULT_ACCOUNTS]
DAY = date(2026, 12, 1)


@pytest.fixture
def books(engine: Engine, tmp_path: Path) -> tuple[Engine, sessionmaker[Session], Ledger]:
    made: sessionmaker[Session] = sessions(engine)
    with made.begin() as db:
        ensure_accounts(db)
    return engine, made, Ledger(tmp_path / "ledger.head")


def _post(made: sessionmaker[Session], ledger: Ledger, lines: list[Line], day: date = DAY, memo: str = "coffee beans") -> int:
    with made.begin() as db:
        return ledger.post(db, lines, memo, "custodian", day).id


def _pay(amount: int, paid_from: str = "cash", spent_on: str = "supplies") -> list[Line]:
    return [Line(spent_on, debit_fen=amount), Line(paid_from, credit_fen=amount)]


def _why(made: sessionmaker[Session], ledger: Ledger, **options: Any) -> list[tuple[int | None, str]]:
    with made() as db:
        return [(broken.entry_id, broken.why) for broken in ledger.verify(db, **options)]


def _balances(made: sessionmaker[Session], ledger: Ledger, **period: date) -> dict[str, int]:
    with made() as db:
        return {code: total for code, total in ledger.balances(db, **period).items() if total}


amounts = st.integers(min_value=1, max_value=10**9)
entries = st.lists(st.tuples(st.sampled_from(CODES), amounts), min_size=1, max_size=5).map(
    lambda debits: [Line(code, debit_fen=amount) for code, amount in debits]
)


@st.composite
def balanced(draw: st.DrawFn) -> list[Line]:
    """Debits on some accounts, the same total credited over one to three others."""
    debits = draw(entries)
    total = sum(line.debit_fen for line in debits)
    parts = draw(st.integers(min_value=1, max_value=min(3, total)))
    cuts = sorted(draw(st.lists(st.integers(1, total - 1), min_size=parts - 1, max_size=parts - 1, unique=True))) if parts > 1 else []
    shares = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    return [*debits, *(Line(draw(st.sampled_from(CODES)), credit_fen=share) for share in shares)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(balanced(), st.integers(0, 90), st.booleans()), min_size=1, max_size=6))
def test_every_entry_and_period_balances_and_a_reversal_restores_every_balance(
    books: tuple[Engine, sessionmaker[Session], Ledger], steps: list[tuple[list[Line], int, bool]]
) -> None:
    _, made, ledger = books
    for lines, days, reverse in steps:
        day = DAY + timedelta(days=days)
        before = _balances(made, ledger)
        entry = _post(made, ledger, lines, day)
        if reverse:
            with made.begin() as db:
                ledger.reverse(db, entry, "booked twice by mistake", "officer", day)
            assert _balances(made, ledger) == before, "a reversing entry brings every balance back exactly"
    assert sum(_balances(made, ledger).values()) == 0, "debits equal credits over all the books"
    for month in (date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)):
        period = _balances(made, ledger, since=month, until=(month + timedelta(days=31)).replace(day=1) - timedelta(days=1))
        assert sum(period.values()) == 0, f"the month of {month} balances"
    assert _why(made, ledger) == []


@pytest.mark.parametrize(
    ("lines", "memo", "said"),
    [
        (_pay(100)[:1], "x", "an entry has 2 to 50 lines, not 1"),
        ([Line("supplies", debit_fen=100), Line("cash", credit_fen=99)], "x", "debits (100 fen) and the credits (99 fen) must be equal"),
        ([Line("yachts", debit_fen=100), Line("cash", credit_fen=100)], "x", "line 1: there is no account 'yachts'"),
        ([Line("supplies", debit_fen=100, credit_fen=100), Line("cash", credit_fen=0)], "x", "line 1: a line is either a debit"),
        ([Line("supplies", debit_fen=1.5), Line("cash", credit_fen=1.5)], "x", "line 1: the debit must be"),  # type: ignore[arg-type]
        ([Line("supplies", debit_fen=-5), Line("cash", credit_fen=-5)], "x", "line 1: the debit must be whole fen"),
        ([Line("supplies", debit_fen=MOST_FEN + 1), Line("cash", credit_fen=MOST_FEN + 1)], "x", "line 1: the debit must be whole fen"),
        (_pay(100), "   ", "memo: say what the entry is for"),
        (_pay(100), "m" * 201, "memo: 201 characters, at most 200"),
        (_pay(1) * 26, "x", "an entry has 2 to 50 lines, not 52"),
    ],
)
def test_a_bad_entry_is_refused_saying_what_is_wrong_and_nothing_is_booked(
    books: tuple[Engine, sessionmaker[Session], Ledger], lines: list[Line], memo: str, said: str
) -> None:
    _, made, ledger = books
    with pytest.raises(LedgerError) as refused, made.begin() as db:
        ledger.post(db, lines, memo, "custodian", DAY)
    assert said in str(refused.value)
    with made() as db:
        assert ledger.head(db) is None and ledger.balances(db) == {}


def test_a_day_with_a_time_or_a_memo_with_control_characters_is_refused(books: tuple[Engine, sessionmaker[Session], Ledger]) -> None:
    _, made, ledger = books
    for day, memo, said in ((datetime(2026, 12, 1, 9, 0), "x", "is not a day"), (DAY, "two\nlines", "without control characters")):
        with pytest.raises(LedgerError, match=said), made.begin() as db:
            ledger.post(db, _pay(100), memo, "custodian", day)  # type: ignore[arg-type]
    assert _why(made, ledger) == []


def test_the_database_refuses_a_line_on_both_sides_an_entry_below_one_and_an_accounts_new_kind(
    books: tuple[Engine, sessionmaker[Session], Ledger],
) -> None:
    engine, made, ledger = books
    _post(made, ledger, _pay(100))
    bad = [
        "INSERT INTO ledger_line (entry_id, position, account, debit_fen, credit_fen) VALUES (1, 7, 'cash', 5, 5)",
        "INSERT INTO ledger_line (entry_id, position, account, debit_fen, credit_fen) VALUES (1, 8, 'cash', 0, 0)",
        "INSERT INTO ledger_line (entry_id, position, account, debit_fen, credit_fen) VALUES (1, 0, 'cash', 1, 0)",
        "INSERT INTO ledger_entry (id, at, booked_on, memo, username, prev_hash, hash) "
        "VALUES (0, '2026-12-01', '2026-12-01', 'x', 'x', 'x', 'x')",
        "UPDATE ledger_account SET kind = 'asset' WHERE code = 'donations'",
        "DELETE FROM ledger_account WHERE code = 'repairs'",
    ]
    for statement in bad:
        with pytest.raises(DBAPIError), engine.begin() as connection:
            connection.execute(text(statement))
    with engine.begin() as connection:  # an account's names and budget may change
        connection.execute(text("UPDATE ledger_account SET name_en = 'Gifts', budget_fen = 100 WHERE code = 'donations'"))
    assert _why(made, ledger) == []


def test_two_racing_reversals_of_one_entry_book_one(books: tuple[Engine, sessionmaker[Session], Ledger]) -> None:
    _, made, ledger = books
    entry = _post(made, ledger, _pay(700))
    outcomes: list[str] = []

    def reverse() -> None:
        try:
            with made.begin() as db:
                ledger.reverse(db, entry, "double booking", "officer", DAY)
            outcomes.append("booked")
        except LedgerError as exc:
            outcomes.append(str(exc))

    racers = [threading.Thread(target=reverse) for _ in range(6)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(outcomes) == ["booked", *[f"entry {entry} is already reversed"] * 5]
    assert _balances(made, ledger) == {} and _why(made, ledger) == []


def test_an_entry_is_reversed_once_and_a_reversal_is_not_reversed(books: tuple[Engine, sessionmaker[Session], Ledger]) -> None:
    _, made, ledger = books
    entry = _post(made, ledger, _pay(1250))
    with made.begin() as db:
        reversal = ledger.reverse(db, entry, "wrong budget line", "officer", DAY).id
    for target, said in ((entry, f"entry {entry} is already reversed"), (reversal, "is itself a reversal"), (99, "there is no entry 99")):
        with pytest.raises(LedgerError, match=said), made.begin() as db:
            ledger.reverse(db, target, "again", "officer", DAY)
    assert _why(made, ledger) == []


@pytest.mark.parametrize(
    ("text_in", "expected"),
    [("12.5", 1250), ("12.50", 1250), (" 0.01 ", 1), ("3", 300), (7, 700)],
)
def test_yuan_are_read_as_whole_fen_exactly(text_in: str, expected: int) -> None:
    assert fen(text_in) == expected


@pytest.mark.parametrize(
    ("text_in", "said"),
    [("12.345", "more than two decimals"), ("0", "must be a positive amount"), ("-3", "must be a positive amount"),
     ("abc", "is not an amount in yuan"), ("NaN", "must be a positive amount"), ("1e20", "more than a station's books can hold"),
     ("Infinity", "must be a positive amount"), ("1234567890.0000000000000000000001", "more than two decimals"),
     ("12.0000000000000000000000000000000001", "more than two decimals"), ("1e-999999999", "more than two decimals"),
     ("1e999999999", "more than a station's books can hold")],
)  # fmt: skip
def test_an_amount_that_is_not_whole_fen_is_refused_by_name(text_in: str, said: str) -> None:
    with pytest.raises(LedgerError, match=f"receipt 3: .*{said}"):
        fen(text_in, "receipt 3")


@pytest.fixture
def chained(books: tuple[Engine, sessionmaker[Session], Ledger]) -> tuple[Engine, sessionmaker[Session], Ledger]:
    _, made, ledger = books
    for amount in (100, 200, 300, 400, 500):
        _post(made, ledger, _pay(amount))
    return books


def _unguarded(engine: Engine) -> Iterator[Any]:
    """A connection on which the append-only triggers are off, as the database's owner could make them."""
    with engine.begin() as connection:
        for table in ("ledger_entry", "ledger_line"):
            if engine.dialect.name == "postgresql":
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            else:
                connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
                connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
        yield connection


def test_an_edited_amount_or_memo_is_named(chained: tuple[Engine, sessionmaker[Session], Ledger]) -> None:
    engine, made, ledger = chained
    for connection in _unguarded(engine):
        connection.execute(text("UPDATE ledger_line SET debit_fen = 30000 WHERE entry_id = 3 AND debit_fen > 0"))
    assert _why(made, ledger) == [
        (3, "its hash does not match its content (edited, or slipped in)"),
        (3, "its debits (30000 fen) and credits (300 fen) do not balance"),
    ]
    for connection in _unguarded(engine):
        connection.execute(text("UPDATE ledger_line SET credit_fen = 30000 WHERE entry_id = 3 AND credit_fen > 0"))
        connection.execute(text("UPDATE ledger_entry SET memo = 'a new microwave' WHERE id = 4"))
    assert _why(made, ledger) == [
        (3, "its hash does not match its content (edited, or slipped in)"),
        (4, "its hash does not match its content (edited, or slipped in)"),
    ], "balanced again, but not what was booked"


def test_a_deleted_entry_and_a_cut_tail_are_named(chained: tuple[Engine, sessionmaker[Session], Ledger]) -> None:
    engine, made, ledger = chained
    for connection in _unguarded(engine):
        connection.execute(text("DELETE FROM ledger_line WHERE entry_id = 2"))
        connection.execute(text("DELETE FROM ledger_entry WHERE id = 2"))
    assert _why(made, ledger) == [(3, "entries 2 to 2 are missing (deleted)")]
    for connection in _unguarded(engine):
        connection.execute(text("DELETE FROM ledger_line WHERE entry_id >= 4"))
        connection.execute(text("DELETE FROM ledger_entry WHERE id >= 4"))
    assert (None, "the books end at entry 3 but reached entry 5 (cut or emptied)") in _why(made, ledger)


def test_an_entry_slipped_in_is_caught_by_the_audit_logs_record_and_a_rewrite_by_the_published_head(
    chained: tuple[Engine, sessionmaker[Session], Ledger],
) -> None:
    engine, made, ledger = chained
    with made() as db:
        attested = {int(row.id): Attested(str(row.hash), str(row.username))
                    for row in db.execute(text("SELECT id, hash, username FROM ledger_entry")).all()}  # fmt: skip
        published = ledger.head(db)
    assert published is not None
    with engine.begin() as connection, made() as db:  # a forger with the database and the code, but not the audit key
        last = db.get(LedgerEntry, 5)
        assert last is not None
        entry = type("Forged", (), {"id": 6, "at": last.at,
                                     "booked_on": DAY, "memo": "petty cash", "username": "custodian", "reverses": None, "receipts": [],
                                     "prev_hash": published[1]})  # fmt: skip
        forged = seal(entry, [("supplies", 99900, 0), ("cash", 0, 99900)])
        connection.execute(
            text(
                "INSERT INTO ledger_entry (id, at, booked_on, memo, username, prev_hash, hash) "
                "VALUES (6, :at, :day, 'petty cash', 'custodian', :prev, :hash)"
            ),
            {"at": entry.at, "day": DAY, "prev": published[1], "hash": forged},
        )
        for position, (account, debit, credit) in enumerate([("supplies", 99900, 0), ("cash", 0, 99900)]):
            connection.execute(
                text("INSERT INTO ledger_line (entry_id, position, account, debit_fen, credit_fen) VALUES (6, :p, :a, :d, :c)"),
                {"p": position, "a": account, "d": debit, "c": credit},
            )
    assert _why(made, ledger) == [], "a plain hash alone cannot tell: anyone can compute one"
    assert _why(made, ledger, attested=attested) == [(6, "the audit log has no record of it being booked (slipped in)")]
    assert _why(made, ledger, published=[published]) == []
    assert _why(made, ledger, published=[(5, "0" * 64)]) == [
        (5, "is not the entry that was published with this number (the books were rewritten)")
    ]


def test_the_database_refuses_changes_and_truncation(chained: tuple[Engine, sessionmaker[Session], Ledger]) -> None:
    engine, made, ledger = chained
    statements = ["UPDATE ledger_entry SET memo = 'x'", "DELETE FROM ledger_line", "UPDATE ledger_line SET debit_fen = 1"]
    if engine.dialect.name == "postgresql":
        statements += ["TRUNCATE ledger_line", "TRUNCATE ledger_entry CASCADE"]
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert _why(made, ledger) == []


def test_fifty_parallel_writers_never_fork_the_chain_and_the_books_balance(
    books: tuple[Engine, sessionmaker[Session], Ledger],
) -> None:
    _, made, ledger = books
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            entry = _post(made, ledger, _pay(100 + n, spent_on=CODES[5 + n % 4]), memo=f"writer {n}")
            if n % 5 == 0:
                with made.begin() as db:
                    ledger.reverse(db, entry, f"writer {n} corrects", "officer", DAY)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _why(made, ledger) == []
    with made() as db:
        assert db.execute(text("SELECT count(*), max(id) FROM ledger_entry")).one() == (60, 60)
        assert sum(ledger.balances(db).values()) == 0
    kept = sum(100 + n for n in range(50) if n % 5)
    assert _balances(made, ledger)["cash"] == -kept


def test_anyone_recomputes_an_entrys_hash_from_what_is_published_which_names_nobody(
    chained: tuple[Engine, sessionmaker[Session], Ledger],
) -> None:
    _, made, _ = chained
    with made() as db:
        for entry in db.scalars(select(LedgerEntry).order_by(LedgerEntry.id)):
            rows = db.execute(text("SELECT account, debit_fen, credit_fen FROM ledger_line WHERE entry_id = :e ORDER BY position"),
                              {"e": entry.id})  # fmt: skip
            lines = [(account, int(debit), int(credit)) for account, debit, credit in rows]
            shown = published(entry, lines)
            assert "username" not in shown and entry.username not in json.dumps(shown)
            compact = json.dumps(shown, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            assert hashlib.sha256(compact.encode()).hexdigest() == entry.hash


def test_a_malformed_published_page_is_named_broken_not_a_crash() -> None:
    good = {"id": 1, "at": "2026-12-01T00:00:00+00:00", "booked_on": "2026-12-01", "memo": "x", "reverses": None, "prev_hash": "0" * 64,
            "lines": [["cash", 100, 0], ["donations", 0, 100]], "receipts": []}  # fmt: skip
    good["hash"] = seal_published(good)
    for lines in ([["cash"]], [["cash", 1.5, 0]], [["cash", True, 0]], "cash", [[1, 2, 3]], [["cash", 10**30, 0]]):
        count, broken = check_published([{**good, "lines": lines}])
        assert count == 1 and broken[0].why == "its lines are not account, debit, credit in whole fen", lines
    assert check_published([good], head=(1, good["hash"]))[1] == []
    assert check_published([good], head=(1, "f" * 64))[1][0].entry_id == 1, "a page whose head is not its chain's"
    assert check_published([good], published=[(2, "f" * 64)])[1][0].entry_id == 2, "a head published before, gone"
    assert check_published([{**good, "id": "1"}])[1][0].entry_id is None


def test_yxy_ledger_verify_says_intact_or_lists_the_breaks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'yxy.db'}"
    engine = engine_for(url)
    migrate(engine)
    made: sessionmaker[Session] = sessions(engine)
    key_file = key_file_for(url, None)
    ledger, log = Ledger(head_file_for(key_file)), AuditLog(key_file)  # where the station keeps them
    with made.begin() as db:
        ensure_accounts(db)
    for amount in (fen("12.50"), fen("3")):
        with made.begin() as db:
            ledger.post(db, _pay(amount), "water filters", "officer", DAY, attest=attested_in(log, "officer", "admin", "10.0.0.5"))
    with made() as db:
        head = ledger.head(db)
    assert head is not None
    intact = CliRunner().invoke(app, ["ledger", "verify", "--database", url, "--published", f"{head[0]}:{head[1]}"])
    assert intact.exit_code == 0 and "intact: 2 entries, every one balanced" in intact.output, intact.output
    with made.begin() as db:
        ledger.post(db, _pay(500), "booked behind the application's back", "custodian", DAY)  # not attested
    for connection in _unguarded(engine):
        connection.execute(text("UPDATE ledger_entry SET memo = 'a bigger fridge' WHERE id = 1"))
    broken = CliRunner().invoke(app, ["ledger", "verify", "--database", url])
    said = " ".join(broken.output.split())
    assert broken.exit_code == 1 and "broken entry 1: its hash does not match its content" in said, said
    assert "broken entry 3: the audit log has no record of it being booked" in said and "2 breaks in 3 entries" in said
    for connection in _unguarded(engine):
        connection.execute(text("UPDATE ledger_entry SET username = 'custodian' WHERE id = 2"))
    renamed = " ".join(CliRunner().invoke(app, ["ledger", "verify", "--database", url]).output.split())
    assert "broken entry 2: who booked it is not who the audit log says booked it" in renamed, renamed
    bad = CliRunner().invoke(app, ["ledger", "verify", "--database", url, "--published", "2:abc"])
    assert bad.exit_code == 2 and "write ENTRY:HASH" in bad.output
    closed = CliRunner().invoke(app, ["ledger", "close", "--month", "2026-11", "--by", "officer", "--database", url])
    assert closed.exit_code == 0 and "closed up to 2026-11; the books' head: 3:" in " ".join(closed.output.split()), closed.output
    again = CliRunner().invoke(app, ["ledger", "close", "--month", "2026-11", "--by", "officer", "--database", url])
    assert again.exit_code == 2 and "is closed already" in again.output
    engine.dispose()


def test_the_model_is_what_the_migration_makes(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from store.models import Base

    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in differences if "ledger" in str(d)] == []


def test_a_closed_month_takes_no_more_entries_and_one_slipped_into_it_is_named(books: tuple[Engine, sessionmaker[Session], Ledger]) -> None:
    engine, made, ledger = books
    november = date(2026, 11, 1)
    _post(made, ledger, _pay(100), date(2026, 11, 20))
    with made.begin() as db:
        ledger.close_month(db, november, "officer")
    for day, said in (
        (date(2026, 11, 30), "the books up to 2026-11 are closed"),
        (date(2026, 10, 2), "the books up to 2026-11 are closed"),
    ):
        with pytest.raises(LedgerError, match=said), made.begin() as db:
            ledger.post(db, _pay(5), "late receipt", "custodian", day)
    _post(made, ledger, _pay(200), DAY, memo="corrects 2026-11: a receipt found late")
    for month, said in ((november, "is closed already"), (date(2026, 10, 1), "is closed already"), (date(2026, 12, 1), "is not over yet"),
                        (date(2026, 11, 15), "is not the first day of a month")):  # fmt: skip
        with pytest.raises(LedgerError, match=said), made.begin() as db:
            ledger.close_month(db, month, "officer")
    assert _why(made, ledger) == []
    with made() as db:  # a forger appends an entry dated in the closed month, chained and hashed as the code would
        last = db.get(LedgerEntry, 2)
        assert last is not None
        forged = type("Forged", (), {"id": 3, "at": last.at, "booked_on": date(2026, 11, 29), "memo": "petty cash", "username": "x",
                                     "receipts": [], "reverses": None, "prev_hash": last.hash})  # fmt: skip
        digest = seal(forged, [("supplies", 999, 0), ("cash", 0, 999)])
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ledger_entry (id, at, booked_on, memo, username, prev_hash, hash) "
                "VALUES (3, :at, :day, 'petty cash', 'x', :prev, :h)"
            ),
            {"at": forged.at, "day": date(2026, 11, 29), "prev": forged.prev_hash, "h": digest},
        )
        for position, (account, debit, credit) in enumerate([("supplies", 999, 0), ("cash", 0, 999)]):
            connection.execute(
                text("INSERT INTO ledger_line (entry_id, position, account, debit_fen, credit_fen) VALUES (3, :p, :a, :d, :c)"),
                {"p": position, "a": account, "d": debit, "c": credit},
            )
    assert _why(made, ledger) == [(3, "it was booked into 2026-11 after that month was closed")]
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("UPDATE ledger_close SET head_entry = 9"))
