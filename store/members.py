"""The member register: enrol, change, find, ban, reactivate, forget; every write audited in the same transaction.

Who may come in is personal data a worker entrusts to the union, so three rules hold:

- A member's name and phone live in the ``member`` row and nowhere else.  The audit log
  (append-only and hash-chained: it can never forget) names a member as ``member:<id>``
  and records only what kind of change was made: the group, the consent flag, the status
  and which fields changed, never a name, a phone, a membership number or free text an
  officer typed (a ban's reason may name the person, so it stays on the row).  Deleting
  the row therefore forgets the person everywhere.
- Repeat visits are linked by ``visit_key``, 256 random bits drawn at enrolment and kept on
  the row (and told to the door with the member's standing), so a door log can count a
  member's visits and show the custodian a name while the member exists, and is anonymous
  once they are deleted: nothing else links to it, not even a later member given the same
  number (SQLite may reuse a deleted row's id).
- Writes to the register are serialised (a PostgreSQL advisory lock, the SQLite write
  lock) before anything is read, so two imports of overlapping lists cannot both find a
  phone free: the second sees the first's rows.  The unique constraints on phone and
  membership number stay the last guard, translated into ``MemberConflict``.

Errors::

    MemberError              a user's mistake about members; the CLI prints one line per problem, exit 2
    ├── MemberInvalid        values that break a rule (each a ``Problem`` with its field)
    │   └── MemberFileError  a member file unreadable, or rows with problems on their lines (store/member_import.py)
    ├── MemberConflict       a phone or membership number already enrolled
    └── MemberNotFound       no member with that id
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from actors.door_access import MemberStanding, Standing
from store.audit import AuditLog
from store.db import as_utc, hold_write_lock
from store.models import FaceToForget, Feedback, Member

_LOCK_KEY = 0x79786D62  # "yxmb": the advisory lock writes to the register take on PostgreSQL
VISIT_KEY_LABEL = b"yunxiaoyi member visit key v1"
DOOR_KEY_LABEL = b"yunxiaoyi door pass key v1"


def door_key(station_key: bytes) -> bytes:
    """The key that signs members' door passes (actors/door_pass.py): derived from the audit key like the visit keys,
    under its own label, so the web that issues passes and the door that checks them need no second secret."""
    return hmac.new(station_key, DOOR_KEY_LABEL, hashlib.sha256).digest()


def visit_secret(station_key: bytes) -> bytes:
    """The secret visit keys are made under (``actors.door_access.visit_key``): derived from the audit key under its
    own label, so one secret file per station serves both purposes, kept apart."""
    return hmac.new(station_key, VISIT_KEY_LABEL, hashlib.sha256).digest()


MOST_LISTED = 500
"""The most members one search answers with; page on with ``after``."""


class WorkerGroup(StrEnum):
    """The scenario library's worker groups (``population.groups.*``), named by the catalog's ``group.<id>``."""

    RIDERS = "riders"
    COURIERS = "couriers"
    SANITATION = "sanitation"
    CONSTRUCTION = "construction"
    OTHER = "other"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a member's values or an imported file, as data: the CLI and the web say it in their language.

    ``code`` is the catalog's ``member_problem_<code>`` filled with ``params``.
    """

    code: str
    params: Mapping[str, str | int] = field(default_factory=dict)
    field: str = ""
    """The member's field (``phone``); empty for the file or the row as a whole."""
    line: int | None = None
    """The spreadsheet's row number (its header is usually row 1); None outside a file."""
    column: str = ""
    """The column's header as the file writes it."""


def say(problem: Problem, lang: str) -> str:
    """``problem`` in ``lang``'s words, placed on its line and column, or its field."""
    from scenarios.i18n import t, t_default

    params = dict(problem.params)
    if problem.code == "group":
        params["allowed"] = t("list_sep", lang).join(t(f"group.{group.value}", lang) for group in WorkerGroup)
    what = t(f"member_problem_{problem.code}", lang).format(**params)
    if problem.line is not None and problem.column:
        return t("member_at_cell", lang).format(line=problem.line, column=problem.column, problem=what)
    if problem.line is not None:
        return t("member_at_line", lang).format(line=problem.line, problem=what)
    if problem.field:
        return t("member_at_field", lang).format(field=t_default(f"member_col.{problem.field}", lang, problem.field), problem=what)
    return what


