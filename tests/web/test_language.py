"""The page in one language at a time: switched to English, no Chinese outside names; in Chinese, no English phrases.

Names (a person's, a device's, a scenario's) are shown as they were given and marked
``translate="no"``; everything else the page shows, on every section an officer sees,
comes from the one catalog.  Run on a phone, with an alarm, a door log, an audit log, a
planner run and a device's page open, so those sections have something to say.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from hardware_bridge.emulator import EmulatedDevice
from station.live import LiveStation
from tests.web.test_browser import page as page  # noqa: PLC0414 (re-exported: the fixture, a phone's chromium)
from tests.web.test_browser import shot, sign_in
from twin.alarm import Severity

SHOWN_TEXT = """() => {
  const texts = [];
  const visible = (el) => (el instanceof SVGElement ? !el.closest("title")
    : el.offsetParent !== null || getComputedStyle(el).position === "fixed");
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const node = walk.currentNode, el = node.parentElement;
    if (!el || el.closest('[translate="no"], script, style, title') || !node.textContent.trim()) continue;
    if (el.tagName === "OPTION" ? el.closest("select").offsetParent === null : !visible(el)) continue;
    texts.push(node.textContent.trim());
  }
  document.querySelectorAll("input[placeholder]").forEach((input) => { if (input.offsetParent) texts.push(input.placeholder); });
  return texts;
}"""
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
ENGLISH_PHRASE = re.compile(r"\b[A-Za-z]{3,}\s+[A-Za-z]{2,}\b")


def _busy_station(page: Any, station: LiveStation) -> None:
    """Something in every section: an alarm with a step, a door passage, a finished run, a device's page."""
    from playwright.sync_api import expect

    bridge = station.bridge
    assert bridge is not None
    bridge.call(lambda twin: twin.record("door", bridge.clock.now(), "worker_entered", {"worker": "riders.visits.17", "group": "riders"}))
    alarm = bridge.call(lambda twin: bridge.alarms.raise_("fridge", "over_temperature", bridge.clock.now(), "", Severity.CRITICAL))
    bridge.call(lambda twin: bridge.alarms.acknowledge(alarm.id, "custodian:wang", bridge.clock.now(), "在看"))
    expect(page.locator("#scenario-values")).to_have_attribute("data-scenario", re.compile(r"\w"), timeout=20_000)  # the form is ready
    page.fill("#run-form textarea[name=overrides]", "scenario.horizon=2h\nscenario.warmup=0s")
    page.fill("#run-form input[name=replications]", "1")
    page.click("#run-form button[type=submit]")
    expect(page.locator("#run-error")).to_have_text("")
    expect(page.locator("li.run .status").first).to_have_text("完成", timeout=90_000)
    page.reload()
    expect(page.locator("#station")).to_be_visible(timeout=20_000)
    expect(page.locator("#alarms li.alarm")).to_have_count(1, timeout=10_000)
    expect(page.locator("#door-log li").first).to_contain_text("第 17 位", timeout=10_000)
    page.locator("#device-lights h3").click()
    page.locator("#closed-alarms summary").click()


@pytest.mark.parametrize("width", [360, 1280], ids=["phone", "desktop"])
def test_english_has_no_chinese_and_chinese_no_english_outside_names(
    page: Any, server: str, station: LiveStation, lights: EmulatedDevice, width: int
) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, server, "admin")
    _busy_station(page, station)
    chinese = page.evaluate(SHOWN_TEXT)
    shot(page, f"08-chinese-everywhere-{width}")
    english_in_chinese = sorted({text for text in chinese if ENGLISH_PHRASE.search(text)})
    assert english_in_chinese == [], "\n".join(english_in_chinese)

    page.click("#lang")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#door-log li").first).to_contain_text("visitor 17")  # what the page fetched again, redrawn
    expect(page.locator("#staff-list button.reset").first).to_have_text("Reset password")
    expect(page.locator("#audit-list li").first).not_to_contain_text("登录")
    english = page.evaluate(SHOWN_TEXT)
    shot(page, f"08-english-everywhere-{width}")
    chinese_in_english = sorted({text for text in english if CJK.search(text)})
    assert chinese_in_english == [], "\n".join(chinese_in_english)
    assert len(english) > 150, "the test saw the page, not an empty shell"
