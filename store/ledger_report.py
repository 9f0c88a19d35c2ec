"""The union's books for one month, as the union posts them on the station's screen: printable HTML and an XLSX.

Where the money came from (income by funding source), what it was spent on (expense by budget
line, against the line's yearly budget), what was held at the start and the end, every entry
of the month, and the head of the books when the report was made, so anyone can check the
published books against it (``yxy ledger verify --published N:HASH``). No personal data: who
booked an entry is not shown. Amounts are exact: whole fen, shown as yuan with two decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scenarios.i18n import t
from scenarios.page import Cell, Chart, Facts, Note, Page, Row, Section, Table, render
from store.ledger import Ledger
from store.models import LedgerAccount, LedgerClose, LedgerEntry, LedgerLine


@dataclass(frozen=True)
class EntryLine:
    entry: int
    booked_on: date
    memo: str
    reverses: int | None
    account: str
    debit_fen: int
    credit_fen: int


@dataclass(frozen=True)
class Month:
    """One month's books, every amount in fen."""

    first: date
    last: date
    accounts: dict[str, LedgerAccount]
    opening: int
    """What the station held (its asset accounts) before the month."""
    closing: int
    income: dict[str, int]
    """Each funding source's credits less debits in the month."""
    spent: dict[str, int]
    """Each budget line's debits less credits in the month."""
    spent_this_year: dict[str, int]
    lines: list[EntryLine]
    head: tuple[int, str] | None


def month_of(text: str) -> date:
    """``2026-12`` as the first day of that month; anything else is a ValueError saying what to write."""
    try:
        year, month = (int(part) for part in text.strip().split("-"))
        if not 2000 <= year <= 2999:
            raise ValueError(year)
        return date(year, month, 1)
    except ValueError:
        raise ValueError(f"month {text[:20]!r}: write YYYY-MM, e.g. 2026-12") from None


def read_month(db: Session, ledger: Ledger, first: date) -> Month:
    """The month starting ``first`` (booked dates, the station's calendar)."""
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    accounts = {account.code: account for account in db.scalars(select(LedgerAccount))}
    kinds = {code: account.kind for code, account in accounts.items()}
    month = ledger.balances(db, since=first, until=last)
    year = ledger.balances(db, since=first.replace(month=1), until=last)
    before = ledger.balances(db, until=first - timedelta(days=1))
    held_before = sum(total for code, total in before.items() if kinds.get(code) == "asset")
    held_after = held_before + sum(total for code, total in month.items() if kinds.get(code) == "asset")
    rows = db.execute(
        select(LedgerEntry.id, LedgerEntry.booked_on, LedgerEntry.memo, LedgerEntry.reverses, LedgerLine.account,
               LedgerLine.debit_fen, LedgerLine.credit_fen)
        .join(LedgerLine, LedgerLine.entry_id == LedgerEntry.id)
        .where(LedgerEntry.booked_on >= first, LedgerEntry.booked_on <= last)
        .order_by(LedgerEntry.booked_on, LedgerEntry.id, LedgerLine.position)
    )  # fmt: skip
    return Month(
        first=first, last=last, accounts=accounts, opening=held_before, closing=held_after,
        income={code: -total for code, total in month.items() if kinds.get(code) == "income"},
        spent={code: total for code, total in month.items() if kinds.get(code) == "expense"},
        spent_this_year={code: total for code, total in year.items() if kinds.get(code) == "expense"},
        lines=[EntryLine(r.id, r.booked_on, r.memo, r.reverses, r.account, int(r.debit_fen), int(r.credit_fen)) for r in rows],
        head=ledger.head(db),
    )  # fmt: skip


def is_closed(db: Session, first: date) -> bool:
    """Whether the month starting ``first`` is closed: its figures are final."""
    closed = db.scalar(select(func.max(LedgerClose.month)))
    return closed is not None and first <= closed


