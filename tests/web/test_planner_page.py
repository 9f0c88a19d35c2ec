"""The web planner in a real browser (Debian's chromium under Playwright) on a 360 px phone, in Chinese and in English.

What a planner meets: the library by title, the form in the page's language, every mistake
of an uploaded file at once on its line, runs named by what they changed, a comparison
against the run they choose as the baseline, and a run they cancel.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.test_browser import page as page  # noqa: PLC0414 (re-exported: the fixture, a phone's chromium)
from tests.web.test_browser import shot, sign_in
from tests.web.test_planner_api import UPLOAD

WORDS = {
    "zh": {"title": "夏季高温周", "microwave": "微波炉", "line": "第 6 行", "mistakes": "情景有 4 处错误", "done": "完成",
           "cancelled": "已取消", "baseline": "基准", "mmc": "M/M/c 排队验证站", "units": "3 → 4 台"},
    "en": {"title": "Summer heat-wave week", "microwave": "Microwave", "line": "line 6", "mistakes": "The scenario has 4 mistakes",
           "done": "done", "cancelled": "cancelled", "baseline": "Baseline", "mmc": "M/M/c validation station", "units": "3 → 4"},
}  # fmt: skip


def _open_planner(page: Any, server: str, lang: str) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 360, "height": 800})
    sign_in(page, server, "operator")
    if lang == "en":
        page.click("#lang")
        expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#scenario-values")).to_have_attribute("data-scenario", re.compile(r"\w"), timeout=20_000)


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide on a 360 px phone"


def _start(page: Any, overrides: str, replications: int = 1) -> None:
    page.fill("#run-form textarea[name=overrides]", overrides)
    page.fill("#run-form input[name=replications]", str(replications))
    page.click("#run-form button[type=submit]")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_titles_labels_and_every_mistake_at_once(page: Any, server: str, lang: str) -> None:
    from playwright.sync_api import expect

    words = WORDS[lang]
    _open_planner(page, server, lang)
    options = page.locator("#scenario-choice option")
    texts = options.all_inner_texts()
    assert words["title"] in texts, texts
    assert not [t for t in texts if "_" in t or " / " in t], f"file names or both languages in the dropdown: {texts}"
    page.select_option("#scenario-choice", "summer_heat_wave")
    expect(page.locator("#scenario-values")).to_have_attribute("data-scenario", "summer_heat_wave")
    labels = page.locator("#scenario-values span[data-for]").all_inner_texts()
    assert any(words["microwave"] in label for label in labels), labels
    assert not [label for label in labels if re.search(r"[a-z]+_[a-z]+", label)], f"device ids in the form: {labels}"

    page.set_input_files("#run-form input[name=upload]", files=[{"name": "mine.toml", "mimeType": "text/plain", "buffer": UPLOAD.encode()}])
    page.click("#run-form button[type=submit]")
    problems = page.locator("#run-error li")
    expect(problems).to_have_count(4)
    expect(page.locator("#run-error")).to_contain_text(words["mistakes"])
    expect(problems.nth(1)).to_contain_text(words["line"])  # in the file's order: lines 3, 6, 7, 10
    assert "/work/" not in page.inner_text("#run-error")
    shot(page, f"planner-mistakes-{lang}")
    _no_sideways_scroll(page)
    page.click("#lang")  # said again in the other language, without sending the file again
    other = WORDS["en" if lang == "zh" else "zh"]
    expect(page.locator("#run-error")).to_contain_text(other["mistakes"])
    expect(page.locator("#scenario-choice option:checked")).to_have_text(other["title"])


def test_runs_by_what_changed_compared_against_the_chosen_baseline_and_cancelled(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    words = WORDS["zh"]
    _open_planner(page, server, "zh")
    page.select_option("#scenario-choice", "mmc")
    expect(page.locator("#scenario-values")).to_have_attribute("data-scenario", "mmc")
    _start(page, "scenario.horizon=2h\nscenario.warmup=0s")
    expect(page.locator("li.run")).to_have_count(1)
    _start(page, "scenario.horizon=2h\nscenario.warmup=0s\ndevices.server.units=4")
    expect(page.locator("li.run")).to_have_count(2)
    first, second = page.locator('li.run[data-run="1"]'), page.locator('li.run[data-run="2"]')
    for row in (first, second):
        expect(row.locator(".status")).to_have_text(words["done"], timeout=90_000)
    expect(second.locator(".run-name")).to_contain_text(f"#2 {words['mmc']}")
    expect(second.locator(".run-name")).to_contain_text(words["units"])
    expect(second.locator(".verdict-slot .verdict")).to_be_visible(timeout=10_000)  # the report's verdict box, in the row
    shot(page, "planner-runs-zh")
    _no_sideways_scroll(page)

    page.click("#compare")  # nothing chosen: the page says what to choose, opens nothing
    expect(page.locator("#run-error")).to_have_text(page.evaluate("() => TEXT.zh.choose_baseline"))
    second.locator("label.baseline").click()  # the newer run is the baseline; the older one is measured against it
    first.locator("input.pick").check()
    with page.expect_popup() as opened:
        page.click("#compare")
    report = opened.value
    report.wait_for_load_state()
    assert "baseline=2" in report.url
    text = report.content()
    assert text.index(f"#2 {words['mmc']}") < text.index(f"#1 {words['mmc']}"), "the chosen baseline comes first"
    assert "devices.server.units" not in text
    report.close()

    page.select_option("#scenario-choice", "typical_week")
    expect(page.locator("#scenario-values")).to_have_attribute("data-scenario", "typical_week")
    _start(page, "scenario.horizon=180d\nscenario.warmup=0s", replications=5)  # minutes of work: there is time to cancel
    third = page.locator('li.run[data-run="3"]')
    cancel = third.locator("button.cancel-run")
    expect(cancel).to_be_visible(timeout=10_000)
    cancel.click()
    expect(third.locator(".status")).to_have_text(words["cancelled"], timeout=10_000)
    expect(third.locator("button.cancel-run")).to_have_count(0)
    expect(page.locator("#run-error")).to_have_text("")
