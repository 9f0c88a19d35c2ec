"""The union's books: a double-entry ledger in whole fen, append-only, hash-chained so that anyone can check it.

Every entry's debits equal its credits, so every period's do too. Nothing booked is ever
changed: a mistake is corrected by a reversing entry (the same lines, sides swapped), which
brings every balance back exactly. The database refuses UPDATE, DELETE and TRUNCATE by
triggers; and each entry carries ``SHA-256(previous hash + the entry and its lines)``, so an
entry edited, deleted or slipped in behind the application's back breaks the chain there.

**Decision: a plain hash, not the audit log's keyed one.** The point of these books is that
anyone can check them (the issue: "a fund ledger anyone can check"): the transparency page
publishes every entry and the newest hash, and the monthly report posted on the station's
screen carries the books' head when it was made. A plain hash can be recomputed by anyone from what is
published; against someone who rewrites the whole chain and recomputes it, the published
heads are the defence, as ``verify(published=...)`` checks. A head file beside the database
(as the audit log's) catches a cut tail between publications.

Appends are serialised (a PostgreSQL advisory lock; SQLite's write lock) so that parallel
writers never fork the chain. Amounts are integers in fen: text is read with ``Decimal``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow, Underflow
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from store.audit import AuditLog, ChainHead
from store.db import as_utc, hold_write_lock
from store.errors import unprintable
from store.models import AuditEntry, LedgerAccount, LedgerClose, LedgerEntry, LedgerLine

GENESIS = "0" * 64
_LOCK_KEY = 0x7978796C  # "yxyl": the advisory lock ledger appends take on PostgreSQL
KINDS = ("asset", "liability", "equity", "income", "expense")
MOST_LINES = 50
"""Lines an entry may have: a receipt split over budget lines, not a year's books in one entry."""
MOST_RECEIPTS = 5
"""Receipts behind one entry (an invoice and its payment slip, a few pages)."""
RECEIPT_HASH = re.compile(r"[0-9a-f]{64}")
MOST_FEN = 10**12
"""The largest amount a line may carry: ten billion yuan, far beyond any station's year (and any overflow)."""


BOOKED = "ledger_booked"
"""The audit log's action for an entry booked: its id and hash, under the audit log's key."""
Attest = Callable[[Session, int, str], None]


def attested_in(log: AuditLog, username: str, role: str, client: str) -> Attest:
    """An ``attest`` that records each booking in the keyed audit log, as whoever booked it."""

    def attest(db: Session, entry_id: int, entry_hash: str) -> None:
        log.append(db, username, role, BOOKED, f"ledger entry {entry_id}", None, {"entry": entry_id, "hash": entry_hash}, client)

    return attest


@dataclass(frozen=True)
class Attested:
    """An entry as the keyed audit log recorded it when it was booked: its hash, and who booked it."""

    hash: str
    username: str


def attestations(db: Session) -> dict[int, Attested]:
    """Each entry's hash and booker as the audit log recorded them when it was booked (the audit log's own chain is
    ``yxy audit verify``'s to check)."""
    found: dict[int, Attested] = {}
    for username, after in db.execute(select(AuditEntry.username, AuditEntry.after).where(AuditEntry.action == BOOKED)):
        if isinstance(after, dict) and isinstance(after.get("entry"), int) and isinstance(after.get("hash"), str):
            found[after["entry"]] = Attested(after["hash"], username)
    return found


def head_file_for(audit_key_file: Path) -> Path:
    """Where the newest entry's id and hash are kept: beside the audit key, outside the database."""
    return audit_key_file.with_name(audit_key_file.name + ".ledger-head")


class LedgerError(ValueError):
    """An entry the books cannot take, saying what is wrong and where."""


@dataclass(frozen=True)
class Line:
    account: str
    debit_fen: int = 0
    credit_fen: int = 0


@dataclass(frozen=True)
class Broken:
    entry_id: int | None
    why: str


@dataclass(frozen=True)
class Account:
    code: str
    kind: str
    name_zh: str
    name_en: str
    budget_fen: int | None = None


DEFAULT_ACCOUNTS = (
    Account("cash", "asset", "现金", "Cash"),
    Account("bank", "asset", "银行存款", "Bank"),
    Account("union_allocation", "income", "工会拨款", "Union allocation"),
    Account("street_office", "income", "街道补助", "Street office grant"),
    Account("donations", "income", "社会捐赠", "Donations"),
    Account("supplies", "expense", "物资耗材", "Supplies"),
    Account("utilities", "expense", "水电网费", "Utilities"),
    Account("repairs", "expense", "设备维修", "Repairs"),
    Account("activities", "expense", "会员活动", "Members' activities"),
)
"""A station's usual books (ASSUMPTION: the union's own chart may name them otherwise; accounts can be added)."""


