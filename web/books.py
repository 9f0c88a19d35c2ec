"""The union's books on the web: proposals and approvals by role for the staff, and a transparency page for anyone.

Staff (``/api/books/spending``): the custodian proposes a spending (or money received) and
attaches its receipts from a phone; an officer (the admin role) approves it, and only then is
it booked, or rejects it saying why; the auditor reads everything and changes nothing. Every
decision is audited before its effect, in the same transaction.

Anyone (``/books``, ``/api/books/…``, no sign-in): each month's money in and out, spending
against the budget, every entry exactly as its hash covers it, with its receipts' hashes, and
the books' head. No personal data: the entries name nobody (who booked one is in the keyed
audit log, not in the books' hash), and receipts themselves, which may carry a supplier's or a
worker's name, are for staff only.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from fastapi import Path as ApiPath
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from store import ledger_report, spending
from store.ledger import Ledger, LedgerError, attested_in, fen, page_of_entries, published
from store.models import LedgerAccount, Receipt, Spending, User
from web.auth import Role
from web.deps import DatabaseDep, Instant, Refused, RequireRole, Services, ServicesDep, Strict, audit, client_of, refused

Proposers = Annotated[User, Depends(RequireRole(Role.CUSTODIAN, Role.ADMIN))]
"""Who proposes a spending: the custodian, or an officer (whom another officer must then approve)."""
Officers = Annotated[User, Depends(RequireRole(Role.ADMIN))]
"""Who approves or rejects: a union officer."""
Readers = Annotated[User, Depends(RequireRole(Role.CUSTODIAN, Role.ADMIN, Role.AUDITOR))]
SpendingId = Annotated[int, ApiPath(ge=1, le=2**31 - 1)]
Digest = Annotated[str, ApiPath(pattern=r"^[0-9a-f]{64}$")]
Month = Annotated[str | None, Query(max_length=7, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM; the station's month by default")]
Lang = Literal["zh", "en"]
PAGE = 500
"""Entries a checker reads per request from ``/api/books/entries``."""


class ProposalBody(Strict):
    kind: spending.Kind = spending.Kind.SPEND
    account: str = Field(max_length=32, description="The budget line spent on, or the funding source received from.")
    via: str = Field("cash", max_length=32, description="Paid from, or into: cash or bank.")
    amount: str = Field(max_length=20, description="In yuan, at most two decimals: 12.50")
    memo: str = Field(max_length=200)
    spent_on: date = Field(description="The day it was spent or received, in the station's calendar: within the last year, not ahead.")


class Decision(Strict):
    reason: str = Field("", max_length=200)


class ReceiptView(BaseModel):
    sha256: str
    content_type: str
    size: int
    attached_at: Instant


class SpendingView(BaseModel):
    id: int
    kind: spending.Kind
    account: str
    via: str
    amount_fen: int
    memo: str
    spent_on: date
    proposed_at: Instant
    proposed_by: str
    status: spending.Status
    decided_at: Instant | None
    decided_by: str | None
    reason: str | None
    entry: int | None = Field(description="The ledger entry it was booked as, once approved.")
    receipts: list[ReceiptView]


class AccountView(BaseModel):
    code: str
    kind: str
    name_zh: str
    name_en: str
    budget_fen: int | None
    spent_this_year_fen: int | None = Field(None, description="A budget line's spending booked this year.")


class PublishedEntry(BaseModel):
    """An entry exactly as its hash covers it: SHA-256 of this object (less ``hash``) as compact JSON with sorted keys."""

    id: int
    at: str
    booked_on: str
    memo: str
    reverses: int | None
    prev_hash: str
    lines: list[tuple[str, int, int]]
    receipts: list[str]
    hash: str


class Head(BaseModel):
    entry: int
    hash: str


class Total(BaseModel):
    code: str
    name_zh: str
    name_en: str
    fen: int
    this_year_fen: int | None = None
    budget_fen: int | None = None


class MonthView(BaseModel):
    """One month of the books as the transparency page shows it."""

    month: str
    station: str
    opening_fen: int
    closing_fen: int
    income: list[Total]
    spent: list[Total]
    entries: list[PublishedEntry]
    head: Head | None
    closed: bool
    months: list[str] = Field(description="Months with entries, newest first: the page's month picker.")
    accounts: list[AccountView] = Field(description="Every account, to name an entry's lines.")
    timezone: str = Field(description="The station's time zone: the page shows when an entry was booked on its clock.")


STATUSES = {
    "spending_unknown": status.HTTP_404_NOT_FOUND,
    "spending_decided": status.HTTP_409_CONFLICT,
    "spending_no_receipt": status.HTTP_409_CONFLICT,
    "spending_month_closed": status.HTTP_409_CONFLICT,
    "spending_own": status.HTTP_403_FORBIDDEN,
    "spending_not_yours": status.HTTP_403_FORBIDDEN,
    "receipt_size": status.HTTP_413_CONTENT_TOO_LARGE,
    "spending_too_many": status.HTTP_429_TOO_MANY_REQUESTS,
}
"""How the web answers the books' refusals that are not a mistake in what was sent (422)."""


