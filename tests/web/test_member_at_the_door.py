"""A member at the door, end to end (issue 12's browser test): the phone shows the QR, a scripted door terminal scans it
over Mosquitto, the door opens, and the custodian's door log names the member; the same QR again is refused; once the
member withdraws face consent, a face match no longer opens the door and the terminal is told to forget the face; the
member's page lists their visits."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hardware_bridge.emulator import EmulatedDevice
from hardware_bridge.mqtt import BrokerConfig
from scenarios.schema import load_scenario
from station.live import LiveStation
from tests.conftest import IN_CI, LIBRARY
from tests.hardware_bridge.conftest import MOSQUITTO, reachable, wait_for
from tests.web.conftest import serve, started
from tests.web.test_browser import chromium
from tests.web.test_member_page import _staff, code_from_the_desk

WORDS = {
    "zh": {"in": "放行", "out": "未放行", "replayed": "二维码已被使用", "code": "扫码",
            "no_face": "未授权刷脸", "withdrawn": "已撤回人脸识别授权"},
    "en": {"in": "let in", "out": "not let in", "replayed": "Code already used", "code": "a scanned code",
           "no_face": "No consent to face entry",
           "withdrawn": "Face-entry consent withdrawn"},
}  # fmt: skip


@pytest.fixture
def door_station(tmp_path: Path) -> Iterator[LiveStation]:
    """The week with the door checking, on the machine's Mosquitto (required in CI), under a station id of its own."""
    if not reachable(*MOSQUITTO):
        if IN_CI:
            raise AssertionError("Mosquitto is required in CI and is not listening on 127.0.0.1:1883")
        pytest.skip("Mosquitto is not listening on 127.0.0.1:1883")
    scenario = load_scenario(LIBRARY / "typical_week_door.toml", [f"station.id=t{uuid.uuid4().hex[:10]}"])
    live = started(scenario, tmp_path / "door.db", mqtt_url=f"mqtt://{MOSQUITTO[0]}:{MOSQUITTO[1]}")
    yield live
    live.stop()


@pytest.mark.parametrize(("lang", "zone"), [("zh", "Asia/Shanghai"), ("en", "UTC")])
def test_a_members_qr_opens_the_door_once_and_the_custodian_sees_who(door_station: LiveStation, lang: str, zone: str) -> None:
    from playwright.sync_api import expect

    words = WORDS[lang]
    terminal = EmulatedDevice(door_station.station.id, "door", "door", BrokerConfig(*MOSQUITTO)).start()
    try:
        with contextmanager(serve)(door_station) as server:
            with _staff(server) as staff:
                member = staff.post(
                    "/api/members",
                    json={"name": "王小明", "phone": "13800138000", "face_consent": True, "face_consent_on": "2026-01-02"},
                ).json()
            with chromium() as browser:
                phone: dict[str, Any] = {"viewport": {"width": 360, "height": 780}, "timezone_id": zone}
                desk, code = code_from_the_desk(browser, server, member["id"], lang, **phone)

                page = browser.new_context(**phone).new_page()
                page.goto(f"{server}/m?lang={lang}")
                page.fill("input[name=phone]", "13800138000")
                page.fill("input[name=code]", code)
                page.click("#code-form button[type=submit]")
                qr = page.locator("#qr[data-pass]")
                expect(qr).to_be_visible()
                shown = qr.get_attribute("data-pass")
                assert shown

                terminal.event("pass_scanned", {"text": shown})  # the terminal reads the QR off the phone's screen
                wait_for(lambda: {"open": True} in terminal.done, timeout_s=5, what="the door to open")
                log = desk.locator("#door-log li.door_decided")
                expect(log.first).to_contain_text(words["in"], timeout=15_000)
                expect(log.first).to_contain_text("王小明")  # the custodian sees who, while the member is in the register

                terminal.event("pass_scanned", {"text": shown})  # the same QR shown a second time
                expect(desk.locator("#door-log li.door_decided.refused").first).to_contain_text(words["replayed"], timeout=15_000)
                expect(desk.locator("#door-log li.door_decided.refused").first).to_contain_text(words["code"])  # names nobody
                assert terminal.done.count({"open": True}) == 1

                page.on("dialog", lambda dialog: dialog.accept())
                page.click("#withdraw")
                expect(page.locator("#mine-message")).to_have_text(words["withdrawn"])
                forgotten = {"forget_face": member["id"]}
                wait_for(lambda: forgotten in terminal.done, timeout_s=10, what="the terminal to forget the face")
                terminal.event("face_matched", {"member": member["id"], "score": 0.99})
                expect(desk.locator("#door-log li.door_decided.refused").first).to_contain_text(words["no_face"], timeout=15_000)
                assert terminal.done.count({"open": True}) == 1

                def visits_shown() -> int:  # the page reads the history, which the station writes in batches
                    page.reload()
                    page.locator("#visits-card").wait_for()
                    page.wait_for_load_state("networkidle")
                    return page.locator("#visits li").count()

                # The member's own visits, linked by their visit key: let in by QR, refused by face.
                wait_for(lambda: visits_shown() == 2, timeout_s=15, what="the member's two visits on their page")
                expect(page.locator("#visits li.refused").first).to_contain_text(words["no_face"])
                expect(page.locator("#visits li.admitted")).to_have_count(1)
                width = desk.evaluate("() => document.documentElement.scrollWidth")
                assert width <= 360, f"the custodian's page is {width} px wide on a 360 px phone"
    finally:
        terminal.stop()
