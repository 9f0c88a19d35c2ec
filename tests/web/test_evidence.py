"""Why a camera raised an alarm (issue 13): the custodian sees the incident behind it (scores, keypoints, the blurred
snapshot), marks it a true or a false alarm (audited before it is written), and the admin exports the verdicts without
any image; nobody else sees any of it, and bad requests say what is wrong; on a phone, in either language and time zone,
the alarm card's "why" shows the blurred snapshot with the keypoints over it and the score, and takes the verdict."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from skimage import data
from sqlalchemy import select

from station.live import LiveStation
from store.db import sessions
from store.models import AuditEntry
from tests.web.conftest import as_role
from tests.web.test_browser import chromium, shot, sign_in
from vision.behaviour import Behaviour
from vision.camera import Step
from vision.pose import PoseModel
from vision.privacy import snapshot
from vision.watch import IncidentReport
from web.auth import Role


def _fall(station: LiveStation) -> tuple[str, str]:
    """A fall on camera ``hall`` as its agent would keep it, and the alarm its policy raises: (alarm id, incident id)."""
    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    people = PoseModel().people(photo)
    now = time.time()
    report = IncidentReport(
        camera="hall", at=now, step=Step.OPENED, behaviour=Behaviour.FALL, number=1, opened_at=now, peak=0.91,
        scores=[(now - 0.4, 0.7), (now, 0.91)],
        keypoints=[{"at": now, "box": list(people[0].box), "keypoints": people[0].keypoints.tolist()}],
        picture=(photo.shape[1], photo.shape[0]), snapshot=snapshot(photo, people),
    )  # fmt: skip
    incident = station.evidence.keep(report)
    bridge = station.bridge
    assert bridge is not None
    alarm = bridge.call(lambda twin: bridge.alarms.raise_("hall", "fall", bridge.clock.now(), f"fall: score 0.91; evidence {incident}"))
    return alarm.id, incident


def test_the_custodian_sees_why_marks_it_and_the_admin_exports_the_verdicts(client: TestClient, station: LiveStation) -> None:
    alarm, incident = _fall(station)
    custodian = as_role(client, Role.CUSTODIAN)
    (seen,) = client.get(f"/api/alarms/{alarm}/evidence", headers=custodian).json()
    assert seen["id"] == incident and seen["behaviour"] == "fall" and seen["snapshot"] and seen["verdict"] is None
    assert [p["score"] for p in seen["scores"]] == [0.7, 0.91] and seen["opened_at"].endswith("Z"), "times in UTC"
    assert len(seen["keypoints"][0]["keypoints"]) == 17 and seen["picture"] == [512, 512]
    picture = client.get(f"/api/evidence/{incident}/snapshot", headers=custodian)
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    assert picture.headers["cache-control"] == "no-store"
    written = cv2.imdecode(np.frombuffer(picture.content, np.uint8), cv2.IMREAD_COLOR)
    detector = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    assert len(detector.detectMultiScale(cv2.cvtColor(written, cv2.COLOR_BGR2GRAY), 1.1, 5, minSize=(30, 30))) == 0

    judged = client.post(f"/api/evidence/{incident}/verdict", json={"alarm": "false"}, headers=custodian)
    assert judged.status_code == 200 and judged.json()["verdict"]["alarm"] == "false"
    assert judged.json()["verdict"]["by"] == "custodian:custodian"
    with sessions(station.db)() as db:
        entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "incident_verdict")).all()
    assert [(e.target, e.after) for e in entries] == [(incident, {"alarm": "false"})]

    export = client.get("/api/evidence/labels", headers=as_role(client, Role.ADMIN))
    assert export.status_code == 200 and export.headers["content-type"].startswith("application/x-ndjson")
    (label,) = [json.loads(line) for line in export.text.splitlines() if line]
    assert label["id"] == incident and label["verdict"]["alarm"] == "false" and "snapshot" not in label


def test_nobody_else_sees_the_evidence(client: TestClient, station: LiveStation) -> None:
    alarm, incident = _fall(station)
    routes = [
        ("GET", f"/api/alarms/{alarm}/evidence", None), ("GET", f"/api/evidence/{incident}/snapshot", None),
        ("POST", f"/api/evidence/{incident}/verdict", {"alarm": "true"}),
    ]  # fmt: skip
    for method, path, body in routes:
        assert client.request(method, path, json=body).status_code == 401, path
        assert client.request(method, path, json=body, headers=as_role(client, Role.AUDITOR)).status_code == 403, path
    for role in (Role.CUSTODIAN, Role.OPERATOR, Role.AUDITOR):
        assert client.get("/api/evidence/labels", headers=as_role(client, role)).status_code == 403
    assert client.get("/api/evidence/labels").status_code == 401


def test_bad_requests_say_what_is_wrong_and_change_nothing(client: TestClient, station: LiveStation) -> None:
    _, incident = _fall(station)
    custodian = as_role(client, Role.CUSTODIAN)
    maybe = client.post(f"/api/evidence/{incident}/verdict", json={"alarm": "maybe"}, headers=custodian)
    assert maybe.status_code == 422 and "alarm" in maybe.text
    extra = client.post(f"/api/evidence/{incident}/verdict", json={"alarm": "true", "by": "someone else"}, headers=custodian)
    assert extra.status_code == 422
    assert client.get(f"/api/evidence/{incident}/snapshot", headers=custodian).status_code == 200
    for wrong in ("..%2F..%2Fetc%2Fpasswd", "hall-1-fall-1", "x" * 200):
        assert client.get(f"/api/evidence/{wrong}/snapshot", headers=custodian).status_code in (404, 422), wrong
        assert client.post(f"/api/evidence/{wrong}/verdict", json={"alarm": "true"}, headers=custodian).status_code in (404, 422)
    assert client.get("/api/alarms/A999/evidence", headers=custodian).status_code == 404
    record = station.evidence.record(incident)
    assert record["verdict"] is None, "no refused request wrote a verdict"


BONES = [(5, 7), (7, 9), (6, 8), (8, 10), (5, 6), (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (0, 5), (0, 6)]
"""The page's skeleton: COCO's limbs and the head to each shoulder."""


@pytest.mark.parametrize(("lang", "zone"), [("zh", "Asia/Shanghai"), ("en", "UTC")])
def test_on_a_phone_the_custodian_opens_why_sees_the_blurred_snapshot_and_marks_a_false_alarm(
    station: LiveStation, server: str, lang: str, zone: str
) -> None:
    from playwright.sync_api import expect

    alarm, incident = _fall(station)
    words = {
        "zh": ("为什么报警", "误报", "custodian 已标记为：误报"),
        "en": ("Why this alarm", "False alarm", "custodian marked it: False alarm"),
    }
    why, false_alarm, said = words[lang]
    record = station.evidence.record(incident)
    station_zone = ZoneInfo(station.station.timezone)
    first_score = datetime.fromtimestamp(record["scores"][0][0], UTC).astimezone(station_zone).strftime("%H:%M:%S")
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 360, "height": 780}, locale="zh-CN", timezone_id=zone).new_page()
        asked: list[str] = []
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: asked.append(request.url) if request.url.endswith("/evidence") else None)
        sign_in(page, server, "custodian")
        if lang == "en":
            page.click("#lang")
        card = page.locator(f'li.alarm[data-alarm="{alarm}"]')
        card.locator("details.why summary").click()
        expect(card.locator("details.why summary")).to_have_text(why)
        shown = card.locator(f'section.incident[data-incident="{incident}"]')
        expect(shown.locator("figure.snapshot img")).to_be_visible(timeout=10_000)
        page.wait_for_function("img => img.complete && img.naturalWidth === 512", arg=shown.locator("figure.snapshot img").element_handle())
        points = record["keypoints"][0]["keypoints"]
        seen = [(a, b) for a, b in BONES if points[a][2] >= 0.2 and points[b][2] >= 0.2]
        assert len(seen) >= 4 and shown.locator("svg.skeleton line").count() == len(seen), "the bones the pose model saw, drawn"
        assert shown.locator("svg.skeleton rect").count() == 1
        assert len(shown.locator(".scores polyline").get_attribute("points").split()) == 2  # type: ignore[union-attr]
        expect(shown.locator(".scores figcaption")).to_contain_text(first_score)  # the station's clock, whatever the browser's zone
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the panel fits a 360 px phone ({width} px wide)"
        shot(page, f"13-why-{lang}")
        shown.get_by_role("button", name=false_alarm).click()
        expect(shown.locator(".verdict .said")).to_have_text(said)
        page.click("#lang")  # the other language: every card is redrawn
        other = "en" if lang == "zh" else "zh"
        again = page.locator(f'li.alarm[data-alarm="{alarm}"] section.incident[data-incident="{incident}"]')
        expect(again.locator(".verdict .said")).to_have_text(words[other][2])  # still open, the verdict kept, in its words
        assert len(asked) == 1, f"a redraw shows what was fetched, it does not ask again: {asked}"
        assert errors == []
    assert station.evidence.record(incident)["verdict"]["alarm"] == "false"