def fen(text: str | int | Decimal, where: str = "amount") -> int:
    """An amount in yuan (``"12.5"``, ``"12.50"``) as whole fen, exactly; more than two decimals, or not a positive
    number, is a ``LedgerError`` naming ``where``. Worked in a context that traps any rounding, so no amount is
    quietly rounded whatever its digits or exponent."""
    shown = str(text).strip()[:40]
    exact = Context(prec=40, traps=[Inexact, Overflow, Underflow, InvalidOperation])
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise LedgerError(f"{where}: {shown!r} is not an amount in yuan (write 12.50)") from None
    if not value.is_finite() or value <= 0:
        raise LedgerError(f"{where}: {shown!r} must be a positive amount in yuan")
    if value > Decimal(MOST_FEN) / 100:
        raise LedgerError(f"{where}: {shown!r} is more than a station's books can hold")
    try:
        scaled = exact.multiply(value, Decimal(100))
        whole = exact.to_integral_exact(scaled)
    except (Inexact, Underflow, Overflow, InvalidOperation):
        raise LedgerError(f"{where}: {shown!r} has more than two decimals (fen are the smallest unit)") from None
    return int(whole)


def ensure_accounts(db: Session, accounts: Iterable[Account] = DEFAULT_ACCOUNTS) -> None:
    """Add the accounts the books do not have yet; those they have are left as they are."""
    have = set(db.scalars(select(LedgerAccount.code)))
    for account in accounts:
        if account.kind not in KINDS:
            raise LedgerError(f"account {account.code!r}: kind {account.kind!r} is not one of {', '.join(KINDS)}")
        if account.code not in have:
            db.add(LedgerAccount(**account.__dict__))
    db.flush()


