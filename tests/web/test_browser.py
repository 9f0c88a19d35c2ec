"""The operator view in a real browser (Debian's chromium driven by Playwright) against a live server and emulated devices.

Screenshots are kept in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest
import uvicorn

from hardware_bridge.emulator import EmulatedDevice
from station.live import LiveStation
from station.settings import Settings
from tests.conftest import IN_CI, ROOT
from tests.hardware_bridge.conftest import free_port, wait_for
from tests.web.conftest import PASSWORD
from web.app import create_app, server_config

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]  # fmt: skip


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium under Playwright (never a downloaded one); missing, a skip here and a failure in CI."""
    if not Path(CHROMIUM).exists():
        if IN_CI:
            raise AssertionError("Debian's chromium is required in CI (the test setup installs it)")
        pytest.skip("no chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(server: str) -> Iterator[object]:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 420, "height": 900}, locale="zh-CN")  # a phone
        opened = context.new_page()
        refused: list[str] = []  # what the Content-Security-Policy stopped, in any page or report the test opened
        context.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
        context.on("page", lambda other: other.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None))
        yield opened
    assert refused == [], f"the page broke its own policy: {refused}"


def shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_an_operator_runs_the_station_from_a_phone(page: object, server: str, station: LiveStation, lights: EmulatedDevice) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    bridge = station.bridge
    assert bridge is not None
    page.goto(server)
    expect(page.locator("h1")).to_have_text("云小驿 · 工会驿站")
    page.fill("input[name=username]", "operator")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    card = page.locator("#device-lights")
    try:
        expect(card).to_contain_text("照明", timeout=20_000)  # the first load brings plotly.js (4.8 MB)
    except AssertionError:
        shot(page, "00-not-signed-in")
        raise AssertionError(f"no device cards; the page says: {page.inner_text('body')[:500]!r}") from None
    expect(card.locator("[data-field=on]")).to_have_text("关")
    shot(page, "01-signed-in")

    lights.update({"on": True})  # someone switched them on at the wall: MQTT -> twin -> feed -> page
    expect(card.locator("[data-field=on]")).to_have_text("开")
    spot = page.locator("#spot-lights")  # the floor plan shows it too
    expect(spot).to_have_class("spot on")
    expect(spot.locator("text.status")).to_have_text("开")
    expect(page.locator("#plan g.spot")).to_have_count(len(station.devices))

    assert station.broker is not None
    microwave = EmulatedDevice("yunting", "microwave", "microwave", station.device_broker("microwave"), state={"uses": 0}).start()
    microwave.update({"busy": 2, "queue": 1, "uses": 2})
    # a new device's connection to the embedded broker took over 5 s once under CI's two workers: the page is timed
    # from the moment the twin has the report, which is what the page can be asked to keep up with
    wait_for(lambda: bridge.read(lambda t: t.entity("microwave").reported.get("queue")) == 1, what="the microwave's report")
    expect(page.locator("#spot-microwave text.status")).to_have_text("2/2 · 排队 1")
    expect(page.locator("#spot-microwave")).to_have_class("spot queued")
    microwave.stop()
    expect(page.locator("#busiest-chart .main-svg").first).to_be_attached()
    expect(page.locator("#today-day")).to_contain_text("Asia/Shanghai")

    card.locator("h3").click()  # the device's page: its fields and history
    expect(page.locator("#device-detail")).to_be_visible()
    expect(page.locator("#detail-title")).to_contain_text("lights")
    expect(page.locator("#detail-fields")).to_contain_text("电源")
    page.fill("#detail-controls input[name=brightness_pct]", "40")  # the device page's controls, made from what lights take
    page.click("#detail-controls button[type=submit]")
    expect(page.locator("#detail-command")).to_have_text("operator 下发 · 设备已执行", timeout=10_000)  # who, and its fate
    assert lights.state["brightness_pct"] == 40, "the emulated lights were dimmed"
    page.click("#detail-close")
    expect(page.locator("#device-detail")).to_be_hidden()

    for obeys_no_power in ("door", "aed", "microwave"):  # a switch only where the kind obeys "on" (its registry entry)
        expect(page.locator(f"#device-{obeys_no_power} button.switch")).to_have_count(0)
    expect(page.locator("#device-ac button.switch")).to_have_count(1)
    card.locator("button.switch").click()  # switch them off from the phone
    expect(card.locator(".command")).to_have_text("operator 下发 · 设备已执行", timeout=10_000)
    expect(card.locator("[data-field=on]")).to_have_text("关")
    assert lights.state["on"] is False, "the emulated lights obeyed"
    shot(page, "02-lights-switched")

    expect(page.locator("#station-clock")).to_contain_text("站内时间")
    expect(page.locator("#station-clock em")).to_have_count(0)  # the wall's clock: no "emulated" mark

    door = EmulatedDevice("yunting", "door", "door", station.device_broker("door"), state={"occupancy": 1}).start()
    door.event("worker_entered", {"worker": "m-9", "group": "riders"})
    expect(page.locator("#door-log li").first).to_contain_text("进站 m-9", timeout=15_000)
    page.locator("#device-door h3").click()  # the door has not said whether it is locked: the form must not guess "yes"
    expect(page.locator("#detail-controls select[name=locked]")).to_have_value("")
    page.click("#detail-controls button[type=submit]")  # pressed as it came: nothing is sent
    page.wait_for_timeout(500)
    assert "locked" not in door.state and not [c for c in bridge.read(lambda t: list(t.commands.values())) if c.entity_id == "door"]
    page.click("#detail-close")
    door.stop()

    bridge.call(lambda twin: bridge.alarms.raise_("fridge", "over_temperature", 0.0, "<img src=x onerror=alert(1)>8.5 °C"))
    alarm = page.locator("li.alarm")
    expect(alarm).to_contain_text("温度过高")
    expect(alarm.locator(".reason")).to_have_text("<img src=x onerror=alert(1)>8.5 °C")  # shown as text, never run
    expect(alarm.locator(".age")).to_have_text("刚刚")
    alarm.locator("button[data-step=acknowledge]").click()
    expect(alarm.locator(".state")).to_have_text("已确认")
    alarm.locator("input[name=note]").fill("门没关好")
    alarm.locator("button[data-step=note]").click()
    expect(alarm.locator(".thread li")).to_have_count(3)
    expect(alarm.locator(".thread li").last).to_contain_text("operator 备注: 门没关好")
    shot(page, "03-alarm-acknowledged")
    alarm.locator("button[data-step=clear]").click()
    expect(page.locator("#alarms li.alarm")).to_have_count(0)
    expect(page.locator("#no-alarms")).to_be_visible()
    page.locator("#closed-alarms summary").click()  # closed, not gone: its thread is in the history
    expect(page.locator("#closed-list li.alarm").first).to_contain_text("关闭告警", timeout=15_000)
    expect(page.locator("#closed-list li.alarm").first).to_contain_text("门没关好")

    page.select_option("#scenario-choice", "rainstorm_day")
    expect(page.locator("#scenario-values")).to_have_attribute("data-scenario", "rainstorm_day")  # its values are in the form
    expect(page.locator("#scenario-values input[data-key='devices.microwave.units']")).to_have_value("2")
    page.fill("#scenario-values input[data-key='devices.microwave.units']", "1")  # the form, not typed keys
    page.fill("#run-form input[name=replications]", "2")
    page.fill("#run-form textarea[name=overrides]", "scenario.horizon=6h\nscenario.warmup=1h")
    page.click("#run-form button[type=submit]")
    run = page.locator("li.run").first
    expect(run.locator(".status")).to_have_text("完成", timeout=60_000)
    runs = station_runs(station)
    assert runs[-1] == ["devices.microwave.units=1", "scenario.horizon=6h", "scenario.warmup=1h"], runs
    with page.context.expect_page() as opened:
        run.locator("a").click()
    report = opened.value
    report.wait_for_load_state()
    expect(report.locator("h1")).to_contain_text("暴雨日")
    shot(report, "05-run-report")
    shot(page, "05-planner")
    # Minutes of work however fast the engine gets: a year, eight times (a fresh-clone run once saw 180 days twice end
    # before the cancel arrived).
    page.fill("#run-form input[name=replications]", "8")
    page.fill("#run-form textarea[name=overrides]", "scenario.horizon=366d\nscenario.warmup=0")
    page.click("#run-form button[type=submit]")
    long_run = page.locator("li.run").first
    expect(long_run.locator(".status")).to_have_text(re.compile("排队中|运行中"))
    long_run.locator("button.cancel-run").click()
    expect(long_run.locator(".status")).to_have_text("已取消", timeout=15_000)
    expect(long_run.locator("button.cancel-run")).to_have_count(0)

    page.click("#lang")
    expect(page.locator("h1")).to_have_text("Yunxiaoyi union station")
    expect(card.locator("[data-field=on]")).to_have_text("off")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shot(page, "04-english")
    assert {f"0{n}" for n in range(1, 6)} <= {name[:2] for name in os.listdir(ARTIFACTS)}