class MemberError(Exception):
    def __init__(self, *problems: Problem) -> None:
        self.problems = problems
        super().__init__(*problems)

    def __str__(self) -> str:  # English, for logs of a programming error; people read ``say``
        return "; ".join(f"{p.field or p.column or 'member'}: {p.code} {dict(p.params)}" for p in self.problems)


class MemberInvalid(MemberError):
    pass


class MemberConflict(MemberError):
    pass


class MemberNotFound(MemberError):
    pass


# ---- values: one validation path for enrolment, changes and every imported row ----------------------------------------

_GROUP_ALIASES = {
    "骑手": WorkerGroup.RIDERS, "外卖员": WorkerGroup.RIDERS, "外卖": WorkerGroup.RIDERS, "rider": WorkerGroup.RIDERS,
    "快递": WorkerGroup.COURIERS, "快递小哥": WorkerGroup.COURIERS, "courier": WorkerGroup.COURIERS,
    "环卫": WorkerGroup.SANITATION, "环卫工": WorkerGroup.SANITATION, "保洁": WorkerGroup.SANITATION,
    "建筑": WorkerGroup.CONSTRUCTION, "工地": WorkerGroup.CONSTRUCTION, "其他": WorkerGroup.OTHER, "其它": WorkerGroup.OTHER,
}  # fmt: skip
"""Words union lists use besides the catalog's names (外卖骑手, Couriers) and the ids (riders)."""
_YES = {"是", "有", "同意", "已授权", "授权", "y", "yes", "true", "1", "✓", "√"}
_NO = {"否", "无", "不同意", "未授权", "n", "no", "false", "0", ""}
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_PHONE_PUNCTUATION = re.compile(r"[\s\-().·]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet evaluate a cell (OWASP's CSV injection list): exports put a quote before it."""


def _problem(code: str, **params: str | int) -> PydanticCustomError:
    return PydanticCustomError(code, code, params)  # pydantic's message is unused: the catalog says it


def cell_text(value: object) -> str | None:
    """A value as a person typed it: text trimmed and its spaces collapsed, a spreadsheet's number without ``.0``.

    Blank is None.  Control characters and formulas are refused; a quote an export put
    before ``=``, ``+``, ``-`` or ``@`` is taken off again, so an export imports as it was.
    """
    if value is None or isinstance(value, bool):
        return None if value is None else str(value).lower()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    found = " ".join(unicodedata.normalize("NFC", str(value)).split())
    if found.startswith("'") and found[1:2] in FORMULA_START:
        found = found[1:]
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") for c in found):
        raise _problem("control")
    if found.startswith("="):
        raise _problem("formula")
    return found or None


def _bounded(most: int) -> AfterValidator:
    def check(value: str | None) -> str | None:
        if value is not None and len(value) > most:
            raise _problem("too_long", most=most)
        return value

    return AfterValidator(check)


def _required(value: object) -> str:
    found = cell_text(value)
    if found is None:
        raise _problem("missing")
    return found


def normalise_phone(value: str | None) -> str:
    """A Chinese mobile number's 11 digits, from "+86 138 0013 8000", "138-0013-8000", "(0086)13800138000" or a number cell."""
    if value is None:
        raise _problem("missing")
    digits = _PHONE_PUNCTUATION.sub("", unicodedata.normalize("NFKC", value))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits.removeprefix(prefix)
            break
    if not _MOBILE.fullmatch(digits):
        raise _problem("phone")
    return digits


def _group(value: str | None) -> WorkerGroup:
    if value is None:
        return WorkerGroup.OTHER
    from scenarios.i18n import LANGUAGES, t

    wanted = value.casefold()
    for group in WorkerGroup:
        if wanted == group.value or any(wanted == t(f"group.{group.value}", lang).casefold() for lang in LANGUAGES):
            return group
    if wanted in _GROUP_ALIASES:
        return _GROUP_ALIASES[wanted]
    raise _problem("group")


def _consent(value: str | None) -> bool:
    wanted = (value or "").casefold()
    if wanted in _YES:
        return True
    if wanted in _NO:
        return False
    raise _problem("yes_no")


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date) or value is None:
        return value
    found = _DATE.fullmatch(str(value))
    try:
        return date(*(int(part) for part in found.groups())) if found else _no_date()
    except ValueError:
        return _no_date()


