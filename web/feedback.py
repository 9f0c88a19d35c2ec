"""Feedback on the web: anyone's phone page (``/f``, reached by the QR in the station) and the staff's complaint handling.

Nobody signs in to give feedback; a member signed in on their own page may attach their
membership. Giving is paced per address like a sign-in, in a bucket of its own. A complaint's
answer is shown on the page that made it (its token), so a worker who complained anonymously
still hears what was done.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi import Path as ApiPath
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from store import feedback as book
from store.members import visit_secret
from store.models import Feedback, Member, User
from web import members as web_members
from web.accounts import paced_as
from web.auth import Role
from web.deps import DatabaseDep, Instant, Refused, RequireRole, ServicesDep, Strict, audit, client_of, refused
from web.member_page import who_calls

Handlers = Annotated[User, Depends(RequireRole(Role.CUSTODIAN, Role.ADMIN))]
"""Who handles complaints: the custodian, an officer."""
Readers = Annotated[User, Depends(RequireRole(Role.CUSTODIAN, Role.ADMIN, Role.AUDITOR))]
ComplaintId = Annotated[int, ApiPath(ge=1, le=2**31 - 1)]
Token = Annotated[str, ApiPath(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class FeedbackForm(BaseModel):
    categories: list[str]
    due_days: float


class GiveBody(Strict):
    rating: int | None = Field(None, ge=1, le=5, strict=True)
    comment: str = Field("", max_length=book.MOST_TEXT)
    category: str | None = Field(None, max_length=32, description="Given: a complaint, in this category.")
    as_member: bool = Field(False, description="Attach the membership of the member signed in on this phone.")


class GivenView(BaseModel):
    id: int
    status: book.Status
    at: Instant
    due: Instant | None
    reply: str | None
    replied_at: Instant | None
    token: str | None = None


class ComplaintView(BaseModel):
    id: int
    at: Instant
    rating: int | None
    comment: str
    category: str
    member: bool = Field(description="Whether a member attached their membership (who is not shown here).")
    status: book.Status
    assignee: str | None
    due: Instant | None
    overdue: bool
    reply: str | None
    replied_at: Instant | None
    replied_by: str | None


class AssignBody(Strict):
    assignee: str = Field(min_length=1, max_length=64)


class AnswerBody(Strict):
    reply: str = Field(max_length=book.MOST_TEXT)


def now() -> datetime:
    """The web's clock for feedback (tests move it)."""
    return web_members.now()


def _given(row: Feedback, token: str | None = None) -> GivenView:
    return GivenView(id=row.id, status=book.Status(row.status), at=row.at, due=row.due, reply=row.reply, replied_at=row.replied_at,
                     token=token)  # fmt: skip


def _complaint(row: Feedback, moment: datetime) -> ComplaintView:
    assert row.category is not None
    return ComplaintView(
        id=row.id, at=row.at, rating=row.rating, comment=row.comment, category=row.category, member=row.member_id is not None,
        status=book.Status(row.status), assignee=row.assignee, due=row.due, overdue=book.overdue(row, moment), reply=row.reply,
        replied_at=row.replied_at, replied_by=row.replied_by,
    )  # fmt: skip


STATUSES = {
    "feedback_too_many": status.HTTP_429_TOO_MANY_REQUESTS, "complaint_unknown": status.HTTP_404_NOT_FOUND,
    "complaint_closed": status.HTTP_409_CONFLICT, "complaint_unanswered": status.HTTP_409_CONFLICT,
}  # fmt: skip


feedback_api = APIRouter(prefix="/api/feedback", tags=["feedback"])
FeedbackPaced = Depends(paced_as("feedback"))


@feedback_api.get("/form", response_model=FeedbackForm)
def form() -> FeedbackForm:
    """What the feedback page offers: the complaint categories, and how soon a complaint is answered."""
    return FeedbackForm(categories=list(book.CATEGORIES), due_days=book.DUE.total_seconds() / 86400)