def _view(db: Session, row: Spending) -> SpendingView:
    receipts = db.execute(
        select(Receipt.sha256, Receipt.content_type, Receipt.size, Receipt.attached_at)
        .where(Receipt.spending_id == row.id)
        .order_by(Receipt.id)
    ).all()
    return SpendingView(
        id=row.id, kind=spending.Kind(row.kind), account=row.account, via=row.via, amount_fen=row.amount_fen, memo=row.memo,
        spent_on=row.spent_on, proposed_at=row.proposed_at, proposed_by=row.proposed_by, status=spending.Status(row.status),
        decided_at=row.decided_at, decided_by=row.decided_by, reason=row.reason, entry=row.entry_id,
        receipts=[ReceiptView(sha256=r.sha256, content_type=r.content_type, size=r.size, attached_at=r.attached_at) for r in receipts],
    )  # fmt: skip


def station_today(svc: Services) -> date:
    """Today in the station's calendar (its time zone), which the books' days are."""
    return svc.station_time.now().astimezone(ZoneInfo(svc.station.timezone)).date()


def _now(svc: Services) -> datetime:
    return svc.station_time.now()


def month_first(svc: Services, text: str | None) -> date:
    """``YYYY-MM`` as its first day, or the station's month now; a bad month is a 422 saying what to write."""
    if text is None:
        return station_today(svc).replace(day=1)
    try:
        return ledger_report.month_of(text)
    except ValueError as exc:
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, "ledger_month", str(exc)) from None


books = APIRouter(prefix="/api/books", tags=["books"])


@books.get("/accounts", response_model=list[AccountView])
def accounts(_: Readers, db: DatabaseDep, svc: ServicesDep) -> list[AccountView]:
    """The chart of accounts: budget lines with their yearly budget and this year's spending, sources, cash and bank."""
    spent = spending.spent_this_year(db, station_today(svc).year)
    return [
        AccountView(code=a.code, kind=a.kind, name_zh=a.name_zh, name_en=a.name_en, budget_fen=a.budget_fen,
                    spent_this_year_fen=spent.get(a.code, 0) if a.kind == "expense" else None)
        for a in db.scalars(select(LedgerAccount).order_by(LedgerAccount.kind, LedgerAccount.code))
    ]  # fmt: skip


class BudgetBody(Strict):
    budget: str | None = Field(max_length=20, description="The line's yearly budget in yuan; null: none.")


AccountCode = Annotated[str, ApiPath(max_length=32, pattern=r"^[a-z0-9_]+$")]


@books.put("/accounts/{code}/budget", response_model=AccountView)
def set_budget(code: AccountCode, body: BudgetBody, request: Request, user: Officers, db: DatabaseDep, svc: ServicesDep) -> AccountView:
    """Set a budget line's yearly budget (an officer): what spending is weighed against on the page and in the report."""
    account = db.get(LedgerAccount, code)
    if account is None or account.kind != "expense":
        raise Refused(status.HTTP_404_NOT_FOUND, "budget_line_unknown", f"there is no budget line {code!r}", account=code)
    try:
        budget = fen(body.budget, "budget") if body.budget is not None else None
    except LedgerError as exc:
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, "spending_amount", str(exc)) from None
    audit(db, request, user, "budget_set", f"account:{code}", {"budget_fen": account.budget_fen}, {"budget_fen": budget})
    account.budget_fen = budget
    spent = spending.spent_this_year(db, station_today(svc).year).get(code, 0)
    return AccountView(code=account.code, kind=account.kind, name_zh=account.name_zh, name_en=account.name_en,
                       budget_fen=budget, spent_this_year_fen=spent)  # fmt: skip


