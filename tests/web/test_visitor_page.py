"""A visitor at the door, in a real browser on 360 px phones (issue 12, item 4): by day they ask on the visitor's
page, the custodian sees the ask on their own phone and approves it, the visitor's page shows a pass, the door's
scanner reads it over MQTT, the door opens and the page says so; at night the toilet needs nobody's approval, only the
scan. In Chinese in Shanghai and in English in UTC."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hardware_bridge.emulator import EmulatedDevice
from scenarios.schema import load_scenario
from station.live import LiveStation
from tests.conftest import LIBRARY
from tests.hardware_bridge.conftest import wait_for
from tests.web.conftest import serve, started
from tests.web.test_browser import ARTIFACTS, chromium
from tests.web.test_member_page import signed_in_desk
from tests.web.test_visitors import ALWAYS_NIGHT, NEVER_NIGHT

WORDS = {
    "zh": {"waiting": "已通知值班员", "ready": "扫码器", "admitted": "门已打开", "approved": "值班员批准", "night": "夜间访客",
           "toilet": "如厕"},
    "en": {"waiting": "custodian has been told", "ready": "scanner", "admitted": "door is open", "approved": "approved by the custodian",
           "night": "Visitor at night", "toilet": "Toilet"},
}  # fmt: skip


def _scan_the_phone(visitor: Any, door: EmulatedDevice) -> None:
    """The door's scanner reads the pass off the visitor's screen and says so over MQTT."""
    from playwright.sync_api import expect

    qr = visitor.locator("#qr[data-pass]")
    expect(qr).to_be_visible(timeout=10_000)
    text = qr.get_attribute("data-pass")
    assert text and text.startswith("YXV1.")
    door.event("pass_scanned", {"text": text})


@contextmanager
def _door(tmp_path: Path, overrides: list[str]) -> Iterator[tuple[LiveStation, EmulatedDevice]]:
    live = started(load_scenario(LIBRARY / "typical_week_door.toml", overrides), tmp_path / "visitor.db")
    assert live.broker is not None
    door = EmulatedDevice(live.station.id, "door", "door", live.device_broker("door")).start()
    try:
        yield live, door
    finally:
        door.stop()
        live.stop()


def _ask(page: Any, server: str, lang: str, *needs: str) -> None:
    page.goto(f"{server}/v?lang={lang}")
    page.fill("input[name=phone]", "138 0013 8000")
    for need in needs:
        page.check(f"#needs input[value={need}]")
    page.click("#ask-form button[type=submit]")


@pytest.mark.parametrize(("lang", "zone"), [("zh", "Asia/Shanghai"), ("en", "UTC")])
def test_by_day_the_custodian_approves_on_the_phone_and_the_visitor_sees_the_door_open(tmp_path: Path, lang: str, zone: str) -> None:
    from playwright.sync_api import expect

    words = WORDS[lang]
    phone: dict[str, Any] = {"viewport": {"width": 360, "height": 780}, "timezone_id": zone}
    with _door(tmp_path, NEVER_NIGHT) as (live, door), contextmanager(serve)(live) as server, chromium() as browser:
        visitor = browser.new_context(**phone).new_page()
        _ask(visitor, server, lang, "toilet", "charge_phone")
        expect(visitor.locator("#ask-status")).to_contain_text(words["waiting"])
        assert {"open": True} not in door.done

        desk = signed_in_desk(browser, server, lang, **phone)
        waiting = desk.locator("#visitor-list li.status-waiting")
        expect(waiting).to_contain_text(words["toilet"], timeout=10_000)
        waiting.locator("button[data-do=approve]").click()
        expect(visitor.locator("#ask-status[data-status=ready]")).to_contain_text(words["ready"], timeout=10_000)
        assert {"open": True} not in door.done, "approved, the door still waits for the visitor to be at it"

        _scan_the_phone(visitor, door)
        wait_for(lambda: {"open": True} in door.done, timeout_s=10, what="the door to open for the approved visitor")
        expect(visitor.locator("#ask-status[data-status=admitted]")).to_contain_text(words["approved"], timeout=10_000)
        expect(visitor.locator("#ask-status")).to_contain_text(words["admitted"])
        expect(desk.locator("#visitor-list li.status-admitted")).to_have_count(1, timeout=10_000)
        ARTIFACTS.mkdir(exist_ok=True)
        visitor.screenshot(path=str(ARTIFACTS / f"visitor-admitted-{lang}.png"), full_page=True)
        desk.locator("#visitors").screenshot(path=str(ARTIFACTS / f"visitors-card-{lang}.png"))
        for page in (visitor, desk):
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 360, f"{page.url} is {width} px wide on a 360 px phone"
        shown = desk.content()
        assert "13800138000" not in shown and "138 0013 8000" not in shown, "the custodian never sees the visitor's phone"


def test_at_night_the_toilet_needs_only_the_scan_at_the_door(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with _door(tmp_path, ALWAYS_NIGHT) as (live, door), contextmanager(serve)(live) as server, chromium() as browser:
        visitor = browser.new_context(viewport={"width": 360, "height": 780}, timezone_id="Asia/Shanghai").new_page()
        visitor.goto(f"{server}/v")
        expect(visitor.locator("#night-rule")).to_contain_text("00:00")
        _ask(visitor, server, "zh", "toilet")
        expect(visitor.locator("#ask-status[data-status=ready]")).to_contain_text(WORDS["zh"]["ready"])
        _scan_the_phone(visitor, door)
        wait_for(lambda: {"open": True} in door.done, timeout_s=10, what="the door to open at night")
        expect(visitor.locator("#ask-status[data-status=admitted]")).to_contain_text(WORDS["zh"]["night"], timeout=10_000)
