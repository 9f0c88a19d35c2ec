"""The union's monthly report (issue 14): the XLSX opened with openpyxl adds up to what the books say, for any month's
entries; the HTML names the sources, the budget lines and the books' head, escapes what was typed and names nobody;
``yxy ledger report`` writes both and refuses a bad month by name."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli.main import app
from store.db import engine_for, migrate, sessions
from store.ledger import DEFAULT_ACCOUNTS, Ledger, Line, ensure_accounts, fen
from store.ledger_report import html, month_of, read_month, xlsx
from store.models import LedgerAccount

DECEMBER = date(2026, 12, 1)


def _books(made: sessionmaker[Session], ledger: Ledger) -> None:
    """A November allocation, a December of income, spending and one correction, and a January entry."""
    with made.begin() as db:
        ensure_accounts(db)
        db.execute(update(LedgerAccount).where(LedgerAccount.code == "supplies").values(budget_fen=fen("6000")))
        db.execute(update(LedgerAccount).where(LedgerAccount.code == "repairs").values(budget_fen=fen("12000")))
    booked = [
        (date(2026, 11, 3), "union allocation for the quarter", [Line("bank", fen("5000")), Line("union_allocation", 0, fen("5000"))]),
        (
            date(2026, 12, 2),
            '=HYPERLINK("http://x") <script>alert(1)</script>',
            [Line("cash", fen("200.50")), Line("donations", 0, fen("200.50"))],
        ),
        (date(2026, 12, 5), "street office grant", [Line("bank", fen("1000")), Line("street_office", 0, fen("1000"))]),
        (date(2026, 12, 9), "cups and coffee", [Line("supplies", fen("123.45")), Line("cash", 0, fen("123.45"))]),
        (date(2026, 12, 12), "microwave door hinge", [Line("repairs", fen("800")), Line("bank", 0, fen("800"))]),
        (date(2026, 12, 14), "booked to the wrong line", [Line("repairs", fen("50")), Line("cash", 0, fen("50"))]),
        (date(2027, 1, 4), "the water meter's new year reading", [Line("utilities", fen("90")), Line("bank", 0, fen("90"))]),
    ]
    for day, memo, lines in booked:
        with made.begin() as db:
            ledger.post(db, lines, memo, "custodian", day)
    with made.begin() as db:
        ledger.reverse(db, 6, "reversed: it was supplies", "officer", date(2026, 12, 15))


def _workbook(month: Any) -> Any:
    return load_workbook(BytesIO(xlsx(month, "云亭驿站", "zh")))


def _sheet_total(sheet: Any, column: int) -> Decimal:
    """The total row's value, and the sum of the rows above it (as the spreadsheet would add them)."""
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[-1][0] == "合计"
    above = sum((Decimal(str(row[column])) for row in rows[1:-1] if row[column] is not None), Decimal(0))
    assert Decimal(str(rows[-1][column])) == above
    return above


def test_the_months_workbook_adds_up_to_the_books(engine: Engine) -> None:
    made: sessionmaker[Session] = sessions(engine)
    ledger = Ledger()
    _books(made, ledger)
    with made() as db:
        month = read_month(db, ledger, DECEMBER)
        balances = ledger.balances(db, since=DECEMBER, until=date(2026, 12, 31))
    assert month.opening == fen("5000") and month.closing == fen("5000") + fen("200.50") + fen("1000") - fen("123.45") - fen("800")
    assert month.income == {"donations": fen("200.50"), "street_office": fen("1000")}
    assert month.spent == {"supplies": fen("123.45"), "repairs": fen("800")}, "the reversed 50 yuan is not spent"
    book = _workbook(month)
    assert book.sheetnames == ["月报", "收入", "支出", "凭证"]
    assert _sheet_total(book["收入"], 1) == Decimal("1200.50") == Decimal(-(balances["donations"] + balances["street_office"])) / 100
    assert _sheet_total(book["支出"], 1) == Decimal("923.45")
    debits, credits = _sheet_total(book["凭证"], 4), _sheet_total(book["凭证"], 5)
    assert debits == credits == Decimal("2223.95"), "every line of the month, each side adding up to the other"
    memos = [row[2] for row in book["凭证"].iter_rows(min_row=2, values_only=True) if row[2]]
    assert memos[0].startswith("=HYPERLINK") and book["凭证"]["C2"].data_type == "s", "a typed memo stays text, never a formula"
    summary = {row[0]: row[1:] for row in book["月报"].iter_rows(values_only=True) if row[0]}
    assert Decimal(str(summary["月末结存（元）"][0])) == Decimal(month.closing) / 100
    assert summary["账本哈希（凭证号、哈希）"][0] == 8


