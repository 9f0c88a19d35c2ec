"""Tables. Changed only through an Alembic migration in store/migrations/versions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from store.db import as_utc


class Base(DeclarativeBase):
    pass


class UtcDateTime(TypeDecorator[datetime]):
    """A moment, stored in UTC and read back with its zone, on either database.

    SQLite keeps no offset: a shift sent as 08:00+08:00 was stored as 08:00 and read back as 08:00 UTC, eight hours
    late, and compared as text with moments stored in UTC. So every moment is turned to UTC on its way in, whatever zone
    it came in (a naive one is taken as UTC, the store's convention), and comes back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        # A naive one given its zone too: PostgreSQL would read it in the session's zone, whatever the server is set to.
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class HistoryRow(Base):
    """One change of the twin's feed: a reported-state change, a desired change, an event."""

    __tablename__ = "twin_history"
    __table_args__ = (
        Index("ix_twin_history_entity_at", "station", "entity_id", "at"),
        Index("ix_twin_history_name_at", "station", "name", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    entity_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    t: Mapped[float] = mapped_column(Float)
    """Seconds on the twin's clock (since its start), as the feed carries it."""


class User(Base):
    """A member of staff: custodian, operator, union officer (admin) or auditor."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    """argon2id, never the password."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SignInAttempt(Base):
    """Failed sign-ins for one account name from one place (an IP address), and how long that place must wait.

    Kept per place, not per account, so that a stranger who guesses wrong makes only
    themselves wait, never the officer at the station's own desk.  The name need not be
    an account's: an unknown name is counted the same, so the answers do not tell them apart.
    """

    __tablename__ = "sign_in_attempt"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    """Attempts since the last success or wait, counted before the password is checked."""
    waits: Mapped[int] = mapped_column(Integer)
    """How many waits in a row this place has earned: each is twice the one before."""
    wait_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    signed_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    """The last success from here: a known place is let in while strangers crowd the account."""
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StaffSession(Base):
    """A signed-in browser or API client; only a hash of its token is stored."""

    __tablename__ = "staff_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditEntry(Base):
    """Who did what, when, to what, before and after. Append-only (database triggers) and hash-chained (store/audit.py)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    client: Mapped[str] = mapped_column(String(64), default="")
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """HMAC of this entry and ``prev_hash`` under the station's audit key (store/audit.py); None before the chain began."""


class PlannerRun(Base):
    """A what-if run started from the web: its scenario, who ran it, how far it is, and its results document."""

    __tablename__ = "planner_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    username: Mapped[str] = mapped_column(String(64))
    scenario: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(Text)
    """The scenario file's TOML as run (a library file or an upload)."""
    overrides: Mapped[list[str]] = mapped_column(JSON)
    replications: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    """queued, running, done or failed"""
    done_replications: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(4000), nullable=True)
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Member(Base):
    """A worker in the union's member register (store/members.py): who may come in, and how to reach them.

    Name and phone live here and nowhere else: the audit log names a member as ``member:<id>``,
    and door logs (later) link repeat visits by ``visit_key`` alone, so deleting this row
    forgets the person everywhere.
    """

    __tablename__ = "member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_no: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True)
    """The union's membership number, when the member has one."""
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(11), unique=True)
    """A Chinese mobile number, normalised to its 11 digits (no +86, spaces or hyphens)."""
    worker_group: Mapped[str] = mapped_column(String(16))
    """One of the library's worker groups: riders, couriers, sanitation, construction, other."""
    employer: Mapped[str | None] = mapped_column(String(128), nullable=True)
    """Employer or platform (Meituan, SF Express, the sanitation office...)."""
    face_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    face_consent_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    face_consent_scope: Mapped[str | None] = mapped_column(String(500), nullable=True)
    face_template: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The door terminal's id for the template it made of this member's face (the station never holds the face); set
    when a terminal reports an enrolment while the consent holds, cleared when the consent goes."""
    status: Mapped[str] = mapped_column(String(16), default="active")
    """active, deactivated or banned."""
    status_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    status_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    """When a deactivation or ban lapses by itself; None: until an officer lifts it."""
    visit_key: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    """HMAC of the id under the station's secret: how door logs link visits without a name. Set in the enrolling transaction."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MemberSignInCode(Base):
    """The one-time code a custodian gives a member to sign in on their phone (web/member_page.py): a keyed hash of it,
    never the code; at most one per member (a new one replaces it); gone with the member (ON DELETE CASCADE)."""

    __tablename__ = "member_sign_in_code"

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    """Codes typed against it so far, counted before each is compared; at the limit it takes no more."""
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MemberSession(Base):
    """A member signed in on their phone: only a hash of the cookie's token is stored, like a staff session; it ends with
    the member (ON DELETE CASCADE), so an id SQLite gives again never inherits it."""

    __tablename__ = "member_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FaceToForget(Base):
    """A member whose face consent went (withdrawn, or the member deleted): by number only, kept until every door's
    terminal has acknowledged deleting the template, so a terminal away when it was asked is asked again."""

    __tablename__ = "face_to_forget"

    member: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime())


