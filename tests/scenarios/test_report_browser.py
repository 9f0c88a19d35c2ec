"""The report as a chairman opens it: on a 360 px phone, in Chinese or English, in Shanghai or in UTC, and printed.

Debian's chromium under Playwright opens the file itself (as from an email or a chat), so
what is checked is what the inlined plotly.js and stylesheet make of it.  Screenshots go
to test-artifacts/ for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scenarios.report import write_report
from scenarios.results import simulate
from scenarios.schema import load_scenario
from tests.web.test_browser import ARTIFACTS, chromium

PHONE = {"width": 360, "height": 780}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    document = simulate(load_scenario("scenarios/library/typical_week.toml", ["scenario.horizon=2d", "devices.microwave.units=1"]), 2)
    folder = tmp_path_factory.mktemp("reports")
    paths = {lang: folder / f"report_{lang}.html" for lang in ("zh", "en")}
    for lang, path in paths.items():
        write_report(document, path, lang)
    return paths


def _open(browser: Any, path: Path, zone: str, media: str = "screen") -> tuple[Any, list[str]]:
    context = browser.new_context(viewport=PHONE, timezone_id=zone, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Nothing leaves the file: the vendored plotly.js names cdn.plot.ly only as the default of map traces it lacks.
    page.on("request", lambda request: None if request.url.split(":")[0] in ("file", "data", "blob") else errors.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.emulate_media(media=media)
    page.goto(path.as_uri())
    page.wait_for_function("[...document.querySelectorAll('.chart')].every((chart) => chart.querySelector('.main-svg'))")
    return page, errors


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_verdict_box_opens_the_report_on_a_phone(report: dict[str, Path], lang: str) -> None:
    with chromium() as browser:
        page, errors = _open(browser, report[lang], "Asia/Shanghai")
        assert errors == []
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "nothing scrolls sideways"
        box = page.locator("div.verdict").bounding_box()
        assert box is not None and box["y"] + box["height"] < PHONE["height"], "the verdict is on the first screen"
        headline = page.locator("div.verdict .headline").inner_text()
        assert headline.startswith({"zh": ("达标", "未达标", "尚难判断"), "en": ("Meets", "Misses", "Not yet")}[lang])
        # A table row is a card: each value beside its column's name, not a row scrolled off the screen.
        cell = page.locator("#kpi-resources td").first
        assert cell.evaluate("(td) => getComputedStyle(td, '::before').content").strip('"') in {"数量", "Units"}
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#verdict").screenshot(path=str(ARTIFACTS / f"report-verdict-phone-{lang}.png"))


def test_dates_read_the_same_in_shanghai_and_in_utc(report: dict[str, Path]) -> None:
    """The report's times are the station's (naive, as simulated): the reader's own zone must not shift them."""
    ticks = {}
    with chromium() as browser:
        for zone in ("Asia/Shanghai", "UTC"):
            page, errors = _open(browser, report["zh"], zone)
            assert errors == []
            ticks[zone] = page.locator("#fig-queue .xtick text, #fig-battery-0 .xtick text").all_text_contents()
    assert ticks["UTC"] == ticks["Asia/Shanghai"]
    assert ticks["UTC"] and all("月" in tick for tick in ticks["UTC"]), ticks  # 4月13日, not Apr 13


def test_printed_the_report_drops_the_contents_and_the_button(report: dict[str, Path]) -> None:
    with chromium() as browser:
        page, errors = _open(browser, report["zh"], "Asia/Shanghai", media="print")
        assert errors == []
        assert page.locator("nav").is_hidden() and page.locator("#print").is_hidden()
        assert page.locator("div.verdict").is_visible()
        assert len(page.pdf(format="A4")) > 10_000