def months_booked(db: Session) -> list[str]:
    """Every month with an entry, newest first (``2026-12``): what a reader can choose from."""
    days = db.scalars(select(LedgerEntry.booked_on).distinct())
    return sorted({f"{day:%Y-%m}" for day in days}, reverse=True)


def yuan(fen: int) -> str:
    """Whole fen as yuan with two decimals and thousands separated, exactly (no float on the way)."""
    return f"{Decimal(fen).scaleb(-2):,.2f}"


def _name(month: Month, code: str, lang: str) -> str:
    account = month.accounts.get(code)
    return code if account is None else (account.name_zh if lang == "zh" else account.name_en)


def page(month: Month, station: str, lang: str) -> Page:
    """The month's report as a page (``scenarios.page``: escaped, printable, readable on a phone)."""
    period = f"{month.first:%Y-%m}"
    facts = Facts("ledger-facts", (
        (t("ledger.opening", lang), (Cell(yuan(month.opening)),)),
        (t("ledger.income", lang), (Cell(yuan(sum(month.income.values()))),)),
        (t("ledger.spent", lang), (Cell(yuan(sum(month.spent.values()))),)),
        (t("ledger.closing", lang), (Cell(yuan(month.closing), strong=True),)),
        (t("ledger.entries", lang), (Cell(str(len({line.entry for line in month.lines}))),)),
    ))  # fmt: skip
    income = Table("ledger-income", (t("ledger.source", lang), t("ledger.amount", lang)), tuple(
        Row(Cell(_name(month, code, lang)), (Cell(yuan(total)),)) for code, total in sorted(month.income.items())
    ))  # fmt: skip
    lines = _budget_lines(month)
    budget_rows = []
    for code in lines:
        budget = month.accounts[code].budget_fen if code in month.accounts else None
        used = f"{Decimal(100 * month.spent_this_year.get(code, 0)) / budget:.0f}%" if budget else "—"
        budget_rows.append(Row(Cell(_name(month, code, lang)), (
            Cell(yuan(month.spent.get(code, 0))), Cell(yuan(month.spent_this_year.get(code, 0))),
            Cell(yuan(budget) if budget else "—"), Cell(used),
        )))  # fmt: skip
    spending = Table(
        "ledger-spending",
        (t("ledger.budget_line", lang), t("ledger.this_month", lang), t("ledger.this_year", lang), t("ledger.budget", lang),
         t("ledger.used", lang)),
        tuple(budget_rows),
    )  # fmt: skip
    chart = Chart("ledger-spending-chart", {
        "data": [
            {"type": "bar", "name": t("ledger.this_year", lang), "x": [_name(month, c, lang) for c in lines],
             "y": [month.spent_this_year.get(c, 0) / 100 for c in lines]},
            {"type": "bar", "name": t("ledger.budget", lang), "x": [_name(month, c, lang) for c in lines],
             "y": [(month.accounts[c].budget_fen or 0) / 100 if c in month.accounts else 0 for c in lines]},
        ],
        "layout": {"barmode": "group", "yaxis": {"title": {"text": t("ledger.yuan", lang)}}},
    }, height=320)  # fmt: skip
    entries = Table(
        "ledger-entries",
        (t("ledger.entry", lang), t("ledger.day", lang), t("ledger.memo", lang), t("ledger.account", lang), t("ledger.debit", lang),
         t("ledger.credit", lang)),
        tuple(
            Row(Cell(str(line.entry), detail=t("ledger.reverses", lang).format(entry=line.reverses) if line.reverses else ""), (
                Cell(f"{line.booked_on:%Y-%m-%d}"), Cell(line.memo, wide=True), Cell(_name(month, line.account, lang)),
                Cell(yuan(line.debit_fen) if line.debit_fen else ""), Cell(yuan(line.credit_fen) if line.credit_fen else ""),
            ))
            for line in month.lines
        ),
    )  # fmt: skip
    check = t("ledger.check", lang).format(entry=month.head[0], hash=month.head[1]) if month.head is not None else t("ledger.empty", lang)
    return Page(
        lang,
        t("ledger.title", lang).format(station=station, month=period),
        (
            Section("ledger-summary", t("ledger.sec_summary", lang), (facts, income)),
            Section("ledger-budget", t("ledger.sec_budget", lang), (spending, chart)),
            Section("ledger-entries", t("ledger.sec_entries", lang), (entries, Note(check))),
        ),
        footer="ledger.footer",
    )