class VisitorAsk(Base):
    """A visitor who asked at the door (issue 12): what for, and what became of it. The phone is not kept, only its
    visit key (``actors.door_access.visit_key`` of ``visitor:<phone>``), so repeat visits are counted, not profiled;
    the row goes after the station's retention for visitor records. ``sqlite_autoincrement``: an id is never given
    twice, so a visitor's page polling an old request cannot see a newer one's fate."""

    __tablename__ = "visitor_ask"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012  (SQLAlchemy reads it; nothing mutates it)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the random token the visitor's page holds: their only way back to the request."""
    visit_key: Mapped[str] = mapped_column(String(64), index=True)
    door: Mapped[str] = mapped_column(String(64))
    place: Mapped[str] = mapped_column(String(64))
    """A keyed hash of the address the ask came from: bounds the asks waiting from one place, says nothing else."""
    needs: Mapped[list[str]] = mapped_column(JSON)
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    """waiting (for the custodian), ready (show the pass at the door), admitted, refused, expired."""
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """The door's verdict (``door.<reason>``), or ``custodian_refused``."""
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    ready_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    """Ready (the night rule, or the custodian's approval): until when its pass opens the door."""
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The staff account that approved or refused; None for the door's own night rule."""


class LedgerAccount(Base):
    """An account of the union's books: money held (asset), where it comes from (income: the union's allocation, the
    street office, donations) and what it is spent on (expense: a budget line)."""

    __tablename__ = "ledger_account"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    """asset, liability, equity, income or expense."""
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    budget_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """A budget line's yearly budget, in fen."""