def _no_date() -> date:
    raise _problem("date")


def _member_no(value: str | None) -> str | None:
    return None if value is None else unicodedata.normalize("NFKC", value).replace(" ", "")


Text = Annotated[str | None, BeforeValidator(cell_text)]
Name = Annotated[str, BeforeValidator(_required), _bounded(64)]
Phone = Annotated[str, BeforeValidator(lambda v: normalise_phone(cell_text(v)))]
Group = Annotated[WorkerGroup, BeforeValidator(lambda v: _group(cell_text(v)))]
Consent = Annotated[bool, BeforeValidator(lambda v: _consent(cell_text(v)))]
ConsentDate = Annotated[date | None, BeforeValidator(lambda v: _date(v if isinstance(v, date) else cell_text(v)))]
MemberNo = Annotated[str | None, BeforeValidator(cell_text), AfterValidator(_member_no), _bounded(32)]


class MemberIn(BaseModel):
    """A member's values as enrolment, a change or an imported row gives them; every rule is checked here, once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name = Field(description="The name the member goes by; at most 64 characters.")
    phone: Phone = Field(description="A Chinese mobile number; stored as its 11 digits.")
    worker_group: Group = Field(WorkerGroup.OTHER, description="The library's worker group; blank is other.")
    employer: Annotated[Text, _bounded(128)] = Field(None, description="Employer or platform.")
    member_no: MemberNo = Field(None, description="The union's membership number, unique.")
    face_consent: Consent = Field(False, description="Whether the member agreed to enter by face.")
    face_consent_on: ConsentDate = Field(None, validate_default=True, description="The day the consent was given.")
    face_consent_scope: Annotated[Text, _bounded(500)] = Field(
        None, validate_default=True, description="What the consent covers, as the member signed it."
    )

    @field_validator("face_consent_on", "face_consent_scope")
    @classmethod
    def _with_consent(cls, value: object, info: ValidationInfo) -> object:
        """A consent is recorded with its day; a consent not given has no day and no scope."""
        given = info.data.get("face_consent")
        if given is True and info.field_name == "face_consent_on" and value is None:
            raise _problem("consent_without_date")
        if given is False and value is not None:
            raise _problem("no_consent")
        return value


def validated(values: Mapping[str, Any]) -> MemberIn:
    """``values`` as a MemberIn, or every problem with the field it is in (``MemberInvalid``)."""
    try:
        return MemberIn.model_validate(values)
    except ValidationError as exc:
        raise MemberInvalid(*problems_of(exc)) from None


def problems_of(error: ValidationError) -> list[Problem]:
    """Pydantic's errors as Problems: our own codes as they are, an unknown field ``unknown``, anything else ``invalid``."""
    found = []
    for item in error.errors(include_url=False, include_input=False):
        kind = item["type"]
        code = kind if kind in _OWN_CODES else "unknown" if kind == "extra_forbidden" else "invalid"
        found.append(Problem(code, dict(item.get("ctx") or {}), field=".".join(str(part) for part in item["loc"])))
    return found


_OWN_CODES = {"control", "formula", "too_long", "missing", "phone", "group", "yes_no", "date", "consent_without_date", "no_consent"}


# ---- the register ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the audit log records it: a signed-in officer on the web, or the shell's user for ``yxy``."""

    username: str
    role: str
    client: str


@dataclass(frozen=True)
class Page:
    members: list[Member]
    next_after: int | None
    """Give it as ``after`` for the next page; None: this was the last."""