class Ledger:
    def __init__(self, head_file: Path | None = None) -> None:
        """``head_file``: where the newest entry's id and hash are written after each commit (None: nowhere)."""
        self._head = ChainHead(head_file) if head_file is not None else None

    def post(
        self,
        db: Session,
        lines: Sequence[Line],
        memo: str,
        username: str,
        booked_on: date,
        attest: Attest | None = None,
        receipts: Sequence[str] = (),
    ) -> LedgerEntry:
        """Book one balanced entry at the end of the chain, in ``db``'s transaction (the head file follows the commit).
        ``receipts``: the SHA-256 of each receipt behind it, hashed with it.
        ``attest(db, entry id, hash)`` is called before the entry is written: the application's booking records it in
        the keyed audit log (``attested_in``), in the same transaction. Lock order: the ledger's, then the audit log's;
        a caller must not append to the audit log before booking in the same transaction."""
        return self._book(db, lines, memo, username, booked_on, None, attest, receipts)

    @staticmethod
    def lock(db: Session) -> None:
        """Hold the books' append lock for the rest of ``db``'s transaction: a caller that must audit before it books
        takes it first, so the lock order stays the ledger's, then the audit log's."""
        hold_write_lock(db, _LOCK_KEY)

    def _book(
        self,
        db: Session,
        lines: Sequence[Line],
        memo: str,
        username: str,
        booked_on: date,
        reverses: int | None,
        attest: Attest | None,
        receipts: Sequence[str] = (),
    ) -> LedgerEntry:
        self._check(db, lines, memo, booked_on)
        if len(receipts) > MOST_RECEIPTS or any(not RECEIPT_HASH.fullmatch(str(digest)) for digest in receipts):
            raise LedgerError(f"receipts: at most {MOST_RECEIPTS}, each a SHA-256 in 64 lower-case hex digits")
        self.lock(db)
        closed = db.scalar(select(func.max(LedgerClose.month)))
        if closed is not None and booked_on < _next_month(closed):
            raise LedgerError(
                f"booked on: the books up to {closed:%Y-%m} are closed; book it on a day of an open month, saying in the memo "
                "which month it corrects"
            )
        if reverses is not None and db.scalar(select(LedgerEntry.id).where(LedgerEntry.reverses == reverses)) is not None:
            raise LedgerError(f"entry {reverses} is already reversed")
        last = self.head(db)
        entry = LedgerEntry(
            id=(last[0] + 1) if last else 1, at=datetime.now(UTC), booked_on=booked_on, memo=memo.strip(), username=username[:64],
            reverses=reverses, prev_hash=last[1] if last else GENESIS, hash="", receipts=list(receipts),
        )  # fmt: skip
        entry.hash = seal(entry, [(line.account, line.debit_fen, line.credit_fen) for line in lines])
        if attest is not None:
            attest(db, entry.id, entry.hash)
        db.add(entry)
        db.flush()
        db.add_all(
            LedgerLine(entry_id=entry.id, position=n, account=line.account, debit_fen=line.debit_fen, credit_fen=line.credit_fen)
            for n, line in enumerate(lines)
        )
        db.flush()
        head = self._head
        if head is not None:
            event.listen(db, "after_commit", lambda _: head.advance(entry.id, entry.hash), once=True)
        return entry

    def reverse(self, db: Session, entry_id: int, memo: str, username: str, booked_on: date, attest: Attest | None = None) -> LedgerEntry:
        """Correct entry ``entry_id`` the only way the books allow: a new entry with its lines' sides swapped."""
        original = db.get(LedgerEntry, entry_id)
        if original is None:
            raise LedgerError(f"there is no entry {entry_id} to reverse")
        if original.reverses is not None:
            raise LedgerError(f"entry {entry_id} is itself a reversal: book the right entry again instead")
        lines = [Line(account, credit, debit) for account, debit, credit in _lines_of(db, entry_id)]
        return self._book(db, lines, memo, username, booked_on, entry_id, attest)

    def close_month(self, db: Session, first: date, username: str) -> LedgerClose:
        """Close the month starting ``first`` and every month before it: nothing more is booked into them, and the books'
        head now is kept, so ``verify`` finds an entry slipped into them later. Months close in order, and only once
        they are over (``first`` of a month before the newest entry's, or before today)."""
        if type(first) is not date or first.day != 1:
            raise LedgerError(f"month: {str(first)[:30]!r} is not the first day of a month")
        self.lock(db)
        closed = db.scalar(select(func.max(LedgerClose.month)))
        if closed is not None and first <= closed:
            raise LedgerError(f"month: {first:%Y-%m} is closed already (the books are closed up to {closed:%Y-%m})")
        if _next_month(first) > datetime.now(UTC).date():
            raise LedgerError(f"month: {first:%Y-%m} is not over yet")
        head = self.head(db) or (0, GENESIS)
        record = LedgerClose(month=first, closed_at=datetime.now(UTC), username=username[:64], head_entry=head[0], head_hash=head[1])
        db.add(record)
        db.flush()
        return record

    def balances(self, db: Session, since: date | None = None, until: date | None = None) -> dict[str, int]:
        """Each account's debits less credits over the entries booked from ``since`` to ``until`` (inclusive), in fen."""
        query = select(LedgerLine.account, func.sum(LedgerLine.debit_fen - LedgerLine.credit_fen)).join(
            LedgerEntry, LedgerEntry.id == LedgerLine.entry_id
        )
        if since is not None:
            query = query.where(LedgerEntry.booked_on >= since)
        if until is not None:
            query = query.where(LedgerEntry.booked_on <= until)
        return {account: int(total) for account, total in db.execute(query.group_by(LedgerLine.account))}

    def head(self, db: Session) -> tuple[int, str] | None:
        """The newest entry's id and hash: what the transparency page and the monthly report publish."""
        last = db.execute(select(LedgerEntry.id, LedgerEntry.hash).order_by(LedgerEntry.id.desc()).limit(1)).first()
        return (int(last.id), str(last.hash)) if last else None

    def verify(
        self, db: Session, published: Iterable[tuple[int, str]] = (), attested: Mapping[int, Attested] | None = None
    ) -> list[Broken]:
        """Every break, oldest first: an entry whose hash is not its content's, one that does not follow the one before,
        entries missing, an entry whose lines do not balance, and a head (the file's, or ``published`` ones) the books
        no longer hold. ``attested``: each entry's hash and booker as the keyed audit log recorded them when it was
        booked; an entry it does not attest was appended behind the application's back (a plain hash alone cannot tell,
        since anyone can compute one), and one whose booker differs was edited (the booker is not in the public hash).
        An empty list: intact."""
        file_head = self._head.read() if self._head is not None else None  # before the walk: later entries are no cut
        closes = [(close.month, close.head_entry, close.head_hash) for close in db.scalars(select(LedgerClose).order_by(LedgerClose.month))]
        broken: list[Broken] = []
        previous: tuple[int, str] = (0, GENESIS)
        seen: dict[int, str] = {}
        for entry, lines in _entries(db):
            if entry.id != previous[0] + 1:
                broken.append(Broken(entry.id, f"entries {previous[0] + 1} to {entry.id - 1} are missing (deleted)"))
            elif entry.prev_hash != previous[1]:
                broken.append(Broken(entry.id, "does not follow the entry before it (one was deleted or slipped in)"))
            if entry.hash != seal(entry, lines):
                broken.append(Broken(entry.id, "its hash does not match its content (edited, or slipped in)"))
            debits, credits = sum(line[1] for line in lines), sum(line[2] for line in lines)
            if debits != credits or len(lines) < 2:
                broken.append(Broken(entry.id, f"its debits ({debits} fen) and credits ({credits} fen) do not balance"))
            late = [month for month, head_entry, _ in closes if entry.booked_on < _next_month(month) and entry.id > head_entry]
            if late:
                broken.append(Broken(entry.id, f"it was booked into {late[0]:%Y-%m} after that month was closed"))
            if attested is not None:
                record = attested.get(entry.id)
                if record is None or record.hash != entry.hash:
                    broken.append(Broken(entry.id, "the audit log has no record of it being booked (slipped in)"))
                elif record.username != entry.username:
                    broken.append(Broken(entry.id, "who booked it is not who the audit log says booked it (edited)"))
            previous = (entry.id, entry.hash)
            seen[entry.id] = entry.hash
        heads = list(published) + [(head_entry, head_hash) for _, head_entry, head_hash in closes if head_entry > 0]
        if file_head is not None:
            heads.append(file_head)
        for number, digest in heads:
            if number not in seen:
                broken.append(Broken(None, f"the books end at entry {previous[0]} but reached entry {number} (cut or emptied)"))
            elif seen[number] != digest:
                broken.append(Broken(number, "is not the entry that was published with this number (the books were rewritten)"))
        return broken

    @staticmethod
    def check_day(booked_on: date) -> None:
        if type(booked_on) is not date:  # a datetime is a date too, and would be hashed with its time
            raise LedgerError(f"booked on: {str(booked_on)[:30]!r} is not a day (write 2026-12-01)")

    @staticmethod
    def check_memo(memo: str, where: str = "memo") -> None:
        """One line of at most 200 characters: what the books publish beside the amounts."""
        if not memo.strip():
            raise LedgerError(f"{where}: say what the entry is for")
        if len(memo) > 200:
            raise LedgerError(f"{where}: {len(memo)} characters, at most 200")
        if unprintable(memo, allowed=""):  # published beside the amounts: no control, no text turned around
            raise LedgerError(f"{where}: one line of text, without control characters")

    @classmethod
    def _check(cls, db: Session, lines: Sequence[Line], memo: str, booked_on: date) -> None:
        cls.check_day(booked_on)
        cls.check_memo(memo)
        if not 2 <= len(lines) <= MOST_LINES:
            raise LedgerError(f"an entry has 2 to {MOST_LINES} lines, not {len(lines)}")
        known = set(db.scalars(select(LedgerAccount.code)))
        for n, line in enumerate(lines, start=1):
            where = f"line {n}"
            if line.account not in known:
                raise LedgerError(f"{where}: there is no account {line.account[:40]!r}")
            for side, amount in (("debit", line.debit_fen), ("credit", line.credit_fen)):
                if type(amount) is not int or not 0 <= amount <= MOST_FEN:
                    raise LedgerError(f"{where}: the {side} must be whole fen from 0 to {MOST_FEN}")
            if (line.debit_fen == 0) == (line.credit_fen == 0):
                raise LedgerError(f"{where}: a line is either a debit or a credit, and not nought")
        debits, credits = sum(line.debit_fen for line in lines), sum(line.credit_fen for line in lines)
        if debits != credits:
            raise LedgerError(f"the debits ({debits} fen) and the credits ({credits} fen) must be equal")