def sign_in(page: object, server: str, username: str, password: str = PASSWORD) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(server)
    page.fill("#login-form input[name=username]", username)
    page.fill("#login-form input[name=password]", password)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#station")).to_be_visible(timeout=20_000)


def test_an_officer_manages_accounts_and_an_auditor_only_reads(page: object, server: str, lights: EmulatedDevice) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    sign_in(page, server, "admin")
    form = page.locator("#staff-form")
    form.locator("input[name=username]").fill("night-li")
    form.locator("input[name=display_name]").fill("夜班 李")
    form.locator("select[name=role]").select_option("custodian")
    form.locator("input[name=password]").fill("night shift passphrase")
    form.locator("button[type=submit]").click()
    row = page.locator("#staff-list tr[data-user=night-li]")
    expect(row.locator("select.role")).to_have_value("custodian")
    row.locator("select.role").select_option("operator")  # a change of role
    expect(page.locator("#audit-list li").first).to_contain_text("修改账户")  # user_changed, in words
    expect(row.locator("select.role")).to_have_value("operator")
    row.locator("button.standing").click()  # deactivate
    expect(row).to_have_class("inactive")
    page.locator("#staff-list tr[data-user=admin] select.role").select_option("auditor")  # the last admin: refused, and said why
    expect(page.locator("#staff-message")).to_have_text("admin 是最后一位在职管理员，请先设置另一位管理员")  # in the page's language
    expect(page.locator("#audit-list")).to_contain_text("修改账户")
    shot(page, "06-staff")
    page.click("#logout")
    expect(page.locator("#login")).to_be_visible()  # signed out and reloaded; a navigation now would race the reload

    sign_in(page, server, "auditor")
    expect(page.locator("#device-lights h3")).to_contain_text("照明")
    expect(page.locator("#device-lights button.switch")).to_have_count(0)
    expect(page.locator("#run-form")).to_be_hidden()
    expect(page.locator("#staff")).to_be_hidden()
    expect(page.locator("#audit-list li").first).to_be_visible()


