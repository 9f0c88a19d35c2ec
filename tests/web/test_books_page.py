"""The transparency page in a real browser on a 360 px phone, signed in as nobody (issue 14): the month's figures are the
books' own to the fen, every entry is there with its hash, nobody is named, the time each entry was booked is the
station's whatever the phone's zone, another month is one tap away, and the printable report opens. In Chinese in
Shanghai and in English in UTC."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import cv2
import httpx2 as httpx
import numpy as np
import pytest
from sqlalchemy import select

from station.live import LiveStation
from store.db import sessions
from store.ledger_report import read_month, yuan
from store.models import LedgerAccount, LedgerEntry, Receipt
from tests.web.conftest import PASSWORD, serve
from tests.web.test_books import receipt_png
from tests.web.test_browser import ARTIFACTS, chromium

WORDS = {
    "zh": {"title": "云小驿 · 经费公开", "open": "尚未结账", "water": "桶装水", "debit": "借", "received": "工会拨款"},
    "en": {"title": "Yunxiaoyi · The station's books", "open": "not closed yet", "water": "桶装水", "debit": "Dr",
           "received": "Union allocation"},
}  # fmt: skip


def _book(server: str) -> None:
    """What a month brings: the union's allocation in November, water and a repair in December, each approved."""
    with httpx.Client(base_url=server, timeout=30) as web:
        heads = {}
        for name in ("custodian", "admin"):
            answer = web.post("/api/auth/token", json={"username": name, "password": PASSWORD})
            heads[name] = {"Authorization": f"Bearer {answer.json()['token']}"}
        for n, (kind, account, via, amount, memo, day) in enumerate([
            ("receive", "union_allocation", "bank", "5000", "11 月工会拨款", "2026-11-20"),
            ("spend", "supplies", "cash", "128.50", "桶装水 20 桶", "2026-12-03"),
            ("spend", "repairs", "bank", "300.05", "空调清洗", "2026-12-04"),
        ]):  # fmt: skip
            body = {"kind": kind, "account": account, "via": via, "amount": amount, "memo": memo, "spent_on": day}
            made = web.post("/api/books/spending", json=body, headers=heads["custodian"]).json()
            if kind == "spend":
                web.post(f"/api/books/spending/{made['id']}/receipts", content=receipt_png(n),
                         headers={**heads["custodian"], "Content-Type": "image/png"})  # fmt: skip
            assert web.post(f"/api/books/spending/{made['id']}/approve", headers=heads["admin"]).status_code == 200


@pytest.mark.parametrize(("lang", "zone"), [("zh", "Asia/Shanghai"), ("en", "UTC")])
def test_anyone_reads_the_months_books_on_a_phone(station: LiveStation, lang: str, zone: str) -> None:
    from playwright.sync_api import expect

    words = WORDS[lang]
    with contextmanager(serve)(station) as server, chromium() as browser:
        _book(server)
        assert station.ledger is not None
        with sessions(station.db)() as db:
            december = read_month(db, station.ledger, date(2026, 12, 1))
            water = db.scalar(select(LedgerEntry).where(LedgerEntry.memo == "桶装水 20 桶"))
            assert water is not None
            booked_at = water.at.replace(tzinfo=UTC) if water.at.tzinfo is None else water.at
            head = station.ledger.head(db)
        assert head is not None
        context = browser.new_context(viewport={"width": 360, "height": 780}, timezone_id=zone)
        refused: list[str] = []
        context.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{server}/books?lang={lang}&month=2026-12")
        expect(page.locator("h1")).to_have_text(words["title"])
        expect(page.locator("#entries > li")).to_have_count(2)
        expect(page.locator("#state")).to_contain_text(words["open"])
        figures = {key: page.locator(f".figure-{key}").inner_text() for key in ("b_opening", "b_income", "b_spent", "b_closing")}
        assert figures == {
            "b_opening": f"¥{yuan(december.opening)}", "b_income": f"¥{yuan(sum(december.income.values()))}",
            "b_spent": f"¥{yuan(sum(december.spent.values()))}", "b_closing": f"¥{yuan(december.closing)}",
        }, figures  # fmt: skip
        assert figures["b_closing"] == "¥4,571.45" and figures["b_spent"] == "¥428.55"
        entry = page.locator(f"#entries > li[data-entry='{water.id}']")
        expect(entry).to_contain_text(words["water"])
        expect(entry).to_contain_text(f"{words['debit']} ¥128.50")
        expect(entry.locator(".books-hash")).to_have_text(water.hash)
        on_the_station_clock = booked_at.astimezone(ZoneInfo(station.station.timezone)).strftime("%Y-%m-%d %H:%M")
        expect(entry).to_contain_text(on_the_station_clock)
        expect(page.locator("#head")).to_contain_text(head[1])
        shown = page.content()
        for name in ("custodian", "admin", "李"):
            assert name not in shown, f"the public page names {name!r}"
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360, f"the books are {width} px wide on a 360 px phone"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"books-{lang}.png"), full_page=True)

        page.select_option("#month", "2026-11")
        expect(page.locator("#entries > li")).to_have_count(1)
        expect(page.locator("#income")).to_contain_text(words["received"])
        expect(page.locator(".figure-b_income")).to_have_text("¥5,000.00")
        with page.expect_popup() as popup:
            page.click("#report")
        report: Any = popup.value
        report.wait_for_load_state()
        assert "5,000.00" in report.content()
        assert refused == [] and errors == [], (refused, errors)
        context.close()