class Members:
    """The register's operations, each in the caller's transaction (``with sessions(engine).begin() as db``)."""

    def __init__(self, audit: AuditLog, station_key: bytes) -> None:
        """``station_key``: the audit key's bytes (``store.audit.load_or_create_key``)."""
        self._audit = audit

    def enrol(self, db: Session, actor: Actor, values: Mapping[str, Any]) -> Member:
        member = validated(values)
        lock_register(db)
        taken = [
            Problem(code, {"member": found}, field=name)
            for name, code, found in (
                ("phone", "phone_enrolled", enrolled_phones(db, [member.phone]).get(member.phone)),
                ("member_no", "member_no_enrolled", enrolled_numbers(db, [member.member_no]).get(member.member_no or "")),
            )
            if found is not None
        ]
        if taken:
            raise MemberConflict(*taken)
        row = self._insert(db, [member])[0]
        self._audit.append(db, actor.username, actor.role, "member_enrolled", _target(row), None, _facts(row), actor.client)
        return row

    def enrol_many(self, db: Session, actor: Actor, members: Sequence[MemberIn], skipped: int = 0) -> list[Member]:
        """Add members already validated and found free under ``lock_register`` (an import), audited as one entry.

        One entry with the new ids as ranges, not one per member: an entry is three
        round trips under the audit's lock, and 20,000 of them took minutes.
        """
        rows = self._insert(db, members)
        ids = _ranges(sorted(row.id for row in rows))
        after = {"count": len(rows), "ids": ids, "skipped_rows": skipped}
        self._audit.append(db, actor.username, actor.role, "members_imported", "members", None, after, actor.client)
        return rows

    def _insert(self, db: Session, members: Sequence[MemberIn]) -> list[Member]:
        now = datetime.now(UTC)
        rows = [
            Member(**member.model_dump(), status=Standing.ACTIVE.value, created_at=now, updated_at=now, visit_key=secrets.token_hex(32))
            for member in members
        ]
        db.add_all(rows)
        _flush(db)
        return rows

    def change(self, db: Session, actor: Actor, member_id: int, changes: Mapping[str, Any]) -> Member:
        """Change some of a member's values; the result is checked as a whole, as enrolment checks it."""
        lock_register(db)
        row = get(db, member_id)
        unknown = sorted(set(changes) - set(MemberIn.model_fields))
        if unknown:
            raise MemberInvalid(*(Problem("unknown", field=name) for name in unknown))
        member = validated({**_values(row), **changes})
        changed = sorted(name for name, value in member.model_dump().items() if getattr(row, name) != value)
        if not changed:
            return row
        conflicts = []
        if "phone" in changed and (other := enrolled_phones(db, [member.phone]).get(member.phone)) is not None:
            conflicts.append(Problem("phone_enrolled", {"member": other}, field="phone"))
        if "member_no" in changed and member.member_no and (other := enrolled_numbers(db, [member.member_no]).get(member.member_no)):
            conflicts.append(Problem("member_no_enrolled", {"member": other}, field="member_no"))
        if conflicts:
            raise MemberConflict(*conflicts)
        before = _facts(row)
        if row.face_consent and not member.face_consent:
            forget_face(db, row.id)
            row.face_template = None
        for name in changed:
            setattr(row, name, getattr(member, name))
        row.updated_at = datetime.now(UTC)
        self._audit.append(
            db, actor.username, actor.role, "member_changed", _target(row), before, {**_facts(row), "changed": changed}, actor.client
        )
        _flush(db)
        return row

    def lapse_consent(self, db: Session, actor: Actor, member_id: int, given_before: date) -> bool:
        """A face consent given before ``given_before`` (``store.privacy``: past its period) ends like a withdrawal: the
        consent, its day, scope and template id go and the terminals are asked to forget the face. Only those fields
        are touched, so a row that an older rule let in (and today's would refuse) still has its consent end. Checked
        again under the register's lock: a consent given anew since the purge looked is kept. Whether it ended."""
        lock_register(db)
        row = get(db, member_id)
        if not row.face_consent or row.face_consent_on is None or row.face_consent_on >= given_before:
            return False
        before = _facts(row)
        forget_face(db, row.id)
        row.face_consent, row.face_consent_on, row.face_consent_scope, row.face_template = False, None, None, None
        row.updated_at = datetime.now(UTC)
        self._audit.append(db, actor.username, actor.role, "member_consent_lapsed", _target(row), before, _facts(row), actor.client)
        _flush(db)
        return True

    def set_status(
        self, db: Session, actor: Actor, member_id: int, status: Standing, reason: str | None = None, until: datetime | None = None
    ) -> Member:
        """Deactivate or ban (with a reason, and a moment it lapses if it should), or make active again.

        A ban needs a reason: a worker turned away can ask why, and an officer must answer.
        The reason stays on the member's row; the audit log records that it was set.
        """
        reason = _reason(reason)
        problems = []
        if status is Standing.BANNED and reason is None:
            problems.append(Problem("reason_needed", field="status_reason"))
        if status is Standing.ACTIVE and (reason is not None or until is not None):
            problems.append(Problem("active_is_plain", field="status"))
        if until is not None and (until.tzinfo is None or until <= datetime.now(UTC)):
            problems.append(Problem("until_past", field="status_until"))
        if problems:
            raise MemberInvalid(*problems)
        lock_register(db)
        row = get(db, member_id)
        before = _facts(row)
        row.status, row.status_reason = status.value, reason
        row.status_until = until.astimezone(UTC) if until else None  # stored in UTC: SQLite keeps no offset
        row.updated_at = datetime.now(UTC)
        after = {**_facts(row), "reason_given": reason is not None}
        self._audit.append(db, actor.username, actor.role, _STATUS_ACTIONS[status], _target(row), before, after, actor.client)
        _flush(db)
        return row

    def audit_export(self, db: Session, actor: Actor, count: int, form: str) -> None:
        """An export is a read of everyone's data at once: the log says who took it, when, and how many members."""
        self._audit.append(
            db, actor.username, actor.role, "members_exported", "members", None, {"count": count, "format": form}, actor.client
        )

    def delete(self, db: Session, actor: Actor, member_id: int) -> None:
        """Forget a member: the row goes, and with it the only copy of their name and phone.

        On SQLite, ``secure_delete`` makes the freed pages zeros, so the name is not left in
        the file either.  (PostgreSQL keeps the dead row version until VACUUM reclaims it.)
        """
        lock_register(db)
        row = get(db, member_id)
        if db.get_bind().dialect.name == "sqlite":
            db.execute(text("PRAGMA secure_delete = ON"))
        self._audit.append(db, actor.username, actor.role, "member_deleted", _target(row), _facts(row), None, actor.client)
        if row.face_consent:
            forget_face(db, row.id)
        db.execute(update(Feedback).where(Feedback.member_id == row.id).values(member_id=None))  # what they said stays, not who
        db.delete(row)
        _flush(db)