def _next_month(first: date) -> date:
    return (first.replace(day=1) + timedelta(days=32)).replace(day=1)


def published(entry: Any, lines: Sequence[tuple[str, int, int]]) -> dict[str, Any]:
    """An entry as the transparency page publishes it, and exactly what its hash covers. Who booked it is not in it
    (no personal data on a public page): the keyed audit log holds that, and ``verify`` compares the two."""
    return {
        "id": int(entry.id), "at": as_utc(entry.at).astimezone(UTC).isoformat(), "booked_on": str(entry.booked_on),
        "memo": entry.memo, "reverses": entry.reverses, "prev_hash": entry.prev_hash,
        "lines": [[account, int(debit), int(credit)] for account, debit, credit in lines], "receipts": list(entry.receipts),
    }  # fmt: skip


def seal(entry: Any, lines: Sequence[tuple[str, int, int]]) -> str:
    """SHA-256 of ``published(entry, lines)``: what anyone can recompute."""
    return seal_published(published(entry, lines))


def seal_published(content: Mapping[str, Any]) -> str:
    """SHA-256 of an entry as published (without its ``hash``), as compact JSON with sorted keys and UTF-8 text."""
    shown = {key: value for key, value in content.items() if key != "hash"}
    return hashlib.sha256(json.dumps(shown, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def _well_formed(content: Mapping[str, Any]) -> bool:
    lines = content.get("lines")
    return isinstance(lines, list) and all(
        isinstance(line, list) and len(line) == 3 and isinstance(line[0], str)
        and all(type(amount) is int and 0 <= amount <= MOST_FEN for amount in line[1:])
        for line in lines
    )  # fmt: skip


def check_published(
    entries: Iterable[Mapping[str, Any]], head: tuple[int, str] | None = None, published: Iterable[tuple[int, str]] = ()
) -> tuple[int, list[Broken]]:
    """What anyone can check from the transparency page alone (``yxy ledger check URL``): each published entry's hash is
    its content's, follows the one before from the first, and its lines balance; the page's newest entry (``head``, read
    first: entries booked since come after it) is in the chain as shown; and so is each head published before
    (``published``: a rewrite of the whole chain is caught by these, not by the page's own head). How many entries were
    read, and every break."""
    broken: list[Broken] = []
    previous: tuple[int, str] = (0, GENESIS)
    seen: dict[int, str] = {}
    count = 0
    for content in entries:
        count += 1
        raw = content.get("id")
        number = raw if type(raw) is int else None
        if number is None or number != previous[0] + 1:
            broken.append(Broken(number, f"comes after entry {previous[0]}: entries are missing"))
        elif content.get("prev_hash") != previous[1]:
            broken.append(Broken(number, "does not follow the entry before it"))
        if not _well_formed(content):
            broken.append(Broken(number, "its lines are not account, debit, credit in whole fen"))
        else:
            if content.get("hash") != seal_published(content):
                broken.append(Broken(number, "its hash does not match its content"))
            lines = content["lines"]
            if sum(line[1] for line in lines) != sum(line[2] for line in lines):
                broken.append(Broken(number, "its debits and credits do not balance"))
        previous = (number if number is not None else previous[0] + 1, str(content.get("hash")))
        seen[previous[0]] = previous[1]
    for entry, digest in [*([head] if head is not None else []), *published]:
        if seen.get(entry) != digest:
            broken.append(Broken(entry, "is not the entry that was published with this number (the books were rewritten or cut)"))
    return count, broken


def _lines_of(db: Session, entry_id: int) -> list[tuple[str, int, int]]:
    rows = db.execute(
        select(LedgerLine.account, LedgerLine.debit_fen, LedgerLine.credit_fen)
        .where(LedgerLine.entry_id == entry_id)
        .order_by(LedgerLine.position)
    )
    return [(account, int(debit), int(credit)) for account, debit, credit in rows]


def page_of_entries(
    db: Session, after: int, limit: int = 500, before: int | None = None, only: Collection[int] | None = None
) -> list[tuple[Any, list[tuple[str, int, int]]]]:
    """Up to ``limit`` entries with ids above ``after`` (and below ``before``, and among ``only``), oldest first, each with
    its lines in order: what ``verify`` walks and the transparency page publishes, a page or a month at a time."""
    query = select(*LedgerEntry.__table__.c).where(LedgerEntry.id > after).order_by(LedgerEntry.id).limit(limit)
    if before is not None:
        query = query.where(LedgerEntry.id < before)
    if only is not None:
        query = query.where(LedgerEntry.id.in_(sorted(only)))
    page = db.execute(query).all()
    lines: dict[int, list[tuple[str, int, int]]] = {entry.id: [] for entry in page}
    if lines:
        for entry_id, account, debit, credit in db.execute(
            select(LedgerLine.entry_id, LedgerLine.account, LedgerLine.debit_fen, LedgerLine.credit_fen)
            .where(LedgerLine.entry_id.in_(list(lines)))
            .order_by(LedgerLine.entry_id, LedgerLine.position)
        ):
            lines[entry_id].append((account, int(debit), int(credit)))
    return [(entry, lines[entry.id]) for entry in page]


def _entries(db: Session) -> Iterator[tuple[Any, list[tuple[str, int, int]]]]:
    """Oldest first with their lines, a page at a time: long books are neither held in memory nor in the session."""
    after = -(2**63)  # from the lowest id there is: an entry slipped in below 1 is walked, and named, too
    while page := page_of_entries(db, after):
        yield from page
        after = page[-1][0].id
