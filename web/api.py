"""The REST API: one router per resource (its own module), every route naming the roles it admits."""

from __future__ import annotations

from web.accounts import audit_log, auth, staff
from web.alarms import router as alarms
from web.books import books, public_books
from web.devices import commands, devices
from web.duties import incidents
from web.duties import router as duties
from web.evidence import router as evidence
from web.feedback import complaints, feedback_api
from web.member_page import member_api
from web.members import members
from web.runs import runs
from web.stars import router as stars
from web.station_view import station_log
from web.supplies import router as supplies
from web.visitors import visitor_api, visitors

PUBLIC = {
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/token"),
    ("GET", "/"),
    ("GET", "/i18n.js"),
    ("GET", "/docs"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/api/member/sign-in"),
    ("GET", "/m"),
    ("GET", "/v"),
    ("GET", "/api/visitor/door"),
    ("POST", "/api/visitor/ask"),
    ("GET", "/api/visitor/ask/{token}"),
    ("GET", "/books"),
    ("GET", "/books/report"),
    ("GET", "/books/report.xlsx"),
    ("GET", "/api/books/month"),
    ("GET", "/api/books/entries"),
    ("GET", "/f"),
    ("GET", "/api/feedback/form"),
    ("POST", "/api/feedback"),
    ("GET", "/api/feedback/{token}"),
}
"""The only routes anyone may call unsigned (signing in, the pages and their assets); tests/web/test_routes.py checks every other."""
LARGE_BODIES = {("POST", "/api/runs"), ("POST", "/api/books/spending/{spending_id}/receipts")}
"""Routes whose body may be larger than a command's (an uploaded scenario); web/limits.py bounds both."""

ROUTERS = (
    auth,
    devices,
    commands,
    alarms,
    evidence,
    staff,
    audit_log,
    runs,
    station_log,
    members,
    member_api,
    visitors,
    visitor_api,
    books,
    public_books,
    supplies,
    feedback_api,
    complaints,
    stars,
    duties,
    incidents,
)
