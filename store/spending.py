"""Money through the union's books by role: the custodian proposes, with receipts; an officer approves, and only then is
it booked; the auditor reads.

A proposal is a spending from cash or the bank on a budget line, or money received from a
funding source. It is booked into the ledger (``store.ledger``) the moment an officer approves
it, with the SHA-256 of each receipt in the entry's hash, so a receipt shown later is checked
against the published books. Nobody approves their own proposal. A spending needs at least
one receipt before it can be approved; money received may have one (a bank slip). A receipt
is a JPEG, PNG or PDF of at most ``MOST_RECEIPT_BYTES``, recognised by its first bytes, not by
what the caller says it is.

Every decision takes the books' lock first (``Ledger.lock``), then reads the proposal: two
officers approving at once book it once, and the second is told it is decided already.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.errors import Refusal
from store.ledger import MOST_FEN, MOST_RECEIPTS, Attest, Ledger, LedgerError, Line
from store.models import LedgerAccount, LedgerClose, LedgerEntry, LedgerLine, Receipt, Spending

MOST_RECEIPT_BYTES = 2 * 1024 * 1024
"""A receipt's largest size: a phone's photo of an invoice, shrunk by the page first, or an electronic invoice (PDF)."""
RECEIPT_KINDS = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n", "application/pdf": b"%PDF-"}
"""What a receipt may be, and the bytes each kind of file starts with."""
MOST_WAITING = 500
"""Proposals waiting at once: a station makes a few a week; a runaway script is stopped here."""


class Kind(StrEnum):
    SPEND = "spend"
    RECEIVE = "receive"


class Status(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class SpendingError(Refusal):
    """A proposal or a decision the books cannot take."""


@dataclass(frozen=True)
class Proposal:
    kind: Kind
    account: str
    """The budget line spent on (``spend``) or the funding source (``receive``)."""
    via: str
    """The asset account paid from or into: cash or the bank."""
    amount_fen: int
    memo: str
    spent_on: date


def _check_memo(text: str, where: str) -> None:
    try:
        Ledger.check_memo(text, where)
    except LedgerError as exc:
        raise SpendingError(f"spending_{where}", str(exc)) from None


def _check_open(db: Session, day: date) -> None:
    """A day in a closed month is refused at once, not only when an officer approves it."""
    closed = db.scalar(select(func.max(LedgerClose.month)))
    if closed is not None and day < (closed + timedelta(days=32)).replace(day=1):
        raise SpendingError("spending_month_closed", f"spent on: the books up to {closed:%Y-%m} are closed", month=f"{closed:%Y-%m}")


def _kind_of(db: Session, code: str) -> str | None:
    return db.scalar(select(LedgerAccount.kind).where(LedgerAccount.code == code))


def propose(db: Session, proposal: Proposal, username: str, moment: datetime) -> Spending:
    """A proposal waiting for an officer; nothing is booked yet."""
    wanted = "expense" if proposal.kind is Kind.SPEND else "income"
    if _kind_of(db, proposal.account) != wanted:
        shown = proposal.account[:40]
        raise SpendingError("spending_account", f"account: {shown!r} is not a {wanted} account", account=shown)
    if _kind_of(db, proposal.via) != "asset":
        raise SpendingError("spending_via", f"via: {proposal.via[:40]!r} is not cash or a bank account", account=proposal.via[:40])
    _check_memo(proposal.memo, "memo")
    if not 0 < proposal.amount_fen <= MOST_FEN:
        raise SpendingError("spending_amount", "amount: a positive amount in yuan")
    _check_open(db, proposal.spent_on)
    waiting = db.scalar(select(func.count()).select_from(Spending).where(Spending.status == Status.PROPOSED.value)) or 0
    if waiting >= MOST_WAITING:
        raise SpendingError("spending_too_many", f"{waiting} proposals are waiting already: decide some first")
    row = Spending(
        kind=proposal.kind.value, account=proposal.account, via=proposal.via, amount_fen=proposal.amount_fen,
        memo=proposal.memo.strip(), spent_on=proposal.spent_on, proposed_at=moment, proposed_by=username[:64],
        status=Status.PROPOSED.value,
    )  # fmt: skip
    db.add(row)
    db.flush()
    return row


def kind_of_file(data: bytes) -> str | None:
    """The receipt kind ``data`` is by its first bytes, or None."""
    return next((kind for kind, magic in RECEIPT_KINDS.items() if data.startswith(magic)), None)


def attach(db: Session, spending: Spending, data: bytes, username: str, moment: datetime) -> Receipt:
    """Keep a receipt behind a waiting proposal; the same file twice is kept once."""
    if spending.status != Status.PROPOSED.value:
        raise SpendingError("spending_decided", f"this proposal is {spending.status} already: receipts go with a waiting one")
    if not data:
        raise SpendingError("receipt_kind", "receipt: the file is empty")
    if len(data) > MOST_RECEIPT_BYTES:
        raise SpendingError("receipt_size", f"receipt: {len(data)} bytes, at most {MOST_RECEIPT_BYTES}")
    kind = kind_of_file(data)
    if kind is None:
        raise SpendingError("receipt_kind", "receipt: not a JPEG, PNG or PDF file")
    digest = hashlib.sha256(data).hexdigest()
    have = db.scalar(select(Receipt).where(Receipt.spending_id == spending.id, Receipt.sha256 == digest))
    if have is not None:
        return have
    if len(receipts_of(db, spending.id)) >= MOST_RECEIPTS:
        raise SpendingError("receipt_too_many", f"receipt: a proposal has at most {MOST_RECEIPTS} receipts")
    receipt = Receipt(spending_id=spending.id, sha256=digest, content_type=kind, size=len(data), data=data,
                      attached_at=moment, attached_by=username[:64])  # fmt: skip
    db.add(receipt)
    db.flush()
    return receipt


def receipts_of(db: Session, spending_id: int) -> list[str]:
    """The hashes of a proposal's receipts, in the order they were attached."""
    return list(db.scalars(select(Receipt.sha256).where(Receipt.spending_id == spending_id).order_by(Receipt.id)))


