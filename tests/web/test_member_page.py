"""The member's phone page in a real browser (Debian's chromium under Playwright): a custodian gives a code on the staff
page, the member signs in on a 360 px phone, shows a QR pass the door takes and that renews itself, withdraws face
consent and takes their data away; in both languages and in the station's zone and UTC."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from actors import door_pass
from station.live import LiveStation
from store.audit import key_file_for, load_or_create_key
from store.members import door_key
from tests.web.conftest import PASSWORD
from tests.web.test_browser import chromium

PHONE = "13800138000"


@contextmanager
def _staff(server: str, role: str = "custodian") -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as web:
        answer = web.post("/api/auth/token", json={"username": role, "password": PASSWORD})
        web.headers["Authorization"] = "Bearer " + answer.json()["token"]
        yield web


def signed_in_desk(browser: Any, server: str, lang: str = "zh", **context: Any) -> Any:
    """The staff page, signed in as the custodian, in ``lang``."""
    desk = browser.new_context(**context).new_page()
    desk.add_init_script(f"localStorage.setItem('yxy-lang', '{lang}')")
    desk.goto(server)
    desk.fill("input[name=username]", "custodian")
    desk.fill("input[name=password]", PASSWORD)
    desk.click("#login-form button[type=submit]")
    return desk


def code_from_the_desk(browser: Any, server: str, member: int, lang: str = "zh", **context: Any) -> tuple[Any, str]:
    """A custodian signs in on the staff page (in ``lang``) and gives ``member`` a sign-in code: (the staff page, the code)."""
    from playwright.sync_api import expect

    desk = signed_in_desk(browser, server, lang, **context)
    row = desk.locator(f"#member-list li[data-member='{member}']")
    row.locator("button[data-do=code]").click()
    said = row.locator(".said")
    expect(said).to_have_attribute("data-code", re.compile(r"^\d{6}$"))
    code = said.get_attribute("data-code")
    assert code
    return desk, code


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide on a 360 px phone"


@pytest.mark.parametrize(("lang", "zone"), [("zh", "Asia/Shanghai"), ("en", "UTC")])
def test_a_member_signs_in_shows_a_renewing_pass_withdraws_consent_and_takes_their_data(
    server: str, station: LiveStation, lang: str, zone: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    with _staff(server) as staff:
        other = staff.post("/api/members", json={"name": "李四", "phone": "13900139000"}).json()
        member = staff.post(
            "/api/members",
            json={"name": "王小明", "phone": PHONE, "worker_group": "riders", "face_consent": True, "face_consent_on": "2026-01-02"},
        ).json()
    with chromium() as browser:
        phone: dict[str, Any] = {
            "viewport": {"width": 360, "height": 780},
            "locale": "zh-CN" if lang == "zh" else "en-GB",
            "timezone_id": zone,
        }
        _, code = code_from_the_desk(browser, server, member["id"], lang, **phone)

        context = browser.new_context(**phone, accept_downloads=True)
        page = context.new_page()
        refused: list[str] = []
        page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
        page.goto(f"{server}/m?lang={lang}")
        expect(page.locator("h1")).to_have_text("云小驿 · 我的会员码" if lang == "zh" else "Yunxiaoyi · My member pass")
        page.fill("input[name=phone]", "138 0013 8000")
        page.fill("input[name=code]", code)
        page.click("#code-form button[type=submit]")
        qr = page.locator("#qr[data-pass]")
        expect(qr).to_be_visible()
        first = qr.get_attribute("data-pass")
        assert first
        key = door_key(load_or_create_key(key_file_for(station.settings.database_url, station.settings.audit_key_file)))
        checked = door_pass.check(key, station.station.id, first, datetime.now(UTC).timestamp(), door_pass.AcceptedPasses())
        assert isinstance(checked, door_pass.Checked) and checked.member == member["id"]
        assert page.evaluate("() => document.getElementById('qr').naturalWidth") > 0, "the QR code is drawn"
        _no_sideways_scroll(page)

        time.sleep(16)
        expect(page.locator("#qr")).not_to_have_attribute("data-pass", first)

        page.on("dialog", lambda dialog: dialog.accept())
        page.click("#withdraw")
        expect(page.locator("#mine-message")).to_have_text("已撤回人脸识别授权" if lang == "zh" else "Face-entry consent withdrawn")
        expect(page.locator("#my-data dd[data-field=face_consent]")).to_have_text("否" if lang == "zh" else "no")
        with _staff(server, "admin") as officer:
            assert officer.get(f"/api/members/{member['id']}").json()["face_consent"] is False

        with page.expect_download() as download:
            page.click("#export")
        saved = tmp_path / "mine.json"
        download.value.save_as(saved)
        document = json.loads(saved.read_text(encoding="utf-8"))
        assert document["member"]["id"] == member["id"] and document["member"]["phone"] == PHONE
        assert "李四" not in saved.read_text(encoding="utf-8") and other["phone"] not in saved.read_text(encoding="utf-8")
        _no_sideways_scroll(page)
        assert refused == []
