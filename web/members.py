"""The member register on the web: custodians and officers enrol, change, ban, reactivate and forget members, and give
a member a one-time code to sign in on their phone; auditors read.

Every write is ``store.members.Members``' (its rules, its audit entry in the same
transaction), so the web, the CLI and an imported file cannot differ.  Operators run
the devices and the planner; the register is personal data they do not need, so they
are not let in (least privilege, ARCHITECTURE.md).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import secrets
import shlex
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi import Path as ApiPath
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from actors.door_access import Standing
from store import members as register
from store.audit import key_file_for, load_or_create_key
from store.db import as_utc
from store.members import Actor, MemberConflict, MemberError, MemberInvalid, MemberNotFound, Members
from store.models import Member, MemberSignInCode, User
from web.auth import Role
from web.deps import DatabaseDep, Instant, Refused, RequireRole, Services, ServicesDep, Strict, audit, client_of

logger = logging.getLogger(__name__)

MemberId = Annotated[int, ApiPath(ge=1, le=2**31 - 1)]
Keepers = Annotated[User, Depends(RequireRole(Role.CUSTODIAN, Role.ADMIN))]
"""Who keeps the register: the custodian at the desk and the union's officers."""
Readers = Annotated[User, Depends(RequireRole(Role.CUSTODIAN, Role.ADMIN, Role.AUDITOR))]

CODE_LIFE = timedelta(minutes=10)
CODE_TRIES = 5
"""Codes typed against one issued code before it takes no more: 5 in a million guesses, then a custodian must give a new one."""
CODE_LABEL = b"yunxiaoyi member sign-in code v1"


@functools.cache
def _station_key(path: Path) -> bytes:
    return load_or_create_key(path)


def station_key(svc: Services) -> bytes:
    """The station's one secret (the audit key file): the register's visit keys, the door passes and the codes derive from it."""
    return _station_key(key_file_for(svc.settings.database_url, svc.settings.audit_key_file))


def the_register(svc: Services) -> Members:
    return Members(svc.audit_log, station_key(svc))


def code_hash(svc: Services, member_id: int, code: str) -> str:
    """A keyed hash, bound to the member: a copy of the table cannot be searched through a million codes without the key."""
    secret = hmac.new(station_key(svc), CODE_LABEL, hashlib.sha256).digest()
    return hmac.new(secret, f"{member_id}:{code}".encode(), hashlib.sha256).hexdigest()


def now() -> datetime:
    """The web's clock for codes and member sessions; tests replace it to see ten minutes pass."""
    return datetime.now(UTC)


@contextmanager
def refusing() -> Iterator[None]:
    """The register's mistakes as HTTP refusals, each problem with its field and catalog code (``member_problem_<code>``)."""
    try:
        yield
    except MemberError as exc:
        problems = [{"field": p.field, "code": p.code, "params": dict(p.params)} for p in exc.problems]
        kind: tuple[int, str] = (
            (status.HTTP_404_NOT_FOUND, "member_not_found")
            if isinstance(exc, MemberNotFound)
            else (status.HTTP_409_CONFLICT, "member_conflict")
            if isinstance(exc, MemberConflict)
            else (status.HTTP_422_UNPROCESSABLE_CONTENT, "member_invalid")
        )
        raise Refused(kind[0], kind[1], str(exc), problems=problems) from None


def actor(request: Request, user: User) -> Actor:
    return Actor(user.username, user.role, client_of(request))


Short = Annotated[str, Field(max_length=128)]


class MemberBody(Strict):
    """Enrolment or a change, bounded at the edge; the register's rule book (``store.members.MemberIn``) checks the rest."""

    name: Short | None = None
    phone: Annotated[str, Field(max_length=32)] | None = None
    worker_group: Annotated[str, Field(max_length=32)] | None = None
    employer: Annotated[str, Field(max_length=256)] | None = None
    member_no: Annotated[str, Field(max_length=64)] | None = None
    face_consent: bool | None = None
    face_consent_on: date | None = None
    face_consent_scope: Annotated[str, Field(max_length=1000)] | None = None

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class StatusBody(Strict):
    status: Standing
    reason: Annotated[str, Field(max_length=1000)] | None = None
    until: datetime | None = Field(None, description="When it lapses, ISO 8601 with an offset; none: until lifted.")