@books.get("/spending", response_model=list[SpendingView])
def list_spending(
    _: Readers, db: DatabaseDep, state: Annotated[spending.Status | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[SpendingView]:  # fmt: skip
    """Proposals, newest first (the waiting ones are the officer's to decide)."""
    query = select(Spending).order_by(Spending.id.desc()).limit(limit)
    if state is not None:
        query = query.where(Spending.status == state.value)
    return [_view(db, row) for row in db.scalars(query)]


@books.post("/spending", response_model=SpendingView, status_code=201)
def propose(body: ProposalBody, request: Request, user: Proposers, db: DatabaseDep, svc: ServicesDep) -> SpendingView:
    """Propose a spending (or money received); it is booked only when an officer approves it."""
    try:
        amount = fen(body.amount, "amount")
    except LedgerError as exc:
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, "spending_amount", str(exc)) from None
    today = station_today(svc)
    if not today - timedelta(days=366) <= body.spent_on <= today:
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, "spending_day", f"spent on: {body.spent_on} is not within the last year")
    proposal = spending.Proposal(body.kind, body.account, body.via, amount, body.memo, body.spent_on)
    try:
        audit(db, request, user, "spending_proposed", "spending", None, {**body.model_dump(mode="json"), "amount_fen": amount})
        row = spending.propose(db, proposal, user.username, _now(svc))
    except spending.SpendingError as exc:
        raise refused(exc, STATUSES) from None
    return _view(db, row)


def _waiting(db: Session, spending_id: int) -> Spending:
    """The proposal read under the books' lock: an approval committing now is seen, and no receipt is added after it."""
    Ledger.lock(db)
    row = db.get(Spending, spending_id, populate_existing=True)
    if row is None:
        raise Refused(status.HTTP_404_NOT_FOUND, "spending_unknown", f"there is no proposal {spending_id}")
    return row


@books.post("/spending/{spending_id}/receipts", response_model=ReceiptView, status_code=201)
def attach_receipt(
    spending_id: SpendingId, request: Request, user: Proposers, db: DatabaseDep, svc: ServicesDep,
    data: Annotated[bytes, Body(media_type="application/octet-stream", description="The receipt: a JPEG, PNG or PDF file")],
) -> ReceiptView:  # fmt: skip
    """Attach a receipt (the file itself as the body) to a waiting proposal; it is kept with its SHA-256."""
    row = _waiting(db, spending_id)
    try:
        audit(db, request, user, "receipt_attached", f"spending:{row.id}", None, {"size": len(data)})
        receipt = spending.attach(db, row, data, user.username, _now(svc))
    except spending.SpendingError as exc:
        raise refused(exc, STATUSES) from None
    return ReceiptView(sha256=receipt.sha256, content_type=receipt.content_type, size=receipt.size, attached_at=receipt.attached_at)


@books.get("/spending/{spending_id}/receipts/{digest}", response_class=Response)
def receipt_file(spending_id: SpendingId, digest: Digest, _: Readers, db: DatabaseDep) -> Response:
    """A receipt's file, for staff (it may name a supplier or a worker): downloaded, never run in the page."""
    receipt = db.scalar(select(Receipt).where(Receipt.spending_id == spending_id, Receipt.sha256 == digest))
    if receipt is None:
        raise Refused(status.HTTP_404_NOT_FOUND, "receipt_unknown", "no such receipt for this proposal")
    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}[receipt.content_type]
    disposition = "inline" if receipt.content_type.startswith("image/") else "attachment"
    return Response(receipt.data, media_type=receipt.content_type, headers={
        "Content-Disposition": f'{disposition}; filename="receipt-{spending_id}-{digest[:8]}.{extension}"',
        "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'",
    })  # fmt: skip


@books.post("/spending/{spending_id}/approve", response_model=SpendingView)
def approve(spending_id: SpendingId, request: Request, user: Officers, db: DatabaseDep, svc: ServicesDep) -> SpendingView:
    """Approve and book it: one entry in the ledger, its receipts' hashes in the entry's hash."""
    try:
        row = spending.open_for_decision(db, spending_id)  # the books' lock first, then the audit log's
        audit(db, request, user, "spending_approved", f"spending:{row.id}", {"status": row.status}, {"status": "approved"})
        attest = attested_in(svc.audit_log, user.username, user.role, client_of(request))
        spending.approve(db, svc.ledger, row, user.username, _now(svc), attest)
    except spending.SpendingError as exc:
        raise refused(exc, STATUSES) from None
    except LedgerError as exc:  # what the books themselves refuse; nothing was booked
        raise Refused(status.HTTP_409_CONFLICT, "spending_books", str(exc)) from None
    return _view(db, row)


def _turn_down(
    spending_id: int, decided: spending.Status, body: Decision, request: Request, user: User, db: Session, svc: Services
) -> SpendingView:
    try:
        row = spending.open_for_decision(db, spending_id)
        audit(db, request, user, f"spending_{decided.value}", f"spending:{row.id}", {"status": row.status},
              {"status": decided.value, "reason": body.reason})  # fmt: skip
        spending.turn_down(row, decided, user.username, body.reason, _now(svc))
    except spending.SpendingError as exc:
        raise refused(exc, STATUSES) from None
    return _view(db, row)


