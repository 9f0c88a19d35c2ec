"""Duties and safety (issue 14): an officer makes the roster (no double shifts), the custodian signs the opening checklist
and a safety check line by line on the phone (a line not in order says what is wrong), a check is due again after its
period, incidents are reported naming their alarm and followed up until closed; each write audited, the auditor only
reads, and bad input says what is wrong. In a real browser on a 360 px phone, in Chinese in Shanghai and English in UTC."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from station.live import LiveStation
from store.db import sessions
from store.models import AuditEntry, DutyShift
from tests.web.conftest import as_role, serve
from tests.web.test_books_page import _desk
from tests.web.test_browser import ARTIFACTS, chromium
from web.auth import Role

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_roster_checks_and_incidents_by_role(client: TestClient, station: LiveStation) -> None:
    officer, custodian, auditor = (as_role(client, r) for r in (Role.ADMIN, Role.CUSTODIAN, Role.AUDITOR))
    tomorrow, after = ((datetime.now(SHANGHAI) + timedelta(days=n)).date().isoformat() for n in (1, 2))
    shift = {"username": "custodian", "starts_at": f"{tomorrow}T08:00:00+08:00", "ends_at": f"{tomorrow}T20:00:00+08:00"}
    assert client.post("/api/duties/roster", json=shift, headers=custodian).status_code == 403, "an officer makes the roster"
    made = client.post("/api/duties/roster", json=shift, headers=officer)
    assert made.status_code == 201 and made.json()["starts_at"] == f"{tomorrow}T00:00:00Z", made.text
    (kept,) = client.get("/api/duties/roster", headers=auditor).json()
    assert (kept["starts_at"], kept["ends_at"]) == (f"{tomorrow}T00:00:00Z", f"{tomorrow}T12:00:00Z"), "stored in UTC, read back so"
    overlapping = {**shift, "starts_at": f"{tomorrow}T19:00:00+08:00", "ends_at": f"{tomorrow}T22:00:00+08:00"}
    again = client.post("/api/duties/roster", json=overlapping, headers=officer)
    assert again.status_code == 409 and again.json()["code"] == "duty_overlap"
    in_utc = {**shift, "starts_at": f"{tomorrow}T01:00:00Z", "ends_at": f"{tomorrow}T03:00:00Z"}  # 09:00-11:00 in Shanghai
    assert client.post("/api/duties/roster", json=in_utc, headers=officer).json()["code"] == "duty_overlap", "the same hours in UTC"
    naive = client.post("/api/duties/roster", json={**shift, "starts_at": f"{tomorrow}T08:00:00"}, headers=officer)
    assert naive.status_code == 422, "a time without its zone is refused"
    too_long = client.post("/api/duties/roster", json={**shift, "ends_at": f"{after}T08:00:01+08:00"}, headers=officer)
    assert too_long.status_code == 422 and too_long.json()["code"] == "duty_time"
    for starts, ends in (
        ("9999-12-31T20:00:00-08:00", "9999-12-31T23:00:00-08:00"),
        ("0226-01-01T08:00:00+08:00", "0226-01-01T09:00:00+08:00"),
    ):
        typo = client.post("/api/duties/roster", json={**shift, "starts_at": starts, "ends_at": ends}, headers=officer)
        assert typo.status_code == 422 and typo.json()["code"] == "duty_time_range", typo.text
    for nobody in ("ghost", "auditor"):  # no account, or one that only reads
        refused = client.post("/api/duties/roster", json={**shift, "username": nobody}, headers=officer)
        assert refused.status_code == 422 and refused.json()["code"] == "duty_staff", refused.text

    lists = client.get("/api/duties/checklists", headers=auditor).json()
    assert len(lists["opening"]) == 5 and lists["last_opening"] is None
    assert all(check["overdue"] for check in lists["safety"]), "never checked: due now"
    as_word = client.post("/api/duties/checks", json={"kind": "opening", "results": [{"ok": "true"}] * 5}, headers=custodian)
    assert as_word.status_code == 422, "in order is true or false, not a word"
    wrong_count = client.post("/api/duties/checks", json={"kind": "opening", "results": [{"ok": True}]}, headers=custodian)
    assert wrong_count.status_code == 422 and wrong_count.json()["params"] == {"lines": 5}
    unexplained = client.post("/api/duties/checks", headers=custodian,
                              json={"kind": "opening", "results": [{"ok": True}] * 4 + [{"ok": False}]})  # fmt: skip
    assert (
        unexplained.status_code == 422 and unexplained.json()["code"] == "duty_check_note" and unexplained.json()["params"] == {"line": 5}
    )
    rung = [{"ok": True}, {"ok": True, "note": "a\x07b"}] + [{"ok": True}] * 3
    controlled = client.post("/api/duties/checks", headers=custodian, json={"kind": "opening", "results": rung})
    assert controlled.json()["code"] == "duty_line_control" and controlled.json()["params"] == {"line": 2}
    blocked = [{"ok": True}] * 4 + [{"ok": False, "note": "后门被纸箱挡住，已清"}]
    signed = client.post("/api/duties/checks", headers=custodian, json={"kind": "opening", "results": blocked})
    assert signed.status_code == 201 and signed.json()["done_by"] == "custodian" and signed.json()["results"][4]["ok"] is False
    assert client.post("/api/duties/checks", json={"kind": "opening", "results": [{"ok": True}] * 5}, headers=auditor).status_code == 403
    flat = client.post("/api/duties/checks", json={"kind": "safety:aed", "results": [{"ok": False, "note": "电池没电\t已报修"}]},
                       headers=custodian)  # fmt: skip
    assert flat.status_code == 201 and flat.json()["results"][0]["note"] == "电池没电 已报修", "a pasted tab is a space"
    (aed_check,) = [c for c in client.get("/api/duties/checklists", headers=auditor).json()["safety"] if c["kind"] == "safety:aed"]
    assert aed_check["overdue"] is True and aed_check["due"] is None, "a defibrillator found flat is due again until found in order"
    assert [line["note"] for line in aed_check["failed"]] == ["电池没电 已报修"]
    aed = client.post("/api/duties/checks", json={"kind": "safety:aed", "results": [{"ok": True}]}, headers=custodian)
    assert aed.status_code == 201
    unknown = client.post("/api/duties/checks", json={"kind": "safety:roof", "results": [{"ok": True}]}, headers=custodian)
    assert unknown.status_code == 422 and unknown.json()["code"] == "duty_check_unknown"
    lists = client.get("/api/duties/checklists", headers=auditor).json()
    (aed_check,) = [c for c in lists["safety"] if c["kind"] == "safety:aed"]
    assert aed_check["overdue"] is False and aed_check["every_days"] == 30 and aed_check["last"]["done_by"] == "custodian"
    assert aed_check["failed"] == []
    assert lists["last_opening"]["results"][4]["note"] == "后门被纸箱挡住，已清"

    fall = client.post(
        "/api/incidents", json={"kind": "fall", "description": "骑手在门口滑倒，已扶起", "alarm": "hall-1-fall-3"}, headers=custodian
    )
    assert fall.status_code == 201 and fall.json()["alarm"] == "hall-1-fall-3"
    bad = [({"kind": "alien", "description": "x"}, "incident_kind"), ({"kind": "fall", "description": " "}, "duty_text_empty"),
           ({"kind": "fall", "description": "x", "at": "2099-01-01T00:00:00Z"}, "incident_future"),
           ({"kind": "fall", "description": "x", "at": "0226-01-01T00:00:00+08:00"}, "incident_past"),
           ({"kind": "fall", "description": "x", "at": "0001-01-01T00:00:00+08:00"}, "duty_time_range")]  # fmt: skip
    for body, code in bad:
        refused = client.post("/api/incidents", json=body, headers=custodian)
        assert refused.status_code == 422 and refused.json()["code"] == code, (body, refused.text)
    assert client.post("/api/incidents", json={"kind": "fall", "description": "x", "alarm": "<b>"}, headers=custodian).status_code == 422
    step = client.post(f"/api/incidents/{fall.json()['id']}/follow-up", json={"note": "门口加防滑垫"}, headers=custodian)
    assert step.status_code == 200 and step.json()["follow_up"][0]["note"] == "门口加防滑垫"
    assert step.json()["follow_up"][0]["at"].endswith("Z")
    loose = client.post(f"/api/incidents/{fall.json()['id']}/follow-up", json={"note": "x", "close": "yes"}, headers=custodian)
    assert loose.status_code == 422, "close is true or false, not a word"
    for sneaky in ("a\x7fb", "a\x9b2Jb", "\u202e名字"):
        said = client.post(f"/api/incidents/{fall.json()['id']}/follow-up", json={"note": sneaky}, headers=custodian)
        assert said.status_code == 422 and said.json()["code"] == "duty_text_control", sneaky
    closed = client.post(f"/api/incidents/{fall.json()['id']}/follow-up", json={"note": "家属已告知", "close": True}, headers=officer)
    assert closed.json()["closed_by"] == "admin" and client.get("/api/incidents", headers=auditor).json() == []
    late = client.post(f"/api/incidents/{fall.json()['id']}/follow-up", json={"note": "x"}, headers=custodian)
    assert late.status_code == 409 and late.json()["code"] == "incident_closed"
    with sessions(station.db)() as db:
        actions = [e.action for e in db.scalars(select(AuditEntry).where(AuditEntry.action.in_(
            ["shift_added", "check_signed", "incident_reported", "incident_followed_up"])))]  # fmt: skip
        said = " ".join(str(e.after) for e in db.scalars(select(AuditEntry)))
    assert actions == ["shift_added", "check_signed", "check_signed", "check_signed", "incident_reported",
                       "incident_followed_up", "incident_followed_up"]  # fmt: skip
    for text in ("骑手在门口滑倒", "门口加防滑垫", "家属已告知", "电池没电", "后门被纸箱挡住"):
        assert text not in said, f"{text!r}: the never-forgetting audit log keeps what was done, not what was said"


@pytest.mark.parametrize(("lang", "zone"), [("zh", "Asia/Shanghai"), ("en", "UTC")])
def test_the_custodian_signs_the_opening_checklist_on_a_phone(station: LiveStation, lang: str, zone: str) -> None:
    from playwright.sync_api import expect

    words = {"zh": ("开站检查", "custodian", "已过期"), "en": ("Opening checklist", "custodian", "overdue")}[lang]
    with contextmanager(serve)(station) as server, chromium() as browser:
        desk = _desk(browser, server, "custodian", lang, zone)
        errors: list[str] = []
        desk.on("pageerror", lambda error: errors.append(str(error)))
        expect(desk.locator("#safety-list li.overdue")).to_have_count(3, timeout=20_000)
        expect(desk.locator("#safety-list")).to_contain_text(words[2])
        desk.click("#checklist-buttons button[data-checklist=opening]")
        expect(desk.locator("#checklist-title")).to_have_text(words[0])
        desk.uncheck("#checklist-lines li[data-line='4'] input[type=checkbox]")
        desk.fill("#checklist-lines li[data-line='4'] input[name='note-4']", "后门被纸箱挡住，已清")
        ARTIFACTS.mkdir(exist_ok=True)
        desk.locator("#checklist-form").screenshot(path=str(ARTIFACTS / f"checklist-{lang}.png"))
        desk.click("#checklist-form button[type=submit]")
        expect(desk.locator("#duty-message")).to_contain_text(words[1], timeout=10_000)
        expect(desk.locator("#duty-now")).to_contain_text(words[1])
        desk.click("#safety-list li[data-check='safety:aed'] button")
        desk.click("#checklist-form button[type=submit]")
        expect(desk.locator("#safety-list li.overdue")).to_have_count(2, timeout=10_000)
        width = desk.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360, f"the staff page is {width} px wide on a 360 px phone"
        ARTIFACTS.mkdir(exist_ok=True)
        desk.locator("#duties").screenshot(path=str(ARTIFACTS / f"duties-{lang}.png"))
        assert errors == [], errors

        # An officer puts the custodian on tomorrow's night shift, typed in the station's time whatever the phone's zone.
        office = _desk(browser, server, "admin", lang, zone)
        office.on("pageerror", lambda error: errors.append(str(error)))
        office.click("#roster summary")
        expect(office.locator("#roster-form")).to_be_visible(timeout=20_000)
        # The wall time typed means the station's instant, across a daylight-saving change too (a station in New York).
        typed = office.evaluate("""() => { const kept = state.plan.timezone; state.plan.timezone = "America/New_York";
            const got = ["2026-03-08T03:30", "2026-11-01T02:30", "2026-07-01T12:00"].map(fromStationWall);
            state.plan.timezone = kept; return [...got, fromStationWall("2026-12-08T08:00")]; }""")
        assert typed == ["2026-03-08T07:30:00.000Z", "2026-11-01T07:30:00.000Z", "2026-07-01T16:00:00.000Z", "2026-12-08T00:00:00.000Z"]
        tomorrow = (datetime.now(SHANGHAI) + timedelta(days=1)).date().isoformat()
        office.fill("#roster-form input[name=username]", "custodian")
        office.fill("#roster-form input[name=starts]", f"{tomorrow}T20:00")
        office.fill("#roster-form input[name=hours]", "12")
        office.click("#roster-form button[type=submit]")
        shift = office.locator("#roster-list li[data-shift]")
        expect(shift).to_contain_text(f"{tomorrow} 20:00", timeout=10_000)
        day_after = (datetime.now(SHANGHAI) + timedelta(days=2)).date().isoformat()
        expect(shift).to_contain_text(f"{day_after} 08:00")
        expect(office.locator("#duty-message")).to_contain_text(f"custodian{'，' if lang == 'zh' else ' from '}{tomorrow} 20:00")
        office.click("#roster-form button[type=submit]")  # the same shift again: refused, saying so
        expect(office.locator("#duty-message")).to_contain_text({"zh": "这段时间已经有班次", "en": "on the roster then already"}[lang])
        expect(office.locator("#roster-list li[data-shift]")).to_have_count(1)
        assert office.evaluate("() => document.documentElement.scrollWidth") <= 360
        office.locator("#roster").screenshot(path=str(ARTIFACTS / f"roster-{lang}.png"))
        assert errors == [], errors
    with sessions(station.db)() as db:
        (kept,) = db.scalars(select(DutyShift))
    assert kept.starts_at == datetime.fromisoformat(f"{tomorrow}T20:00:00+08:00"), "stored as the instant the station meant"
