"""An emulated demo's page: its clock is the crowd's (and says so), and a custodian's switch shows how long it holds.

The automated station at 60x from 05:45, its devices emulated and driven by its crowd,
served by uvicorn and watched by chromium on a phone: the page must show the station's
emulated time (not the wall's evening in Shanghai), and the lights switched on by hand
"manual until" 30 station minutes later, on the same clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scenarios.schema import load_scenario
from station.live import LiveStation
from tests.conftest import LIBRARY
from tests.hardware_bridge.conftest import wait_for
from tests.web.conftest import serve, started
from tests.web.test_browser import page as page  # noqa: PLC0414 (re-exported: the fixture, a phone's chromium)
from tests.web.test_browser import shot, sign_in

START = datetime(2026, 7, 20, 5, 45)


@pytest.fixture
def station(tmp_path: Path) -> Iterator[LiveStation]:
    scenario = load_scenario(LIBRARY / "automated_station.toml", [f"scenario.start={START.isoformat()}", "automations.every=1m"])
    live = started(scenario, tmp_path / "demo.db", emulate=True, emulate_from_now=False, speed=60.0)
    yield live
    live.stop()


@pytest.fixture
def server(station: LiveStation) -> Iterator[str]:
    yield from serve(station)


def _station_minutes(text: str) -> datetime:
    month, day, hour, minute = (int(x) for x in re.search(r"(\d\d)-(\d\d) (\d\d):(\d\d)", text).groups())  # type: ignore[union-attr]
    return datetime(2026, month, day, hour, minute)


@pytest.mark.parametrize("width", [360, 1280], ids=["phone", "desktop"])
def test_the_demos_page_runs_on_the_crowds_clock(page: Any, server: str, station: LiveStation, width: int) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size({"width": width, "height": 800})
    bridge = station.bridge
    assert bridge is not None
    wait_for(lambda: bridge.read(lambda t: "on" in t.entity("lights").reported), timeout_s=30, what="the lights' first report")
    sign_in(page, server, "custodian")
    clock = page.locator("#station-clock")
    expect(clock.locator("em")).to_have_text("模拟 ×60")
    shown = _station_minutes(clock.inner_text())
    assert START <= shown < START + timedelta(minutes=15), shown  # the crowd's morning, not the wall's evening
    # Two station minutes take 2 s at the crowd's pace and 120 s at the wall's; a loaded CI machine can delay the page's
    # timers and the emulator's clock by seconds, so the page gets 15 s, still 8 times too few for a wall-paced clock.
    page.wait_for_function(
        """([month, day, hour, minute]) => {
            const [, m, d, h, min] = document.querySelector("#station-clock time").textContent.match(/(\\d\\d)-(\\d\\d) (\\d\\d):(\\d\\d)/);
            return (((+m * 31 + +d) * 24 + +h) * 60 + +min) - (((month * 31 + day) * 24 + hour) * 60 + minute) >= 2;
        }""",
        arg=[shown.month, shown.day, shown.hour, shown.minute],
        timeout=15_000,
    )
    assert _station_minutes(clock.inner_text()) >= shown + timedelta(minutes=2), "the page's clock runs at the crowd's pace"

    card = page.locator("#device-lights")
    was_on = bridge.read(lambda t: bool(t.entity("lights").reported.get("on")))
    card.locator("button.switch").click()
    expect(card.locator(".command")).to_contain_text("custodian 下发", timeout=10_000)
    held = card.locator(".manual")
    expect(held).to_contain_text("手动控制至", timeout=10_000)
    until = re.search(r"(\d\d):(\d\d)", held.inner_text())
    assert until is not None
    now = _station_minutes(clock.inner_text())
    until_at = now.replace(hour=int(until[1]), minute=int(until[2]))
    assert timedelta(minutes=25) <= until_at - now <= timedelta(minutes=31), (now, until_at)
    wait_for(lambda: bridge.read(lambda t: bool(t.entity("lights").reported.get("on"))) is not was_on, timeout_s=10, what="obeyed")
    shot(page, f"09-emulated-demo-manual-hold-{width}")