class LedgerEntry(Base):
    """One journal entry: when, what for, who booked it, and its lines. Append-only (database triggers) and
    hash-chained with plain SHA-256 (store/ledger.py), so anyone holding a published head can check the books."""

    __tablename__ = "ledger_entry"
    __table_args__ = (CheckConstraint("id >= 1", name="ck_ledger_entry_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    booked_on: Mapped[date] = mapped_column(Date, index=True)
    """The day it belongs to, in the station's calendar (periods are made of these)."""
    memo: Mapped[str] = mapped_column(String(200))
    username: Mapped[str] = mapped_column(String(64))
    reverses: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("ledger_entry.id"), nullable=True, unique=True
    )
    """The entry this one reverses (corrections are reversing entries, never edits); at most one reversal each."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    receipts: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    """SHA-256 of each receipt behind the entry, in its hash: a receipt shown later is checked against the books."""


class LedgerLine(Base):
    """One side of an entry: an account debited or credited, in whole fen (never a float)."""

    __tablename__ = "ledger_line"
    __table_args__ = (
        Index("ix_ledger_line_account", "account"),
        CheckConstraint("debit_fen >= 0 AND credit_fen >= 0 AND (debit_fen = 0) <> (credit_fen = 0)", name="ck_ledger_line_one_side"),
        UniqueConstraint("entry_id", "position", name="uq_ledger_line_position"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"))
    position: Mapped[int] = mapped_column(Integer)
    account: Mapped[str] = mapped_column(ForeignKey("ledger_account.code"))
    debit_fen: Mapped[int] = mapped_column(BigInteger)
    credit_fen: Mapped[int] = mapped_column(BigInteger)


class LedgerClose(Base):
    """A month closed: nothing more is booked into it, and the books' head at closing is kept, so an entry slipped into
    it afterwards is found by ``verify``. Append-only."""

    __tablename__ = "ledger_close"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    """The month's first day."""
    closed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    username: Mapped[str] = mapped_column(String(64))
    head_entry: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    """The newest entry when the month was closed (0: none yet)."""
    head_hash: Mapped[str] = mapped_column(String(64))


class Spending(Base):
    """Money proposed to be spent (or received) by a custodian, booked into the ledger only when an officer approves it.

    Unlike the ledger this row changes (proposed, then approved, rejected or withdrawn); every change is audited."""

    __tablename__ = "spending"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="ck_spending_amount"),
        CheckConstraint("status IN ('proposed', 'approved', 'rejected', 'withdrawn')", name="ck_spending_status"),
        CheckConstraint("kind IN ('spend', 'receive')", name="ck_spending_kind"),
        Index("ix_spending_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    """``spend``: from ``via`` to the budget line ``account``; ``receive``: from the funding source ``account`` into ``via``."""
    account: Mapped[str] = mapped_column(ForeignKey("ledger_account.code"))
    via: Mapped[str] = mapped_column(ForeignKey("ledger_account.code"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    memo: Mapped[str] = mapped_column(String(200))
    spent_on: Mapped[date] = mapped_column(Date)
    proposed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    proposed_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    entry_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("ledger_entry.id"), nullable=True, unique=True
    )


class Receipt(Base):
    """A receipt (an image or a PDF) behind a spending, kept by its SHA-256; the bytes only for staff, the hash public."""

    __tablename__ = "receipt"
    __table_args__ = (UniqueConstraint("spending_id", "sha256", name="uq_receipt_per_spending"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    spending_id: Mapped[int] = mapped_column(ForeignKey("spending.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    attached_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attached_by: Mapped[str] = mapped_column(String(64))


class SupplyStock(Base):
    """How much of an item is kept at one place now: never below nought (a CHECK), whatever is asked of it."""

    __tablename__ = "supply_stock"
    __table_args__ = (CheckConstraint("quantity >= 0", name="ck_supply_stock_not_negative"),)

    item: Mapped[str] = mapped_column(String(64), primary_key=True)
    place: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SupplyMove(Base):
    """One change to a stock: used (by a device's uses or by hand), delivered, counted, lent, brought back, moved.

    ``short`` is what was asked for and not there: a use the stock could not cover, the stock-out's evidence."""

    __tablename__ = "supply_move"
    __table_args__ = (Index("ix_supply_move_item_at", "item", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    item: Mapped[str] = mapped_column(String(64))
    place: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    delta: Mapped[int] = mapped_column(BigInteger)
    short: Mapped[int] = mapped_column(BigInteger, default=0)
    after: Mapped[int] = mapped_column(BigInteger)
    by: Mapped[str] = mapped_column(String(64))
    """A staff username, or ``device:<id>`` for a device's counted uses."""
    note: Mapped[str] = mapped_column(String(200), default="")


class Feedback(Base):
    """What someone said on the station's feedback page: a rating, a comment, a complaint with its category. Anonymous
    unless a signed-in member chose to attach their membership; the page's way back to the answer is a token whose
    SHA-256 only is kept. A complaint is handled: assigned, answered by a deadline, closed."""

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="ck_feedback_rating"),
        Index("ix_feedback_at", "at"),
        Index("ix_feedback_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str] = mapped_column(String(500), default="")
    category: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """A complaint's category; None: not a complaint."""
    member_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    place: Mapped[str] = mapped_column(String(64))
    """A keyed hash of the address it came from: counted against floods, never shown."""
    status: Mapped[str] = mapped_column(String(16))
    """``noted`` (not a complaint), ``open``, ``assigned``, ``answered``, ``closed``."""
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    due: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    reply: Mapped[str | None] = mapped_column(String(500), nullable=True)
    replied_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    replied_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class DutyShift(Base):
    """A custodian's shift on the roster, in UTC."""

    __tablename__ = "duty_shift"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ck_duty_shift_order"), Index("ix_duty_shift_starts", "starts_at"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str] = mapped_column(String(200), default="")
    made_by: Mapped[str] = mapped_column(String(64))


class CheckRecord(Base):
    """A checklist or a safety check done: each line's result, signed by who did it and when. Never changed."""

    __tablename__ = "check_record"
    __table_args__ = (Index("ix_check_record_kind_at", "kind", "done_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(80))
    """``opening``, ``closing``, or ``safety:<id>``."""
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """Each line as it read then, and whether it was in order, with a note."""
    done_at: Mapped[datetime] = mapped_column(UtcDateTime())
    done_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(500), default="")


class IncidentReport(Base):
    """What happened (a fall, a fight, a theft, a fire, a medical case), linked to the alarm that told of it, and its
    follow-up until it is closed."""

    __tablename__ = "incident_report"
    __table_args__ = (Index("ix_incident_report_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    """When it happened."""
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reported_by: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(1000))
    alarm: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The camera's incident or the device alarm it was about (``hall-1-fall-3``, ``A17``)."""
    follow_up: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Each step taken: when, by whom, what."""
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