class MemberView(BaseModel):
    """A member as staff see them (the door sees less: store.members.standings)."""

    id: int
    name: str
    phone: str
    worker_group: str
    employer: str | None
    member_no: str | None
    face_consent: bool
    face_consent_on: date | None
    face_consent_scope: str | None
    face_template: str | None = Field(None, description="The door terminal's id for its template of the member's face (never the face).")
    status: Standing
    status_reason: str | None
    status_until: Instant | None
    created_at: Instant
    updated_at: Instant

    @classmethod
    def of(cls, row: Member) -> MemberView:
        return cls.model_validate(row, from_attributes=True)


class MemberPage(BaseModel):
    members: list[MemberView]
    next_after: int | None = Field(description="Give it as ``after`` for the next page; null on the last.")


class VisitView(BaseModel):
    """One time the door decided on this person: when, which door, whether it opened and why."""

    at: Instant
    door: str
    admitted: bool
    reason: str
    via: str | None

    @classmethod
    def of_history(cls, svc: Services, visit_key: str | None) -> list[VisitView]:
        """Newest first, as far back as the history keeps the door log (the station's retention)."""
        if not visit_key:
            return []
        return [
            cls(at=as_utc(row.at), door=row.entity_id, admitted=bool(row.data.get("admitted")), reason=str(row.data.get("reason")),
                via=row.data.get("via"))
            for row in svc.history.visits(visit_key)
        ]  # fmt: skip


class SignInCode(BaseModel):
    """Shown once to the custodian, who reads it out or sends it; only its keyed hash is kept."""

    code: str
    expires_at: Instant
    sent_by_sms: bool | None = Field(None, description="Asked to send it by SMS: whether the gateway took it; null if not asked.")


SMS_TIMEOUT_S = 10.0
"""A gateway that has not answered in this long has failed: the custodian reads the code out instead."""


def send_by_sms(svc: Services, phone: str, code: str, page: str) -> bool:
    """Run the station's SMS command (``Settings.sms_command``) with the phone, the code and the message in its
    environment, bounded in time; whether it says it sent it. Logged without the phone or the code."""
    command = svc.settings.sms_command
    if not command:
        raise Refused(status.HTTP_409_CONFLICT, "sms_not_configured", "this station has no SMS gateway (YXY_SMS_COMMAND)")
    text = f"【云小驿】您的登录码 {code}，{int(CODE_LIFE.total_seconds() // 60)} 分钟内有效，请在 {page} 登录。"
    # The gateway's own settings (its credentials) stay in the environment; the station's (its database, its secrets:
    # every YXY_ variable) are not handed to another program.
    environment = {name: value for name, value in os.environ.items() if not name.startswith("YXY_")}
    environment |= {"YXY_SMS_PHONE": phone, "YXY_SMS_CODE": code, "YXY_SMS_TEXT": text}
    try:
        done = subprocess.run(  # the station's own command, from its settings, never a caller's
            shlex.split(command), env=environment, stdin=subprocess.DEVNULL, capture_output=True, timeout=SMS_TIMEOUT_S, check=False
        )
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        logger.warning("the SMS command failed to run: %s", type(exc).__name__)
        return False
    if done.returncode != 0:
        logger.warning("the SMS command exited %s", done.returncode)
    return done.returncode == 0


members = APIRouter(prefix="/api/members", tags=["members"])


@members.get("", response_model=MemberPage)
def list_members(
    _: Readers,
    db: DatabaseDep,
    q: Annotated[str, Query(max_length=64, description="Part of a name, membership number or phone.")] = "",
    limit: Annotated[int, Query(ge=1, le=register.MOST_LISTED)] = 50,
    after: Annotated[int, Query(ge=0, le=2**31 - 1, description="The last id of the page before.")] = 0,
) -> MemberPage:
    with refusing():
        page = register.search(db, q, limit=limit, after=after)
    return MemberPage(members=[MemberView.of(row) for row in page.members], next_after=page.next_after)


@members.get("/{member_id}", response_model=MemberView)
def read_member(member_id: MemberId, _: Readers, db: DatabaseDep) -> MemberView:
    with refusing():
        return MemberView.of(register.get(db, member_id))


@members.get("/{member_id}/visits", response_model=list[VisitView])
def member_visits(member_id: MemberId, _: Readers, db: DatabaseDep, svc: ServicesDep) -> list[VisitView]:
    """The member's visits, linked by their visit key: the door log never names them otherwise."""
    with refusing():
        member = register.get(db, member_id)
    return VisitView.of_history(svc, member.visit_key)