def open_for_decision(db: Session, spending_id: int) -> Spending:
    """The proposal, read under the books' lock, still waiting: else a ``SpendingError`` saying what became of it."""
    Ledger.lock(db)
    row = db.get(Spending, spending_id, populate_existing=True)
    if row is None:
        raise SpendingError("spending_unknown", f"there is no proposal {spending_id}")
    if row.status != Status.PROPOSED.value:
        raise SpendingError("spending_decided", f"proposal {spending_id} is {row.status} already")
    return row


def approve(db: Session, ledger: Ledger, row: Spending, username: str, moment: datetime, attest: Attest) -> LedgerEntry:
    """Book ``row`` (from ``open_for_decision``) as its approver; the caller audited the approval first."""
    if row.proposed_by == username:
        raise SpendingError("spending_own", "nobody approves their own proposal: another officer must")
    receipts = receipts_of(db, row.id)
    if row.kind == Kind.SPEND.value and not receipts:
        raise SpendingError("spending_no_receipt", "attach the receipt before this spending is approved")
    if row.kind == Kind.SPEND.value:
        lines = [Line(row.account, debit_fen=row.amount_fen), Line(row.via, credit_fen=row.amount_fen)]
    else:
        lines = [Line(row.via, debit_fen=row.amount_fen), Line(row.account, credit_fen=row.amount_fen)]
    _check_open(db, row.spent_on)  # closed since it was proposed: the proposer books it again on an open day
    entry = ledger.post(db, lines, row.memo, username, row.spent_on, attest, receipts)
    row.status, row.decided_at, row.decided_by, row.entry_id = Status.APPROVED.value, moment, username[:64], entry.id
    db.flush()
    return entry


def turn_down(row: Spending, status: Status, username: str, reason: str, moment: datetime) -> None:
    """Reject (an officer) or withdraw (its proposer) a waiting proposal; nothing was booked, nothing is."""
    if status is Status.WITHDRAWN and row.proposed_by != username:
        raise SpendingError("spending_not_yours", "only who proposed it may withdraw it; an officer rejects it")
    if status is Status.REJECTED and not reason.strip():
        raise SpendingError("spending_reason", "reason: say why it is rejected")
    _check_memo(reason or "-", "reason")
    row.status, row.decided_at, row.decided_by, row.reason = status.value, moment, username[:64], reason.strip() or None


def spent_this_year(db: Session, year: int) -> dict[str, int]:
    """Each budget line's spending booked in ``year``, in fen: what an officer weighs a proposal against."""
    query = (
        select(LedgerLine.account, func.sum(LedgerLine.debit_fen - LedgerLine.credit_fen))
        .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        .join(LedgerAccount, LedgerAccount.code == LedgerLine.account)
        .where(LedgerAccount.kind == "expense", LedgerEntry.booked_on >= date(year, 1, 1), LedgerEntry.booked_on <= date(year, 12, 31))
        .group_by(LedgerLine.account)
    )
    return {account: int(total) for account, total in db.execute(query)}