def test_nothing_comes_from_a_cdn(server: str) -> None:
    for path in ("/", "/docs"):
        with urlopen(f"{server}{path}") as page:
            html = page.read().decode()
        assert "http://" not in html and "https://" not in html, path
        for asset in re.findall(r"(?:src|href)=['\"]([^'\"]+)['\"]", html):
            with urlopen(f"{server}{asset}") as answer:
                assert answer.status == 200, asset
    with urlopen(server) as page:
        plotly = re.search(r'<meta name="yxy-plotly" content="(/static/[0-9a-f]{16}/plotly\.min\.js)">', page.read().decode())
    assert plotly is not None, "the page names the plotly.js it loads on demand"
    with urlopen(f"{server}{plotly.group(1)}") as script:
        assert script.status == 200 and len(script.read()) > 1_000_000


def test_the_api_docs_render_offline(page: object, server: str) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(server) else None)
    page.goto(f"{server}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("云小驿", timeout=20_000)
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    assert outside == [], f"the docs asked the outside world for {outside}"


def station_runs(station: LiveStation) -> list[list[str]]:
    from sqlalchemy import text

    with station.db.connect() as db:
        return [
            json.loads(row[0]) if isinstance(row[0], str) else row[0]
            for row in db.execute(text("select overrides from planner_run order by id"))
        ]


@pytest.mark.parametrize("browser_zone", ["UTC", "Asia/Shanghai", "America/New_York"])
def test_every_time_is_the_stations_whatever_zone_the_browser_is_in(server: str, station: LiveStation, browser_zone: str) -> None:
    """The door log, the audit log, an alarm and a chart all read the station's clock (Asia/Shanghai), the same
    digits in a browser set to UTC as in one set to Shanghai: activity at 12:40 is drawn at 12:40, not 04:40."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from playwright.sync_api import expect

    from twin.alarm import Severity

    bridge = station.bridge
    assert bridge is not None
    shanghai = ZoneInfo(station.station.timezone)

    def on_the_station_clock(moment: str, with_day: bool) -> str:
        instant = datetime.fromisoformat(moment)
        assert instant.utcoffset() is not None, f"{moment!r} says no offset: a browser would read it as its own"
        return instant.astimezone(shanghai).strftime("%Y-%m-%d %H:%M:%S" if with_day else "%H:%M:%S")

    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", timezone_id=browser_zone).new_page()
        sign_in(page, server, "admin")
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == browser_zone
        bridge.call(lambda twin: twin.record("door", bridge.clock.now(), "worker_entered", {"worker": "w.1", "group": "riders"}))
        bridge.call(lambda twin: bridge.alarms.raise_("fridge", "over_temperature", bridge.clock.now(), "9 °C", Severity.WARNING))
        for selector, with_day in (("#door-log li time", False), ("#audit-list li time", True), ("#alarms li time", True)):
            shown = page.locator(selector).first
            expect(shown).to_be_visible(timeout=10_000)
            moment = shown.get_attribute("datetime")
            assert moment is not None
            assert shown.inner_text() == on_the_station_clock(moment, with_day), (selector, browser_zone)
        # plotly.js comes on demand; a string predicate would be eval'd while polling, which the page's CSP forbids
        expect(page.locator("#occupancy-chart .main-svg").first).to_be_attached(timeout=20_000)
        drawn_to = page.evaluate("document.querySelector('#occupancy-chart').layout.xaxis.range[1]")
        now_there = datetime.now(shanghai).replace(tzinfo=None)
        assert abs((datetime.fromisoformat(str(drawn_to)[:19]) - now_there).total_seconds()) < 120, (drawn_to, now_there)
        shot(page, f"07-times-browser-in-{browser_zone.replace('/', '-')}")


class Restartable:
    """The web server alone stopped and started again on the same port, the live station carrying on behind it."""

    def __init__(self, station: LiveStation) -> None:
        self.station = station
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._running: tuple[uvicorn.Server, threading.Thread] | None = None

    def start(self) -> None:
        settings = Settings(database_url=self.station.settings.database_url)
        server = uvicorn.Server(server_config(create_app(settings, self.station.station, self.station), settings, "127.0.0.1", self.port))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_for(lambda: server.started, what="the web server up")
        self._running = (server, thread)

    def stop(self) -> None:
        if self._running is not None:
            server, thread = self._running
            server.should_exit = True
            thread.join(10)
            self._running = None


def test_the_page_says_when_the_server_is_gone_and_resumes_where_it_was(station: LiveStation, lights: EmulatedDevice) -> None:
    from playwright.sync_api import expect

    web = Restartable(station)
    web.start()
    try:
        with chromium() as browser:
            page = browser.new_context(viewport={"width": 360, "height": 780}, locale="zh-CN").new_page()
            sign_in(page, web.url, "custodian")
            banner, power = page.locator("#connection"), page.locator("#device-lights [data-field=on]")
            expect(banner).to_be_hidden()
            before = power.inner_text()
            web.stop()
            expect(banner).to_be_visible(timeout=10_000)
            expect(banner).to_contain_text(re.compile("无法连接服务器|实时数据已中断"))
            expect(page.locator("body")).to_have_class(re.compile("stale"))
            shot(page, "07-server-gone")
            lights.update({"on": not lights.state.get("on", False)})  # while the page cannot hear it
            web.start()
            expect(banner).to_be_hidden(timeout=15_000)
            expect(page.locator("body")).not_to_have_class(re.compile("stale"))
            expect(power).not_to_have_text(before, timeout=10_000)  # the change it missed, from where it left off
    finally:
        web.stop()


def test_a_socket_that_goes_quiet_is_called_silent_and_replaced(page: object, server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection a proxy or a phone's radio has left half-open says nothing, not even the 5 s heartbeat: after 15 s
    the page says so, greys what it shows and opens a new socket (which, heartbeats back, clears the banner)."""
    from playwright.sync_api import Page, expect

    from web import feed as feed_module

    assert isinstance(page, Page)
    monkeypatch.setattr(feed_module, "HEARTBEAT_S", 3600.0)  # the server keeps the socket open and says nothing
    sign_in(page, server, "custodian")
    banner = page.locator("#connection")
    expect(banner).to_be_hidden()
    page.wait_for_timeout(12_000)
    expect(banner).to_be_hidden()  # 12 s of quiet is not yet silence
    expect(banner).to_have_text("已超过 15 秒没有收到服务器的消息，正在重新连接…", timeout=6_000)
    expect(page.locator("body")).to_have_class(re.compile("stale"))
    monkeypatch.setattr(feed_module, "HEARTBEAT_S", 1.0)  # the new socket hears the server again
    expect(banner).to_be_hidden(timeout=10_000)
    expect(page.locator("body")).not_to_have_class(re.compile("stale"))