_STATUS_ACTIONS = {
    Standing.ACTIVE: "member_reactivated",
    Standing.DEACTIVATED: "member_deactivated",
    Standing.BANNED: "member_banned",
}


def forget_face(db: Session, member: int) -> None:
    """Ask (in the caller's transaction) that every door terminal delete this member's face template."""
    if db.get(FaceToForget, member) is None:
        db.add(FaceToForget(member=member, asked_at=datetime.now(UTC)))


def faces_to_forget(db: Session) -> list[int]:
    return list(db.scalars(select(FaceToForget.member).order_by(FaceToForget.asked_at).limit(1000)))


def face_forgotten(db: Session, member: int) -> None:
    db.execute(delete(FaceToForget).where(FaceToForget.member == member))


def lock_register(db: Session) -> None:
    """Hold the register's write lock for the rest of ``db``'s transaction, before reading what a write depends on."""
    hold_write_lock(db, _LOCK_KEY)


def get(db: Session, member_id: int) -> Member:
    row = db.get(Member, member_id)
    if row is None:
        raise MemberNotFound(Problem("not_found", {"member": member_id}, field="id"))
    return row


def enrolled_phones(db: Session, phones: Iterable[str]) -> dict[str, int]:
    """Which of ``phones`` are enrolled, and as which member."""
    return _enrolled(db, Member.phone, phones)


def enrolled_numbers(db: Session, numbers: Iterable[str | None]) -> dict[str, int]:
    return _enrolled(db, Member.member_no, (n for n in numbers if n))


def _enrolled(db: Session, column: Any, values: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(values))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):  # bound each IN list: SQLite allows 32,766 parameters, PostgreSQL 65,535
        chunk = wanted[start : start + 500]
        found.update((value, member_id) for value, member_id in db.execute(select(column, Member.id).where(column.in_(chunk))))
    return found