@feedback_api.post("", response_model=GivenView, status_code=201, dependencies=[FeedbackPaced])
def give(body: GiveBody, request: Request, db: DatabaseDep, svc: ServicesDep) -> GivenView:
    """Rate the station, say something, or complain; anonymous unless a signed-in member attaches their membership. The
    answer's token is the page's way back to a complaint's reply."""
    member_id = None
    if body.as_member:
        caller = who_calls(request, db)
        if not isinstance(caller, Member):
            raise Refused(status.HTTP_401_UNAUTHORIZED, "feedback_not_member", "sign in on the member's page to attach your membership")
        member_id = caller.id
    try:
        given = book.give(
            db, visit_secret(web_members.station_key(svc)), client_of(request), body.rating, body.comment, body.category, member_id, now()
        )
    except book.FeedbackError as exc:
        raise refused(exc, STATUSES) from None
    return _given(given.row, given.token)


@feedback_api.get("/{token}", response_model=GivenView)
def given_again(token: Token, db: DatabaseDep) -> GivenView:
    """What became of one's message: a complaint's status, and its answer once given (the page polls this)."""
    row = book.by_token(db, token)
    if row is None:
        raise Refused(status.HTTP_404_NOT_FOUND, "feedback_unknown", "no such message: it was forgotten, or never sent")
    return _given(row)


complaints = APIRouter(prefix="/api/complaints", tags=["complaints"])


@complaints.get("", response_model=list[ComplaintView])
def list_complaints(
    _: Readers, db: DatabaseDep, open_only: Annotated[bool, Query(alias="open")] = True,
    days: Annotated[float, Query(gt=0, le=366)] = 90.0,
) -> list[ComplaintView]:  # fmt: skip
    """Complaints: the open ones by deadline (overdue first), or all of the last ``days``, newest first."""
    moment = now()
    rows = book.open_complaints(db) if open_only else book.recent(db, moment - timedelta(days=days), True, 500)
    return [_complaint(row, moment) for row in rows]


def _handle(db: Session, complaint_id: int) -> Feedback:
    try:
        return book.open_for_handling(db, complaint_id)
    except book.FeedbackError as exc:
        raise refused(exc, STATUSES) from None


@complaints.post("/{complaint_id}/assign", response_model=ComplaintView)
def assign(complaint_id: ComplaintId, body: AssignBody, request: Request, user: Handlers, db: DatabaseDep) -> ComplaintView:
    """Give a complaint to a staff member to resolve."""
    row = _handle(db, complaint_id)
    if db.scalar(select(User.id).where(User.username == body.assignee)) is None:
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, "complaint_assignee", f"there is no staff account {body.assignee!r}",
                      None, assignee=body.assignee)  # fmt: skip
    audit(db, request, user, "complaint_assigned", f"complaint:{row.id}", {"assignee": row.assignee}, {"assignee": body.assignee})
    book.assign(row, body.assignee)
    return _complaint(row, now())


@complaints.post("/{complaint_id}/answer", response_model=ComplaintView)
def answer(complaint_id: ComplaintId, body: AnswerBody, request: Request, user: Handlers, db: DatabaseDep) -> ComplaintView:
    """Say what was done; the complainant's page shows it."""
    row = _handle(db, complaint_id)
    # The answer is kept with the complaint; the never-forgetting audit log says only that one was given.
    audit(db, request, user, "complaint_answered", f"complaint:{row.id}", None, {"reply_chars": len(body.reply)})
    try:
        book.answer(row, body.reply, user.username, now())
    except book.FeedbackError as exc:
        raise refused(exc, STATUSES) from None
    return _complaint(row, now())


@complaints.post("/{complaint_id}/close", response_model=ComplaintView)
def close(complaint_id: ComplaintId, request: Request, user: Handlers, db: DatabaseDep) -> ComplaintView:
    """Close an answered complaint: resolved."""
    row = _handle(db, complaint_id)
    audit(db, request, user, "complaint_closed", f"complaint:{row.id}")
    try:
        book.close(row, now())
    except book.FeedbackError as exc:
        raise refused(exc, STATUSES) from None
    return _complaint(row, now())