def _desk(browser: Any, server: str, username: str, lang: str, zone: str) -> Any:
    desk = browser.new_context(viewport={"width": 360, "height": 780}, timezone_id=zone).new_page()
    desk.add_init_script(f"localStorage.setItem('yxy-lang', '{lang}')")
    desk.goto(server)
    desk.fill("input[name=username]", username)
    desk.fill("input[name=password]", PASSWORD)
    desk.click("#login-form button[type=submit]")
    return desk


@pytest.mark.parametrize(("lang", "zone"), [("zh", "Asia/Shanghai"), ("en", "UTC")])
def test_the_custodian_proposes_with_a_photo_and_the_officer_approves_on_their_phone(
    station: LiveStation, tmp_path: Path, lang: str, zone: str
) -> None:
    from playwright.sync_api import expect

    photo = tmp_path / "invoice.png"  # a phone camera's photo: large, noisy, over the server's 2 MB
    noise = np.random.default_rng(7).integers(0, 255, (1800, 2400, 3), dtype=np.uint8)
    cv2.putText(noise, "INVOICE 128.50", (200, 900), cv2.FONT_HERSHEY_SIMPLEX, 6, (0, 0, 0), 12)
    cv2.imwrite(str(photo), noise)
    assert photo.stat().st_size > 2 * 1024 * 1024
    words = {"zh": ("已入账", "待批准"), "en": ("booked", "waiting")}[lang]
    with contextmanager(serve)(station) as server, chromium() as browser:
        custodian = _desk(browser, server, "custodian", lang, zone)
        form = custodian.locator("#funds-form")
        expect(form).to_be_visible(timeout=20_000)
        expect(form.locator("select[name=account] option[value=supplies]")).to_have_count(1)
        today = datetime.now(ZoneInfo(station.station.timezone)).date().isoformat()
        expect(form.locator("input[name=spent_on]")).to_have_value(today)  # the station's day, whatever the phone's zone
        form.locator("select[name=account]").select_option("supplies")
        form.locator("input[name=amount]").fill("128.50")
        form.locator("input[name=memo]").fill("桶装水 20 桶")
        form.locator("input[name=receipt]").set_input_files(str(photo))
        form.locator("button[type=submit]").click()
        item = custodian.locator("#funds-list li.status-proposed")
        expect(item).to_contain_text(words[1], timeout=10_000)
        expect(item.locator(".receipts a")).to_have_count(1)
        expect(item.locator("button[data-do=approve]")).to_have_count(0)  # nobody approves their own

        officer = _desk(browser, server, "admin", lang, zone)
        waiting = officer.locator("#funds-list li.status-proposed")
        expect(waiting).to_contain_text("¥128.50", timeout=20_000)
        waiting.locator("button[data-do=approve]").click()
        expect(officer.locator("#funds-list li.status-approved")).to_contain_text(words[0], timeout=10_000)
        officer.locator("#budget-lines input[name=supplies]").fill("1200")
        officer.locator("#budget-form button[type=submit]").click()
        expect(officer.locator("#budget-message")).to_have_text({"zh": "预算已保存", "en": "Budgets saved"}[lang])
        expect(officer.locator("#budget-lines input[name=supplies]")).to_have_value("1200.00")
        expect(custodian.locator("#budget-form")).to_be_hidden()
        for page in (custodian, officer):
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 360, f"{page.url} is {width} px wide on a 360 px phone"
        ARTIFACTS.mkdir(exist_ok=True)
        officer.locator("#funds").screenshot(path=str(ARTIFACTS / f"funds-{lang}.png"))
    assert station.ledger is not None
    with sessions(station.db)() as db:
        (booked,) = db.scalars(select(LedgerEntry)).all()
        (receipt,) = db.scalars(select(Receipt)).all()
        budget = db.scalar(select(LedgerAccount.budget_fen).where(LedgerAccount.code == "supplies"))
    assert booked.memo == "桶装水 20 桶" and booked.receipts == [receipt.sha256] and booked.username == "admin"
    assert budget == 120000
    assert receipt.content_type == "image/jpeg" and receipt.size < 2 * 1024 * 1024, "the page shrank the photo before sending it"
    shrunk = cv2.imdecode(np.frombuffer(receipt.data, np.uint8), cv2.IMREAD_COLOR)
    assert max(shrunk.shape[:2]) == 1600