@books.post("/spending/{spending_id}/reject", response_model=SpendingView)
def reject(spending_id: SpendingId, body: Decision, request: Request, user: Officers, db: DatabaseDep, svc: ServicesDep) -> SpendingView:
    """Reject a waiting proposal, saying why; nothing is booked."""
    return _turn_down(spending_id, spending.Status.REJECTED, body, request, user, db, svc)


@books.post("/spending/{spending_id}/withdraw", response_model=SpendingView)
def withdraw(spending_id: SpendingId, body: Decision, request: Request, user: Proposers, db: DatabaseDep, svc: ServicesDep) -> SpendingView:
    """Withdraw one's own waiting proposal; nothing is booked."""
    return _turn_down(spending_id, spending.Status.WITHDRAWN, body, request, user, db, svc)


public_books = APIRouter(tags=["transparency"])


def _published_entries(
    db: Session, after: int, before: int | None, limit: int, only: Collection[int] | None = None
) -> list[PublishedEntry]:
    found = page_of_entries(db, after, limit, before, only)
    return [PublishedEntry(**published(entry, lines), hash=entry.hash) for entry, lines in found]


@public_books.get("/api/books/entries", response_model=list[PublishedEntry])
def entries(db: DatabaseDep, after: Annotated[int, Query(ge=0, le=2**62)] = 0) -> list[PublishedEntry]:
    """Every entry after ``after``, oldest first, ``PAGE`` at a time: anyone recomputes each hash and the chain from these
    (``yxy ledger check URL`` does)."""
    return _published_entries(db, after, None, PAGE)


@public_books.get("/api/books/month", response_model=MonthView)
def month_view(db: DatabaseDep, svc: ServicesDep, month: Month = None) -> MonthView:
    """One month of the books for the transparency page: no sign-in, and nobody named."""
    first = month_first(svc, month)
    books_month = ledger_report.read_month(db, svc.ledger, first)
    accounts_by_code = books_month.accounts

    def total(code: str, amount: int, year: int | None = None) -> Total:
        account = accounts_by_code[code]
        return Total(code=code, name_zh=account.name_zh, name_en=account.name_en, fen=amount, this_year_fen=year,
                     budget_fen=account.budget_fen if account.kind == "expense" else None)  # fmt: skip

    # The month's own entries only: one booked late (up to a year back) must not make this page read all between.
    ids = sorted({line.entry for line in books_month.lines})
    shown = _published_entries(db, ids[0] - 1, None, len(ids), only=ids) if ids else []
    expense_lines = sorted(code for code, a in accounts_by_code.items() if a.kind == "expense")
    return MonthView(
        month=f"{first:%Y-%m}", station=svc.station.name or svc.station.id,
        opening_fen=books_month.opening, closing_fen=books_month.closing,
        income=[total(code, amount) for code, amount in sorted(books_month.income.items())],
        spent=[total(code, books_month.spent.get(code, 0), books_month.spent_this_year.get(code, 0)) for code in expense_lines],
        entries=shown,
        head=Head(entry=books_month.head[0], hash=books_month.head[1]) if books_month.head else None,
        closed=ledger_report.is_closed(db, first), months=ledger_report.months_booked(db), timezone=svc.station.timezone,
        accounts=[AccountView(code=a.code, kind=a.kind, name_zh=a.name_zh, name_en=a.name_en, budget_fen=a.budget_fen)
                  for a in sorted(accounts_by_code.values(), key=lambda a: (a.kind, a.code))],
    )  # fmt: skip


@public_books.get("/books/report", response_class=HTMLResponse, include_in_schema=False)
def printable(db: DatabaseDep, svc: ServicesDep, month: Month = None, lang: Lang = "zh") -> HTMLResponse:
    """The month's printable report, to post on the station's screen (the same as ``yxy ledger report --html``)."""
    first = month_first(svc, month)
    return HTMLResponse(ledger_report.html(ledger_report.read_month(db, svc.ledger, first), svc.station.id, lang))


@public_books.get("/books/report.xlsx", include_in_schema=False)
def workbook(db: DatabaseDep, svc: ServicesDep, month: Month = None, lang: Lang = "zh") -> Response:
    """The month as a workbook (the same as ``yxy ledger report --xlsx``)."""
    first = month_first(svc, month)
    data = ledger_report.xlsx(ledger_report.read_month(db, svc.ledger, first), svc.station.id, lang)
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="books-{first:%Y-%m}.xlsx"'})  # fmt: skip