def search(db: Session, text_: str = "", *, limit: int = 50, after: int = 0) -> Page:
    """Members whose name, membership number or phone contains ``text_``, by id, ``limit`` (at most 500) from ``after``."""
    wanted = " ".join(text_.split())
    if len(wanted) > 64:
        raise MemberInvalid(Problem("too_long", {"most": 64}, field="search"))
    if not 1 <= limit <= MOST_LISTED:
        raise MemberInvalid(Problem("limit", {"most": MOST_LISTED}, field="limit"))
    query = select(Member).where(Member.id > after).order_by(Member.id).limit(limit + 1)
    if wanted:
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", wanted) + "%"
        matches: list[ColumnElement[bool]] = [Member.name.ilike(pattern, escape="\\"), Member.member_no.ilike(pattern, escape="\\")]
        digits = re.sub(r"^(\+86|0086)", "", _PHONE_PUNCTUATION.sub("", wanted))
        if digits.isdigit():
            matches.append(Member.phone.contains(digits))
        query = query.where(or_(*matches))
    found = list(db.scalars(query))
    return Page(found[:limit], found[limit - 1].id if len(found) > limit else None)


def every_member(db: Session, batch: int = 500) -> Iterator[Member]:
    """Every member by id, read ``batch`` at a time: an export of any size holds one batch in memory."""
    after = 0
    while page := list(db.scalars(select(Member).where(Member.id > after).order_by(Member.id).limit(batch))):
        yield from page  # the session's identity map holds rows weakly: what the caller has written is let go
        after = page[-1].id


def members_by_visit(db: Session, visits: Iterable[str]) -> dict[str, tuple[int, str]]:
    """The number and name of the members behind these visit keys that the register still holds (a deleted member's
    key links nobody: the door log that keeps it is anonymous from then on)."""
    wanted = sorted(set(visits))[:1000]
    rows = db.execute(select(Member.visit_key, Member.id, Member.name).where(Member.visit_key.in_(wanted)))
    return {str(key): (member, name) for key, member, name in rows}


def face_enrolled(db: Session, audit: AuditLog, visit: str, template: str) -> int | None:
    """A door terminal made a template of a member's face (found by their visit key): kept on their row while their
    consent holds, audited as the terminal's; returns the member, or None (no such member, or no consent any more)."""
    lock_register(db)
    row = db.scalar(select(Member).where(Member.visit_key == visit))
    if row is None or not row.face_consent:
        return None
    if row.face_template != template:
        row.face_template = template
        audit.append(db, "door terminal", "device", "member_face_enrolled", _target(row), None, {"template": True}, "mqtt")
    return row.id


def standings(db: Session) -> dict[int, MemberStanding]:
    """What the door needs of every member to decide (actors/door_access.py) and to log it: no name, no phone."""
    rows = db.execute(select(Member.id, Member.status, Member.status_until, Member.face_consent, Member.visit_key))
    return {
        member: MemberStanding(member, Standing(status), None if until is None else as_utc(until).timestamp(), bool(consent), visit)
        for member, status, until, consent, visit in rows
    }


def count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Member)) or 0


def _values(row: Member) -> dict[str, Any]:
    return {name: getattr(row, name) for name in MemberIn.model_fields}


def _facts(row: Member) -> dict[str, Any]:
    """What the audit log may keep about a member: nothing that names them or that an officer typed."""
    return {
        "group": row.worker_group,
        "face_consent": row.face_consent,
        "status": row.status,
        "until": as_utc(row.status_until).isoformat() if row.status_until else None,
    }


def _ranges(ids: list[int]) -> list[list[int]]:
    """Sorted ids as [first, last] runs: an import's ids are mostly one run."""
    runs: list[list[int]] = []
    for member_id in ids:
        if runs and runs[-1][1] == member_id - 1:
            runs[-1][1] = member_id
        else:
            runs.append([member_id, member_id])
    return runs


def _target(row: Member) -> str:
    return f"member:{row.id}"


def _reason(reason: str | None) -> str | None:
    try:
        found = cell_text(reason)
    except PydanticCustomError as exc:
        raise MemberInvalid(Problem(exc.type, field="status_reason")) from None
    if found is not None and len(found) > 500:
        raise MemberInvalid(Problem("too_long", {"most": 500}, field="status_reason"))
    return found


def _flush(db: Session) -> None:
    """Flush, translating a unique constraint's refusal (a race past the lock, or a direct write) into MemberConflict."""
    try:
        db.flush()
    except IntegrityError as exc:
        raise MemberConflict(Problem("enrolled_meanwhile")) from exc