def html(month: Month, station: str, lang: str) -> str:
    return render(page(month, station, lang))


def xlsx(month: Month, station: str, lang: str) -> bytes:
    """The same month as a workbook: a summary, income, spending against budget, and every line of every entry, with
    totals as numbers (yuan, two decimals) that a spreadsheet adds up to what the books say."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = t("ledger.sheet_summary", lang)
    money = "#,##0.00"

    def put(sheet: Any, row: list[Any], bold: bool = False) -> None:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, Decimal):
                cell.number_format = money
            elif isinstance(cell.value, str):
                cell.data_type = "s"  # text as text: a memo "=HYPERLINK(...)" is not a formula in the union's workbook
            if bold:
                cell.font = Font(bold=True)

    put(summary, [t("ledger.title", lang).format(station=station, month=f"{month.first:%Y-%m}")], bold=True)
    for key, amount in (("ledger.opening", month.opening), ("ledger.income", sum(month.income.values())),
                        ("ledger.spent", sum(month.spent.values())), ("ledger.closing", month.closing)):  # fmt: skip
        put(summary, [t(key, lang), _money(amount)])
    if month.head is not None:
        put(summary, [t("ledger.head", lang), month.head[0], month.head[1]])
    income = book.create_sheet(t("ledger.sheet_income", lang))
    put(income, [t("ledger.source", lang), t("ledger.amount", lang)], bold=True)
    for code, total in sorted(month.income.items()):
        put(income, [_name(month, code, lang), _money(total)])
    put(income, [t("ledger.total", lang), _money(sum(month.income.values()))], bold=True)
    spending = book.create_sheet(t("ledger.sheet_spending", lang))
    put(spending, [t("ledger.budget_line", lang), t("ledger.this_month", lang), t("ledger.this_year", lang), t("ledger.budget", lang)],
        bold=True)  # fmt: skip
    for code in _budget_lines(month):
        budget = month.accounts[code].budget_fen if code in month.accounts else None
        put(spending, [_name(month, code, lang), _money(month.spent.get(code, 0)), _money(month.spent_this_year.get(code, 0)),
                       _money(budget) if budget else None])  # fmt: skip
    put(spending, [t("ledger.total", lang), _money(sum(month.spent.values()))], bold=True)
    entries = book.create_sheet(t("ledger.sheet_entries", lang))
    put(entries, [t("ledger.entry", lang), t("ledger.day", lang), t("ledger.memo", lang), t("ledger.account", lang),
                  t("ledger.debit", lang), t("ledger.credit", lang)], bold=True)  # fmt: skip
    for line in month.lines:
        debit, credit = (_money(line.debit_fen) if line.debit_fen else None), (_money(line.credit_fen) if line.credit_fen else None)
        put(entries, [line.entry, line.booked_on, line.memo, _name(month, line.account, lang), debit, credit])
    debits, credits = sum(x.debit_fen for x in month.lines), sum(x.credit_fen for x in month.lines)
    put(entries, [t("ledger.total", lang), None, None, None, _money(debits), _money(credits)], bold=True)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _budget_lines(month: Month) -> list[str]:
    """The budget lines the report shows: those spent on this month, and those with a budget."""
    return sorted(set(month.spent) | {code for code, account in month.accounts.items() if account.kind == "expense" and account.budget_fen})


def _money(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)
