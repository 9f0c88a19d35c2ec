"""The station's supplies live (issue 14): the custodian counts and moves stock on the web, the water dispenser's counted
uses over MQTT take cups off the shelf, a use the shelf cannot cover raises the stock-out alarm on the alarm page at
once, and moving stock clears it; the auditor changes nothing, and bad moves say what is wrong."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hardware_bridge.emulator import EmulatedDevice
from station.live import LiveStation
from store.db import sessions
from store.models import AuditEntry, SupplyMove
from tests.hardware_bridge.conftest import wait_for
from tests.web.conftest import PASSWORD, as_role, serve
from tests.web.test_books_page import _desk
from tests.web.test_browser import ARTIFACTS, chromium
from web.auth import Role


def _alarms(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    """The active stock alarms on the alarm page: type by alarm source."""
    shown = client.get("/api/alarms", headers=headers).json()
    return {a["type"]: a["severity"] for a in shown if a["source"] == "supplies:cups" and a["state"] != "cleared"}


def test_device_uses_empty_the_shelf_and_the_alarm_page_says_so(client: TestClient, station: LiveStation) -> None:
    custodian, operator, auditor = (as_role(client, role) for role in (Role.CUSTODIAN, Role.OPERATOR, Role.AUDITOR))
    (cups,) = [s for s in client.get("/api/supplies", headers=auditor).json() if s["id"] == "cups"]
    assert cups["counted"] is False and cups["alarms"] == [] and cups["per_use"] == {"water": 1, "coffee": 1}
    assert _alarms(client, custodian) == {}, "a shelf never counted raises nothing"

    for place, quantity in (("water_corner", 3), ("storeroom", 500)):
        counted = client.post("/api/supplies/cups/moves", json={"kind": "counted", "quantity": quantity, "place": place}, headers=custodian)
        assert counted.status_code == 200, counted.text
    assert counted.json()["total"] == 503 and counted.json()["alarms"] == []

    assert station.broker is not None
    water = EmulatedDevice("yunting", "water", "water_dispenser", station.device_broker("water"), report_interval_s=0.5,
                           state={"uses": 10}).start()  # fmt: skip
    try:
        wait_for(lambda: station.bridge is not None and station.bridge.read(lambda t: t.entity("water").reported.get("uses")) == 10,
                 what="the dispenser's first count")  # fmt: skip
        water.update({"uses": 15})  # five people drew water: five cups, and the corner held three
        wait_for(lambda: "stock_out" in _alarms(client, custodian), timeout_s=15, what="the stock-out alarm")
    finally:
        water.stop()
    assert _alarms(client, custodian) == {"stock_out": "critical"}
    (cups,) = [s for s in client.get("/api/supplies", headers=auditor).json() if s["id"] == "cups"]
    assert cups["places"] == {"water_corner": 0, "storeroom": 500} and cups["alarms"] == ["stock_out"]
    with sessions(station.db)() as db:
        used = db.scalars(select(SupplyMove).where(SupplyMove.kind == "used")).all()
    assert [(m.delta, m.short, m.by) for m in used] == [(-3, 2, "device:water")], "two cups asked for were not there"

    refill = {"kind": "moved", "quantity": 200, "place": "storeroom", "to": "water_corner", "note": "补到饮水角"}
    moved = client.post("/api/supplies/cups/moves", headers=operator, json=refill)
    assert moved.status_code == 200 and moved.json()["places"] == {"water_corner": 200, "storeroom": 300}
    assert moved.json()["alarms"] == [] and _alarms(client, custodian) == {}, "moved to the corner: the alarm clears"
    with sessions(station.db)() as db:
        audited = list(db.scalars(select(AuditEntry).where(AuditEntry.action == "supply_moved")))
    assert [e.target for e in audited] == ["supply:cups"] * 3
    assert audited[-1].after["note_chars"] == 5 and "补到饮水角" not in str([e.after for e in audited]), "the note stays with the move"
    too_many = client.post("/api/supplies/cups/moves", headers=operator, json={**refill, "quantity": 301})
    assert too_many.status_code == 422 and too_many.json()["params"] == {"place": "storeroom", "there": 300, "unit": "个 cups"}
    nowhere = client.post("/api/supplies/cups/moves", headers=operator, json={"kind": "moved", "quantity": 1, "place": "storeroom"})
    assert nowhere.status_code == 422 and nowhere.json()["params"] == {"place": ""}, "a move without where to: said, not 'None'"


def test_the_auditor_changes_nothing_and_bad_moves_say_what_is_wrong(client: TestClient) -> None:
    custodian, auditor = as_role(client, Role.CUSTODIAN), as_role(client, Role.AUDITOR)
    assert client.post("/api/supplies/cups/moves", json={"kind": "used", "quantity": 1}, headers=auditor).status_code == 403
    unknown = client.post("/api/supplies/soap/moves", json={"kind": "used", "quantity": 1}, headers=custodian)
    assert unknown.status_code == 404 and unknown.json()["code"] == "supply_unknown"
    wrong_place = client.post("/api/supplies/cups/moves", json={"kind": "used", "quantity": 1, "place": "roof"}, headers=custodian)
    assert wrong_place.status_code == 422 and wrong_place.json()["params"] == {"place": "roof"}
    nought = client.post("/api/supplies/cups/moves", json={"kind": "delivered", "quantity": 0}, headers=custodian)
    assert nought.status_code == 422 and nought.json()["code"] == "supply_quantity"
    for body in ({"kind": "stolen", "quantity": 1}, {"kind": "used", "quantity": 10**7}, {"kind": "used", "quantity": "1"},
                 {"kind": "used", "quantity": 1, "note": "x" * 201}):  # fmt: skip
        assert client.post("/api/supplies/cups/moves", json=body, headers=custodian).status_code == 422, body
    returned = client.post("/api/supplies/cups/moves", json={"kind": "returned", "quantity": 1}, headers=custodian)
    assert returned.status_code == 422 and returned.json()["code"] == "supply_not_lent"
    lent = client.post("/api/supplies/umbrellas/moves", json={"kind": "lent", "quantity": 1}, headers=custodian)
    assert lent.status_code == 200 and lent.json()["short"] == 1 and lent.json()["alarms"] == ["stock_out"], lent.text
    assert client.get("/api/supplies/cups/moves", headers=auditor).json() == []


@pytest.mark.parametrize(("lang", "zone"), [("zh", "Asia/Shanghai"), ("en", "UTC")])
def test_the_custodian_sees_the_shelves_and_records_a_delivery_on_a_phone(station: LiveStation, lang: str, zone: str) -> None:
    from playwright.sync_api import expect

    words = {"zh": ("纸杯", "缺货", "到货", "已登记"), "en": ("Paper cups", "out", "delivered", "Recorded")}[lang]
    with contextmanager(serve)(station) as server, chromium() as browser:
        with httpx.Client(base_url=server) as web:
            token = web.post("/api/auth/token", json={"username": "custodian", "password": PASSWORD}).json()["token"]
            lent = web.post("/api/supplies/cups/moves", json={"kind": "used", "quantity": 2}, headers={"Authorization": f"Bearer {token}"})
            assert lent.json()["alarms"] == ["stock_out"]
        desk = _desk(browser, server, "custodian", lang, zone)
        card = desk.locator("#supply-list li[data-supply=cups]")
        expect(card).to_contain_text(words[0], timeout=20_000)
        expect(card).to_contain_text(words[1])
        expect(desk.locator("#alarms")).to_contain_text(words[0], timeout=10_000)  # the alarm names the item, not its source id
        form = desk.locator("#supply-form")
        form.locator("select[name=item]").select_option("cups")
        form.locator("select[name=kind]").select_option("delivered")
        form.locator("input[name=quantity]").fill("600")
        form.locator("button[type=submit]").click()
        expect(desk.locator("#supply-message")).to_contain_text(words[3])
        expect(card).not_to_contain_text(words[1], timeout=10_000)
        width = desk.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360, f"the staff page is {width} px wide on a 360 px phone"
        ARTIFACTS.mkdir(exist_ok=True)
        desk.locator("#supplies").screenshot(path=str(ARTIFACTS / f"supplies-{lang}.png"))


def test_the_months_stars_count_a_stock_out_and_the_report_plots_them(client: TestClient, station: LiveStation) -> None:
    operator = as_role(client, Role.OPERATOR)
    fresh = client.get("/api/stars", headers=operator)
    assert fresh.status_code == 200 and fresh.json()["stars"] == 5 and fresh.json()["projected_stars"] == 5, fresh.text
    used = client.post("/api/supplies/cups/moves", json={"kind": "used", "quantity": 3}, headers=operator)
    assert used.json()["alarms"] == ["stock_out"]
    later = client.get("/api/stars", headers=operator).json()
    assert later["stars"] == 5 and later["stock_out_hours"]["cups"] < 0.01, "out for a moment: no star off yet"
    today = datetime.now(ZoneInfo(station.station.timezone))
    ends_in = (today.replace(day=28) + timedelta(days=4)).replace(day=1, hour=0, minute=0, second=0, microsecond=0) - today
    if ends_in > timedelta(hours=station.station.rating.stock_out_hours):
        assert "stock_out" in later["projected_missed"], "left out until the month's end, the stock-out costs a star"
    report = client.get("/api/stars/report", params={"lang": "en"}, headers=operator)
    assert report.status_code == 200 and "sandbox" in report.headers["content-security-policy"]
    assert "stars-stock-out" in report.text and "Hours out of stock" in report.text and "Paper cups" in report.text
    assert client.get("/api/stars", params={"month": "2999-01"}, headers=operator).json()["code"] == "stars_future"
    assert client.get("/api/stars").status_code == 401