@members.post("", response_model=MemberView, status_code=201)
def enrol(body: MemberBody, request: Request, user: Keepers, db: DatabaseDep, svc: ServicesDep) -> MemberView:
    """A new member; the doors know them before the answer leaves, so their first pass opens the door."""
    with refusing():
        view = MemberView.of(the_register(svc).enrol(db, actor(request, user), body.given()))
    doors_told(db, svc, user.username)
    return view


def doors_told(db: Session, svc: Services, by: str, face_gone: int | None = None) -> None:
    """The register's change is committed, then the doors hear of it (they read the committed register); a member
    whose face consent went has their template deleted from every door's terminal."""
    db.commit()
    try:
        if face_gone is None:
            svc.tell_doors()
        else:
            svc.forget_face(face_gone, by)
    except Exception:  # the change stands; the doors hear of it at the next briefing (30 s)
        logger.exception("the doors could not be told of a change to the register at once")


@members.patch("/{member_id}", response_model=MemberView)
def change(member_id: MemberId, body: MemberBody, request: Request, user: Keepers, db: DatabaseDep, svc: ServicesDep) -> MemberView:
    """Change the fields given; the member as changed is checked whole, as at enrolment."""
    with refusing():
        had_consent = register.get(db, member_id).face_consent
        view = MemberView.of(the_register(svc).change(db, actor(request, user), member_id, body.given()))
    doors_told(db, svc, user.username, member_id if had_consent and not view.face_consent else None)
    return view


@members.post("/{member_id}/status", response_model=MemberView)
def set_status(member_id: MemberId, body: StatusBody, request: Request, user: Keepers, db: DatabaseDep, svc: ServicesDep) -> MemberView:
    """Ban (a reason needed) or deactivate, until a moment or until lifted; or make active again."""
    with refusing():
        if body.until is not None and body.until.tzinfo is None:
            raise MemberInvalid(register.Problem("until_past", field="status_until"))
        until = None if body.until is None else as_utc(body.until)
        view = MemberView.of(the_register(svc).set_status(db, actor(request, user), member_id, body.status, body.reason, until))
    doors_told(db, svc, user.username)
    return view


@members.delete("/{member_id}", status_code=204)
def delete(member_id: MemberId, request: Request, user: Keepers, db: DatabaseDep, svc: ServicesDep) -> None:
    """Forget the member: their row, codes and phone sessions go; the audit log keeps only ``member:<id>``."""
    with refusing():
        the_register(svc).delete(db, actor(request, user), member_id)
    doors_told(db, svc, user.username, face_gone=member_id)


@members.post("/{member_id}/sign-in-code", response_model=SignInCode, status_code=201)
def issue_code(
    member_id: MemberId, request: Request, user: Keepers, db: DatabaseDep, svc: ServicesDep,
    send: Annotated[Literal["sms"] | None, Query(description="sms: also send it to the member's phone by the station's gateway.")] = None,
) -> SignInCode:  # fmt: skip
    """A fresh 6-digit code for the member's phone page, replacing any before it; the audit log records that one was given,
    never the code. With ``send=sms`` the station's SMS command sends it too (it is shown all the same, to read out if
    the message does not arrive)."""
    with refusing():
        member = register.get(db, member_id)
    code = f"{secrets.randbelow(10**6):06d}"
    issued = now()
    by_sms = send == "sms"
    if by_sms and not svc.settings.sms_command:
        raise Refused(status.HTTP_409_CONFLICT, "sms_not_configured", "this station has no SMS gateway (YXY_SMS_COMMAND)")
    audit(db, request, user, "member_code_issued", f"member:{member_id}", None, {"by_sms": True} if by_sms else None)
    row = db.get(MemberSignInCode, member_id) or MemberSignInCode(member_id=member_id)
    row.code_hash, row.tries, row.expires_at, row.created_at = code_hash(svc, member_id, code), 0, issued + CODE_LIFE, issued
    db.add(row)
    db.commit()  # the code works before the message that carries it leaves
    page = f"{(svc.settings.public_url or str(request.base_url)).rstrip('/')}/m"
    sent = send_by_sms(svc, member.phone, code, page) if by_sms else None
    return SignInCode(code=code, expires_at=issued + CODE_LIFE, sent_by_sms=sent)
