"""Feedback and complaints (issue 14): anyone rates or complains without signing in, and nothing of them is kept but what
they said (the address only as a keyed hash, against floods); a complaint is due in three days, handled by the custodian
(taken, answered, closed, each audited), overdue when late, and its answer shows on the complainant's own phone. In a
real browser on a 360 px phone, anonymous, in Chinese in Shanghai and in English in UTC."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from station.live import LiveStation
from store.db import sessions
from store.models import AuditEntry, Feedback
from tests.web.conftest import as_role, serve
from tests.web.test_books_page import _desk
from tests.web.test_browser import ARTIFACTS, chromium
from web import members as web_members
from web.auth import Role


def test_anyone_rates_or_complains_and_the_custodian_answers(
    client: TestClient, station: LiveStation, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = datetime(2026, 12, 7, 2, tzinfo=UTC)
    monkeypatch.setattr(web_members, "now", lambda: start)
    rated = client.post("/api/feedback", json={"rating": 5, "comment": "空调很凉快"})
    assert rated.status_code == 201 and rated.json()["status"] == "noted" and rated.json()["due"] is None
    complained = client.post("/api/feedback", json={"rating": 2, "comment": "厕所没有纸", "category": "supplies"})
    assert complained.status_code == 201, complained.text
    token = complained.json()["token"]
    assert complained.json()["status"] == "open" and complained.json()["due"] == "2026-12-10T02:00:00Z"
    with sessions(station.db)() as db:
        row = db.scalar(select(Feedback).where(Feedback.category == "supplies"))
        assert row is not None and row.place != "testclient" and len(row.place) >= 32, "the address only as a keyed hash"
        assert row.token_hash != token

    custodian, officer, auditor, operator = (as_role(client, r) for r in (Role.CUSTODIAN, Role.ADMIN, Role.AUDITOR, Role.OPERATOR))
    assert client.get("/api/complaints", headers=operator).status_code == 403
    (listed,) = client.get("/api/complaints", headers=auditor).json()
    assert listed["comment"] == "厕所没有纸" and listed["overdue"] is False and listed["member"] is False
    assert client.post(f"/api/complaints/{listed['id']}/answer", json={"reply": "x"}, headers=auditor).status_code == 403
    early = client.post(f"/api/complaints/{listed['id']}/close", headers=custodian)
    assert early.status_code == 409 and early.json()["code"] == "complaint_unanswered"
    nobody = client.post(f"/api/complaints/{listed['id']}/assign", json={"assignee": "ghost"}, headers=officer)
    assert nobody.status_code == 422 and nobody.json()["params"] == {"assignee": "ghost"}
    taken = client.post(f"/api/complaints/{listed['id']}/assign", json={"assignee": "custodian"}, headers=officer)
    assert taken.json()["status"] == "assigned" and taken.json()["assignee"] == "custodian"

    monkeypatch.setattr(web_members, "now", lambda: start + timedelta(days=3, seconds=1))
    (late,) = client.get("/api/complaints", headers=custodian).json()
    assert late["overdue"] is True, "three days and a second on: overdue"
    answered = client.post(f"/api/complaints/{listed['id']}/answer", json={"reply": "已补充卫生纸，并每两小时检查一次"}, headers=custodian)
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    seen = client.get(f"/api/feedback/{token}").json()
    assert seen["reply"] == "已补充卫生纸，并每两小时检查一次" and "replied_by" not in seen, "the page shows the answer, not who"
    closed = client.post(f"/api/complaints/{listed['id']}/close", headers=custodian)
    assert closed.json()["status"] == "closed" and client.get("/api/complaints", headers=custodian).json() == []
    again = client.post(f"/api/complaints/{listed['id']}/answer", json={"reply": "y"}, headers=custodian)
    assert again.status_code == 409 and again.json()["code"] == "complaint_closed"
    with sessions(station.db)() as db:
        actions = [e.action for e in db.scalars(select(AuditEntry).where(AuditEntry.action.like("complaint_%")))]
    assert actions == ["complaint_assigned", "complaint_answered", "complaint_closed"]


def test_bad_feedback_is_refused_saying_what_is_wrong_and_a_flood_is_stopped(client: TestClient) -> None:
    cases = [
        ({}, "feedback_empty"),
        ({"rating": 6}, None),
        ({"rating": "5"}, None),
        ({"comment": "x" * 501}, None),
        ({"comment": "坏了", "category": "aliens"}, "feedback_category"),
        ({"rating": 1, "category": "equipment"}, "feedback_text"),
        ({"comment": "a\x00b"}, "feedback_text"),
        ({"comment": "hi", "as_member": True}, "feedback_not_member"),
        ({"comment": {"deep": [[[[1]]]]}}, None),
    ]
    for body, code in cases:
        refused = client.post("/api/feedback", json=body)
        assert refused.status_code in (401, 422), (body, refused.status_code)
        if code is not None:
            assert refused.json()["code"] == code, (body, refused.text)
    statuses = [client.post("/api/feedback", json={"rating": 3}).status_code for _ in range(11)]
    assert statuses[:10] == [201] * 10 and statuses[10] == 429, statuses
    assert client.get("/api/feedback/" + "a" * 32).status_code == 404


@pytest.mark.parametrize(("lang", "zone"), [("zh", "Asia/Shanghai"), ("en", "UTC")])
def test_a_worker_complains_anonymously_on_a_phone_and_sees_the_answer(station: LiveStation, lang: str, zone: str) -> None:
    from playwright.sync_api import expect

    words = {"zh": ("意见反馈", "将在", "物资缺少", "已补充"), "en": ("Feedback", "answered here by", "Missing supplies", "refilled")}[lang]
    reply = {"zh": "已补充纸杯", "en": "Cups refilled"}[lang]
    with contextmanager(serve)(station) as server, chromium() as browser:
        phone = browser.new_context(viewport={"width": 360, "height": 780}, timezone_id=zone).new_page()
        errors: list[str] = []
        phone.on("pageerror", lambda error: errors.append(str(error)))
        phone.goto(f"{server}/f?lang={lang}")
        expect(phone.locator("h1")).to_contain_text(words[0])
        expect(phone.locator("#member-field")).to_be_hidden()  # nobody signed in on this phone
        phone.click("#stars button[data-rating='2']")
        expect(phone.locator("#stars .star.on")).to_have_count(2)
        phone.fill("textarea[name=comment]", "饮水角没有纸杯了")
        phone.check("input[name=complaint]")
        phone.select_option("select[name=category]", "supplies")
        phone.context.set_offline(True)  # a rider under a bridge: told so, and what was written stays to send again
        phone.click("#feedback-form button[type=submit]")
        expect(phone.locator("#feedback-error")).to_contain_text({"zh": "连不上", "en": "Cannot reach"}[lang])
        expect(phone.locator("textarea[name=comment]")).to_have_value("饮水角没有纸杯了")
        phone.context.set_offline(False)
        phone.click("#feedback-form button[type=submit]")
        expect(phone.locator("#feedback-status[data-status=open]")).to_contain_text(words[1])
        width = phone.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360, f"the feedback page is {width} px wide on a 360 px phone"

        desk = _desk(browser, server, "custodian", lang, zone)
        item = desk.locator("#complaint-list li.status-open")
        expect(item).to_contain_text(words[2], timeout=20_000)
        expect(item).to_contain_text("饮水角没有纸杯了")
        item.locator("textarea[name=reply]").fill(reply)
        item.locator("button[data-do=answer]").click()
        expect(desk.locator("#complaint-list li.status-answered")).to_contain_text(reply, timeout=10_000)

        phone.reload()  # the phone comes back later: its complaint's answer is there
        expect(phone.locator("#feedback-status[data-status=answered]")).to_be_visible(timeout=10_000)
        expect(phone.locator("#feedback-reply")).to_contain_text(reply)
        phone.click("#again")  # a second message: neither a language switch nor the status poll takes the form away
        phone.fill("textarea[name=comment]", "谢谢")
        phone.click("#lang")
        phone.evaluate("() => poll(localStorage.getItem(STORED))")
        expect(phone.locator("#giving")).to_be_visible()
        expect(phone.locator("textarea[name=comment]")).to_have_value("谢谢")
        phone.click("#lang")
        ARTIFACTS.mkdir(exist_ok=True)
        phone.screenshot(path=str(ARTIFACTS / f"feedback-{lang}.png"), full_page=True)
        assert errors == [], errors
        assert "custodian" not in phone.content(), "the complainant is not told who answered"


def test_a_members_link_to_their_feedback_is_forgotten_with_them_and_in_time(client: TestClient, station: LiveStation) -> None:
    from datetime import UTC, datetime, timedelta

    from store.feedback import give
    from store.members import Actor, Members
    from store.privacy import Periods, purge

    assert station.audit_log is not None
    register = Members(station.audit_log, b"k" * 32)
    with sessions(station.db).begin() as db:
        member_id = register.enrol(db, Actor("admin", "admin", ""), {"name": "王师傅", "phone": "13800138000", "worker_group": "riders"}).id
        old = give(db, b"s" * 32, "10.9.0.1", 4, "好", None, member_id, datetime.now(UTC) - timedelta(days=40)).row.id
        new = give(db, b"s" * 32, "10.9.0.2", 5, "很好", None, member_id, datetime.now(UTC)).row.id
    purge(sessions(station.db), station.station.id, Periods(30, 30, 365), station.audit_log, b"k" * 32, datetime.now(UTC))
    with sessions(station.db)() as db:
        assert db.get(Feedback, old).member_id is None and db.get(Feedback, new).member_id == member_id  # type: ignore[union-attr]
        assert db.get(Feedback, old).place == "" and db.get(Feedback, new).place != "", "where it came from: for the hour only"  # type: ignore[union-attr]
    with sessions(station.db).begin() as db:
        register.delete(db, Actor("admin", "admin", ""), member_id)
    with sessions(station.db)() as db:
        kept = db.get(Feedback, new)
        assert kept is not None and kept.member_id is None and kept.comment == "很好", "what was said stays, not who"


def test_a_flood_from_one_phones_ipv6_network_or_from_everywhere_is_bounded(station: LiveStation, monkeypatch: pytest.MonkeyPatch) -> None:
    """One phone picks addresses from a whole /64: counted as one place. Many places together stop at the station's
    hourly bound, so the custodian's list cannot be buried (it lists the most urgent 200 at most)."""
    from datetime import UTC, datetime

    from store import feedback as book

    now = datetime.now(UTC)
    with sessions(station.db).begin() as db:
        for n in range(book.MOST_FROM_ONE_PLACE):
            book.give(db, b"s" * 32, f"2001:db8:1:2::{n + 1:x}", None, "门坏了", "equipment", None, now)
        with pytest.raises(book.FeedbackError, match="from here"):
            book.give(db, b"s" * 32, "2001:db8:1:2:ffff::9", None, "门坏了", "equipment", None, now)
        book.give(db, b"s" * 32, "2001:db8:1:3::1", 5, "", None, None, now)  # the next /64 is another place
        assert book._network("::ffff:10.0.0.1") == "10.0.0.1", "a dual-stack proxy's IPv4 client is its IPv4 address"
        for n in range(book.MOST_AN_HOUR - book.MOST_FROM_ONE_PLACE - 1):
            book.give(db, b"s" * 32, f"10.{n // 250}.{n % 250}.1", None, "门坏了", "equipment", None, now)
        with pytest.raises(book.FeedbackError, match="from everyone"):
            book.give(db, b"s" * 32, "192.0.2.77", 4, "", None, None, now)
        listed = book.open_complaints(db)
        assert len(listed) == book.MOST_AN_HOUR - 1 and [c.due for c in listed] == sorted(c.due for c in listed)
        monkeypatch.setattr(book, "MOST_OPEN_LISTED", 7)
        assert [c.id for c in book.open_complaints(db)] == [c.id for c in listed[:7]], "the first due first, no more than the bound"
