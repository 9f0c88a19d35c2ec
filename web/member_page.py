"""The member's own phone page (``/m``): sign in with a code a custodian gave, show the door pass as a QR code that
renews itself, and exercise one's rights over one's data (see it, take it away as JSON, withdraw face consent, be
forgotten).

A member is not staff: their session is a cookie of its own (``yxy_member``), a random
token of which only the SHA-256 is stored, as for staff, in ``member_session``; it
lasts 30 minutes and ends with the member's row.  Codes are bounded three ways: the
per-place pace of the staff sign-in (``web.accounts.paced``, the same gate and
window), five tries per code counted before each comparison in a transaction of its
own (parallel guesses cannot share a count), and ten minutes.  A wrong code and an
unknown phone get the same answer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import timedelta
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field
from pydantic_core import PydanticCustomError
from sqlalchemy import delete, select, update

from actors import door_pass
from actors.door_access import ADMITTED, ByPass, EntryRules, MemberStanding, Standing, decide
from store import members as register
from store.db import as_utc
from store.members import Actor, cell_text, normalise_phone
from store.models import AuditEntry, Member, MemberSession, MemberSignInCode, User
from web import members as web_members
from web.accounts import Paced
from web.auth import user_for
from web.deps import DatabaseDep, Instant, Refused, RequireRole, ServicesDep, Strict, client_of, token_of
from web.members import CODE_TRIES, MemberView, VisitView, code_hash, doors_told, refusing, the_register

COOKIE = "yxy_member"
SESSION_LIFE = timedelta(minutes=30)
"""Long enough to queue at the door and come back to the page; short, because phones are lost and shared."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def who_calls(request: Request, db: DatabaseDep) -> Member | User | None:
    """The member whose cookie this is, else the staff account the request is signed in as, else nobody."""
    token = request.cookies.get(COOKIE)
    session = db.get(MemberSession, _digest(token)) if token else None
    if session is not None and as_utc(session.expires_at) > web_members.now():
        return db.get(Member, session.member_id)
    staff = token_of(request)
    return user_for(db, staff) if staff else None


class RequireMember(RequireRole):
    """A route of the member's own page: no staff role is admitted (a staff session is refused 403, like a wrong role,
    which is what the route-table test expects of an empty ``roles``); nobody signed in is 401."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, caller: Annotated[Member | User | None, Depends(who_calls)]) -> Member:  # type: ignore[override]
        if isinstance(caller, Member):
            return caller
        if isinstance(caller, User):
            raise Refused(status.HTTP_403_FORBIDDEN, "role", "staff accounts have no member's page", role=caller.role)
        raise Refused(status.HTTP_401_UNAUTHORIZED, "member_signed_out", "sign in with your phone and code first")


SignedInMember = Annotated[Member, Depends(RequireMember())]


def as_member(request: Request, member: Member) -> Actor:
    """How the audit log names a member acting on their own data: by number, never by name."""
    return Actor(f"member:{member.id}", "member", client_of(request))


class CodeSignIn(Strict):
    phone: Annotated[str, Field(max_length=32)]
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$")]


class MemberSignedIn(BaseModel):
    id: int
    expires_at: Instant


class MemberSelf(MemberView):
    timezone: str = Field(description="The station's time zone, in which the page shows a ban's end.")


class PassView(BaseModel):
    """A door pass for the signed-in member, and its QR code as an SVG data URI (drawn here: the page loads no library)."""

    text: str
    expires_at: Instant
    qr: str


member_api = APIRouter(prefix="/api/member", tags=["member"])


@member_api.post("/sign-in", response_model=MemberSignedIn, dependencies=[Paced])
def sign_in(body: CodeSignIn, request: Request, response: Response, db: DatabaseDep, svc: ServicesDep) -> MemberSignedIn:
    """Sign in with one's phone number and the code a custodian gave. Each code takes five tries and ten minutes."""
    try:
        phone = normalise_phone(cell_text(body.phone))
    except PydanticCustomError as exc:
        problem = {"field": "phone", "code": exc.type, "params": {}}
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, "member_invalid", "not a mobile number", problems=[problem]) from None
    moment = web_members.now()
    with svc.sessions.begin() as own:  # the try is counted and committed before the code is compared
        member_id = register.enrolled_phones(own, [phone]).get(phone)
        # An unknown phone goes the same way as a known one (an update that finds no code, a hash, an audit entry), so
        # the answer's time does not tell a stranger which phones are a member's.
        claimed = own.execute(
            update(MemberSignInCode)
            .where(
                MemberSignInCode.member_id == (member_id or 0),
                MemberSignInCode.tries < CODE_TRIES,
                MemberSignInCode.expires_at > moment,
            )
            .values(tries=MemberSignInCode.tries + 1)
            .returning(MemberSignInCode.code_hash, MemberSignInCode.tries)
        ).first()
    wrong = Refused(status.HTTP_401_UNAUTHORIZED, "member_code_wrong", "wrong phone or code, or the code expired or was used")
    typed = code_hash(svc, member_id or 0, body.code)
    if member_id is None or claimed is None or not hmac.compare_digest(typed, claimed.code_hash):
        who = "member:unknown" if member_id is None else f"member:{member_id}"
        with svc.sessions.begin() as own:
            tries = None if claimed is None else claimed.tries
            svc.audit_log.append(own, who, "member", "member_sign_in_failed", who, None, {"tries": tries}, client_of(request))
        raise wrong
    used = db.execute(delete(MemberSignInCode).where(MemberSignInCode.member_id == member_id, MemberSignInCode.code_hash == typed))
    if used.rowcount != 1:  # type: ignore[attr-defined]  # a parallel request with the same code won
        raise wrong
    db.execute(delete(MemberSession).where(MemberSession.expires_at < moment))
    token = secrets.token_urlsafe(32)
    db.add(MemberSession(token_hash=_digest(token), member_id=member_id, created_at=moment, expires_at=moment + SESSION_LIFE))
    svc.audit_log.append(db, f"member:{member_id}", "member", "member_signed_in", f"member:{member_id}", None, None, client_of(request))
    response.set_cookie(
        COOKIE, token, max_age=int(SESSION_LIFE.total_seconds()), httponly=True, samesite="strict",
        secure=svc.settings.secure_cookies or request.url.scheme == "https",
    )  # fmt: skip
    return MemberSignedIn(id=member_id, expires_at=moment + SESSION_LIFE)