def test_the_html_names_the_sources_lines_and_head_escapes_what_was_typed_and_names_nobody(engine: Engine) -> None:
    made: sessionmaker[Session] = sessions(engine)
    ledger = Ledger()
    _books(made, ledger)
    with made() as db:
        month = read_month(db, ledger, DECEMBER)
        head = ledger.head(db)
    assert head is not None
    for lang, words in (("zh", ("街道补助", "设备维修", "冲销第 6 号")), ("en", ("Street office grant", "Repairs", "reverses entry 6"))):
        page = html(month, "云亭驿站", lang)
        assert all(word in page for word in words) and head[1] in page and "1,200.50" in page
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
        assert "custodian" not in page and "officer" not in page, "who booked an entry is not published"
        assert "water meter" not in page, "another month's entries are not in this month's report"
        assert ("账上的原数" if lang == "zh" else "every number is as booked") in page, "the books' footer, not a simulation's"


amounts = st.integers(min_value=1, max_value=10**8)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(entries=st.lists(st.tuples(st.sampled_from([a.code for a in DEFAULT_ACCOUNTS]), st.sampled_from([a.code for a in DEFAULT_ACCOUNTS]),
                                  amounts, st.integers(0, 60)), min_size=1, max_size=8))  # fmt: skip
def test_any_months_workbook_balances_and_matches_the_books(tmp_path_factory: pytest.TempPathFactory, entries: list[Any]) -> None:
    engine = engine_for(f"sqlite:///{tmp_path_factory.mktemp('books') / 'yxy.db'}")
    migrate(engine)
    made: sessionmaker[Session] = sessions(engine)
    ledger = Ledger()
    with made.begin() as db:
        ensure_accounts(db)
    for debit, credit, amount, days in entries:
        if debit != credit:
            with made.begin() as db:
                ledger.post(db, [Line(debit, amount), Line(credit, 0, amount)], "a purchase", "custodian", DECEMBER + timedelta(days=days))
    with made() as db:
        month = read_month(db, ledger, DECEMBER)
        balances = ledger.balances(db, since=DECEMBER, until=date(2026, 12, 31))
    book = _workbook(month)
    assert _sheet_total(book["凭证"], 4) == _sheet_total(book["凭证"], 5)
    assert _sheet_total(book["支出"], 1) * 100 == sum(v for k, v in balances.items() if k in month.spent)
    engine.dispose()


def test_yxy_ledger_report_writes_both_and_refuses_a_bad_month(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'yxy.db'}"
    engine = engine_for(url)
    migrate(engine)
    _books(sessions(engine), Ledger())
    engine.dispose()
    out = tmp_path / "out"
    done = CliRunner().invoke(
        app, ["ledger", "report", "--month", "2026-12", "--database", url, "--html", str(out / "m.html"), "--xlsx", str(out / "m.xlsx")]
    )
    assert done.exit_code == 0, done.output
    assert "1,200.50" in done.output and (out / "m.html").stat().st_size > 1000 and load_workbook(out / "m.xlsx").sheetnames[0] == "月报"
    for bad, said in (("2026-13", "write YYYY-MM"), ("December", "write YYYY-MM")):
        refused = CliRunner().invoke(app, ["ledger", "report", "--month", bad, "--database", url])
        assert refused.exit_code == 2 and said in refused.output
    assert month_of(" 2026-02 ") == date(2026, 2, 1)
    for bad in ("0001-01", "9999-12", "2026-02-30"):
        with pytest.raises(ValueError, match="write YYYY-MM"):
            month_of(bad)


def test_a_month_at_the_years_turn_and_februarys_end(engine: Engine) -> None:
    made: sessionmaker[Session] = sessions(engine)
    ledger = Ledger()
    _books(made, ledger)
    with made.begin() as db:
        ledger.post(db, [Line("supplies", fen("10")), Line("cash", 0, fen("10"))], "February's last day", "custodian", date(2027, 2, 28))
        ledger.post(db, [Line("supplies", fen("20")), Line("cash", 0, fen("20"))], "March's first day", "custodian", date(2027, 3, 1))
    with made() as db:
        january, february = read_month(db, ledger, date(2027, 1, 1)), read_month(db, ledger, date(2027, 2, 1))
    assert january.spent == {"utilities": fen("90")} and january.spent_this_year == {"utilities": fen("90")}, "a new year starts at nought"
    assert january.opening == fen("5000") + fen("1200.50") - fen("923.45")
    assert february.spent == {"supplies": fen("10")} and february.last == date(2027, 2, 28)
    assert february.opening == january.closing and february.closing == january.closing - fen("10")