@member_api.post("/sign-out", status_code=204)
def sign_out(request: Request, response: Response, member: SignedInMember, db: DatabaseDep) -> None:
    token = request.cookies.get(COOKIE)
    if token:
        db.execute(delete(MemberSession).where(MemberSession.token_hash == _digest(token)))
    response.delete_cookie(COOKIE)


@member_api.get("/me", response_model=MemberSelf)
def my_data(member: SignedInMember, svc: ServicesDep) -> MemberSelf:
    return MemberSelf(**MemberView.of(member).model_dump(), timezone=svc.station.timezone)


@member_api.get("/visits", response_model=list[VisitView])
def my_visits(member: SignedInMember, svc: ServicesDep) -> list[VisitView]:
    """When the door let the member in or turned them away, as long as the station keeps its door log."""
    return VisitView.of_history(svc, member.visit_key)


@member_api.get("/pass", response_model=PassView)
def door_pass_now(member: SignedInMember, svc: ServicesDep) -> PassView:
    """A fresh pass (30 s, one-time) for this station's door; a member the door would turn away gets the reason instead."""
    moment = web_members.now().timestamp()
    until = None if member.status_until is None else as_utc(member.status_until).timestamp()
    standing = MemberStanding(member.id, Standing(member.status), until, member.face_consent)
    verdict = decide(EntryRules(), ByPass(member.id), {member.id: standing}, 0, False, moment, 12.0).verdict
    if verdict not in ADMITTED:
        raise Refused(status.HTTP_403_FORBIDDEN, "member_standing", f"the door would refuse you: {verdict}", standing=verdict.value)
    key = register.door_key(web_members.station_key(svc))
    text = door_pass.issue(key, svc.station.id, member.id, moment, secrets.token_urlsafe(12))
    expires = web_members.now() + timedelta(seconds=door_pass.PassRules().life_s)
    return PassView(text=text, expires_at=expires, qr=segno.make(text, error="m").svg_data_uri(scale=4))


@member_api.get("/export")
def export(request: Request, member: SignedInMember, db: DatabaseDep, svc: ServicesDep) -> Response:
    """Everything the station keeps about the member, as a JSON file: the register's row, what was done to it when, and
    their visits (the door log, by their visit key)."""
    history = db.scalars(select(AuditEntry).where(AuditEntry.target == f"member:{member.id}").order_by(AuditEntry.id))
    document: dict[str, Any] = {
        "station": svc.station.id,
        "exported_at": web_members.now().isoformat(),
        "member": MemberView.of(member).model_dump(mode="json"),
        "history": [{"at": as_utc(entry.at).isoformat(), "action": entry.action, "by_role": entry.role} for entry in history],
        "visits": [visit.model_dump(mode="json") for visit in VisitView.of_history(svc, member.visit_key)],
    }
    svc.audit_log.append(db, f"member:{member.id}", "member", "member_data_exported", f"member:{member.id}", None, None, client_of(request))
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="member-{member.id}.json"'},
    )


@member_api.post("/consent/withdraw", response_model=MemberView)
def withdraw_consent(request: Request, member: SignedInMember, db: DatabaseDep, svc: ServicesDep) -> MemberView:
    """Face entry stops: the register forgets the consent, its day and scope (audited as the member's own change)."""
    with refusing():
        changed = the_register(svc).change(
            db, as_member(request, member), member.id, {"face_consent": False, "face_consent_on": None, "face_consent_scope": None}
        )
    view = MemberView.of(changed)
    doors_told(db, svc, f"member:{member.id}", face_gone=member.id)
    return view


@member_api.delete("/me", status_code=204)
def forget_me(request: Request, response: Response, member: SignedInMember, db: DatabaseDep, svc: ServicesDep) -> None:
    """Delete the member on their own request, as an officer's delete does; the session ends with the row."""
    gone = member.id
    with refusing():
        the_register(svc).delete(db, as_member(request, member), gone)
    doors_told(db, svc, f"member:{gone}", face_gone=gone)
    response.delete_cookie(COOKIE)
