"""The member register on the web and the member's own page: who may do what, the register's rules through HTTP,
the one-time sign-in code (tries, expiry, replay), and the door pass it leads to."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from actors import door_pass
from station.live import LiveStation
from station.settings import Settings
from store.db import sessions
from store.members import door_key
from store.models import AuditEntry, HistoryRow, Member, MemberSession, MemberSignInCode
from tests.web.conftest import as_role
from web import members as web_members
from web.app import create_app
from web.auth import Role
from web.member_page import COOKIE

PHONE = "13800138000"
RIDER = {"name": "王小明", "phone": "+86 138 0013 8000", "worker_group": "骑手", "employer": "美团"}
ROUTES = [
    ("GET", "/api/members"),
    ("GET", "/api/members/1"),
    ("POST", "/api/members"),
    ("PATCH", "/api/members/1"),
    ("POST", "/api/members/1/status"),
    ("DELETE", "/api/members/1"),
    ("POST", "/api/members/1/sign-in-code"),
    ("GET", "/api/members/1/visits"),
]
READS = {("GET", "/api/members"), ("GET", "/api/members/1"), ("GET", "/api/members/1/visits")}


def enrol(client: TestClient, headers: dict[str, str], **values: Any) -> dict[str, Any]:
    response = client.post("/api/members", json={**RIDER, **values}, headers=headers)
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


def code_for(client: TestClient, headers: dict[str, str], member_id: int) -> str:
    response = client.post(f"/api/members/{member_id}/sign-in-code", headers=headers)
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    return code


def sign_in(client: TestClient, code: str, phone: str = PHONE) -> Any:
    return client.post("/api/member/sign-in", json={"phone": phone, "code": code})


@pytest.fixture
def roomy(station: LiveStation) -> Iterator[TestClient]:
    """A client whose per-place pace is out of the way, so a property test's many sign-ins meet only the code's own bounds."""
    settings = Settings(database_url=station.settings.database_url, login_per_minute=1_000_000)
    with TestClient(create_app(settings, station.station, station)) as test_client:
        yield test_client


@pytest.fixture
def custodian(client: TestClient) -> dict[str, str]:
    return as_role(client, Role.CUSTODIAN)


def test_anonymous_is_401_and_each_role_gets_what_it_may(client: TestClient) -> None:
    tokens = {role: as_role(client, role) for role in Role}
    enrol(client, tokens[Role.ADMIN])
    for method, path in ROUTES:
        assert client.request(method, path, json={}).status_code == 401, (method, path)
        assert client.request(method, path, json={}, headers=tokens[Role.OPERATOR]).status_code == 403, (method, path)
        auditor = client.request(method, path, json={}, headers=tokens[Role.AUDITOR]).status_code
        assert (auditor == 200) if (method, path) in READS else (auditor == 403), (method, path, auditor)
    for path in ("/api/member/me", "/api/member/pass", "/api/member/export", "/api/member/visits"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=tokens[Role.ADMIN]).status_code == 403, "a staff session is no member's"


def test_enrol_edit_ban_reactivate_delete_audited_without_name_or_phone(client: TestClient, station: LiveStation) -> None:
    officer = as_role(client, Role.ADMIN)
    member = enrol(client, officer)
    assert member["phone"] == PHONE and member["worker_group"] == "riders" and member["status"] == "active"
    clash = client.post("/api/members", json=RIDER, headers=officer)
    assert clash.status_code == 409 and clash.json()["params"]["problems"][0]["code"] == "phone_enrolled"
    bad = client.post("/api/members", json={"name": "=1+1", "phone": "12345"}, headers=officer)
    assert bad.status_code == 422 and bad.json()["code"] == "member_invalid"
    assert {(p["field"], p["code"]) for p in bad.json()["params"]["problems"]} == {("name", "formula"), ("phone", "phone")}
    changed = client.patch(f"/api/members/{member['id']}", json={"employer": "饿了么"}, headers=officer)
    assert changed.status_code == 200 and changed.json()["employer"] == "饿了么"
    no_reason = client.post(f"/api/members/{member['id']}/status", json={"status": "banned"}, headers=officer)
    assert no_reason.status_code == 422 and no_reason.json()["params"]["problems"][0]["code"] == "reason_needed"
    until = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    banned = client.post(
        f"/api/members/{member['id']}/status", json={"status": "banned", "reason": "打架", "until": until}, headers=officer
    )
    assert banned.status_code == 200 and banned.json()["status"] == "banned" and banned.json()["status_until"]
    bare = client.post(
        f"/api/members/{member['id']}/status", json={"status": "banned", "reason": "x", "until": "2099-01-01T00:00:00"}, headers=officer
    )
    assert bare.status_code == 422, "a bare local time is refused, not guessed"
    back = client.post(f"/api/members/{member['id']}/status", json={"status": "active"}, headers=officer)
    assert back.json()["status"] == "active" and back.json()["status_until"] is None
    found = client.get("/api/members", params={"q": "0013"}, headers=officer).json()
    assert [m["id"] for m in found["members"]] == [member["id"]] and found["next_after"] is None
    assert client.delete(f"/api/members/{member['id']}", headers=officer).status_code == 204
    assert client.get(f"/api/members/{member['id']}", headers=officer).json()["code"] == "member_not_found"
    with sessions(station.db)() as db:
        entries = list(db.scalars(select(AuditEntry).where(AuditEntry.target == f"member:{member['id']}")))
    assert [e.action for e in entries] == [
        "member_enrolled", "member_changed", "member_banned", "member_reactivated", "member_deleted",
    ]  # fmt: skip
    assert not any(word in json.dumps([e.before, e.after]) for e in entries for word in ("王小明", PHONE, "打架"))


def test_pages_of_members(client: TestClient, custodian: dict[str, str]) -> None:
    for n in range(5):
        enrol(client, custodian, name=f"骑手{n}", phone=f"1390000000{n}")
    first = client.get("/api/members", params={"limit": 2}, headers=custodian).json()
    second = client.get("/api/members", params={"limit": 2, "after": first["next_after"]}, headers=custodian).json()
    assert len(first["members"]) == len(second["members"]) == 2
    assert {m["id"] for m in first["members"]}.isdisjoint(m["id"] for m in second["members"])
    assert client.get("/api/members", params={"limit": 501}, headers=custodian).status_code == 422


def test_huge_and_deep_bodies_are_refused(client: TestClient, custodian: dict[str, str]) -> None:
    assert client.post("/api/members", json={**RIDER, "name": "长" * 5000}, headers=custodian).status_code == 422
    json_body = {**custodian, "Content-Type": "application/json"}
    for depth, refused in ((100, 422), (5000, 400)):  # too deep for Python's JSON parser: FastAPI's 400, never a 500
        deep = b'{"name": "x", "phone": "13800138000", "employer": ' + b"[" * depth + b"]" * depth + b"}"
        answer = client.post("/api/members", content=deep, headers=json_body)
        assert answer.status_code == refused and "Traceback" not in answer.text
    huge = client.post(
        "/api/members", content=b'{"name": "' + b"a" * 2_000_000 + b'"}', headers={**custodian, "Content-Type": "application/json"}
    )
    assert huge.status_code == 413


def test_parallel_enrolments_of_one_phone_store_one(client: TestClient, custodian: dict[str, str], station: LiveStation) -> None:
    def attempt(n: int) -> int:
        return client.post("/api/members", json={**RIDER, "name": f"重复{n}"}, headers=custodian).status_code

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(attempt, range(8)))
    assert answers.count(201) == 1 and set(answers) <= {201, 409}, answers
    with sessions(station.db)() as db:
        assert len(list(db.scalars(select(Member).where(Member.phone == PHONE)))) == 1


def test_a_code_signs_in_once_and_the_pass_opens_the_door_once(client: TestClient, custodian: dict[str, str], station: LiveStation) -> None:
    member = enrol(client, custodian)
    code = code_for(client, custodian, member["id"])
    with sessions(station.db)() as db:
        stored = db.get(MemberSignInCode, member["id"])
        assert stored is not None and code not in stored.code_hash, "only a keyed hash of the code is kept"
    signed = sign_in(client, code, phone="138-0013-8000")
    assert signed.status_code == 200, signed.text
    cookie = signed.cookies.get(COOKIE)
    assert cookie and "httponly" in signed.headers["set-cookie"].lower()
    assert client.get("/api/member/me").json()["name"] == "王小明"
    shown = client.get("/api/member/pass").json()
    key = door_key(web_members.station_key(client.app.state.services))  # type: ignore[attr-defined]
    accepted = door_pass.AcceptedPasses()
    checked = door_pass.check(key, station.station.id, shown["text"], datetime.now(UTC).timestamp(), accepted)
    assert isinstance(checked, door_pass.Checked) and checked.member == member["id"]
    door_pass.admit(checked, accepted)
    again = door_pass.check(key, station.station.id, shown["text"], datetime.now(UTC).timestamp(), accepted)
    assert again is door_pass.Refusal.REPLAYED
    assert shown["qr"].startswith("data:image/svg+xml")
    client.cookies.clear()
    assert sign_in(client, code).json()["code"] == "member_code_wrong", "a code is used once"


def test_wrong_codes_are_counted_and_the_fifth_locks_the_code(client: TestClient, custodian: dict[str, str], station: LiveStation) -> None:
    member = enrol(client, custodian)
    code = code_for(client, custodian, member["id"])
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(web_members.CODE_TRIES):
        assert sign_in(client, wrong).status_code == 401
    assert sign_in(client, code).status_code == 401, "after five wrong codes the right one is refused too"
    with sessions(station.db)() as db:
        failed = list(db.scalars(select(AuditEntry).where(AuditEntry.action == "member_sign_in_failed")))
    assert len(failed) == 6 and failed[0].after == {"tries": 1}
    assert sign_in(client, code_for(client, custodian, member["id"])).status_code == 200, "a new code opens again"
    assert sign_in(client, "123456", phone="13900000000").json()["code"] == "member_code_wrong", "an unknown phone: the same answer"
    assert sign_in(client, "123456", phone="12345").status_code == 422


def test_a_code_expires_after_ten_minutes(client: TestClient, custodian: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    member = enrol(client, custodian)
    start = datetime.now(UTC)
    monkeypatch.setattr(web_members, "now", lambda: start)
    code = code_for(client, custodian, member["id"])
    monkeypatch.setattr(web_members, "now", lambda: start + timedelta(minutes=10, seconds=1))
    assert sign_in(client, code).status_code == 401
    monkeypatch.setattr(web_members, "now", lambda: start + timedelta(minutes=9, seconds=59))
    assert sign_in(client, code).status_code == 200


def test_a_member_session_ends_after_its_life(client: TestClient, custodian: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    member = enrol(client, custodian)
    assert sign_in(client, code_for(client, custodian, member["id"])).status_code == 200
    later = datetime.now(UTC) + timedelta(minutes=31)
    monkeypatch.setattr(web_members, "now", lambda: later)
    assert client.get("/api/member/me").status_code == 401


def test_a_banned_or_deactivated_member_gets_the_reason_not_a_pass(client: TestClient, custodian: dict[str, str]) -> None:
    member = enrol(client, custodian)
    assert sign_in(client, code_for(client, custodian, member["id"])).status_code == 200
    for standing, reason in (("banned", "打架"), ("deactivated", None)):
        client.post(f"/api/members/{member['id']}/status", json={"status": standing, "reason": reason}, headers=custodian)
        refused = client.get("/api/member/pass")
        assert refused.status_code == 403 and refused.json()["params"] == {"standing": standing}
    client.post(f"/api/members/{member['id']}/status", json={"status": "active"}, headers=custodian)
    assert client.get("/api/member/pass").status_code == 200


def test_the_member_exports_withdraws_consent_and_is_forgotten(client: TestClient, custodian: dict[str, str], station: LiveStation) -> None:
    other = enrol(client, custodian, name="李四", phone="13900139000")
    member = enrol(client, custodian, face_consent=True, face_consent_on="2026-01-02", face_consent_scope="门禁")
    assert sign_in(client, code_for(client, custodian, member["id"])).status_code == 200
    exported = client.get("/api/member/export")
    assert exported.headers["content-disposition"].startswith("attachment")
    document = exported.json()
    assert document["member"]["id"] == member["id"] and "李四" not in exported.text and other["phone"] not in exported.text
    assert [h["action"] for h in document["history"]][:1] == ["member_enrolled"]
    withdrawn = client.post("/api/member/consent/withdraw").json()
    assert withdrawn["face_consent"] is False and withdrawn["face_consent_on"] is None
    assert client.get(f"/api/members/{member['id']}", headers=custodian).json()["face_consent"] is False
    assert client.delete("/api/member/me").status_code == 204
    assert client.get("/api/member/me").status_code == 401
    with sessions(station.db)() as db:
        assert db.get(Member, member["id"]) is None
        assert list(db.scalars(select(MemberSession).where(MemberSession.member_id == member["id"]))) == []
        actions = [e.action for e in db.scalars(select(AuditEntry).where(AuditEntry.username == f"member:{member['id']}"))]
    assert actions == ["member_signed_in", "member_data_exported", "member_changed", "member_deleted"]


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(guesses=st.lists(st.from_regex(r"[0-9]{6}", fullmatch=True), min_size=1, max_size=4), replays=st.integers(1, 3))
def test_a_code_is_accepted_at_most_once_and_signs_in_its_own_member(roomy: TestClient, guesses: list[str], replays: int) -> None:
    """Whatever is typed around it, a code signs in once, and the pass that follows always names the code's member."""
    client, custodian = roomy, as_role(roomy, Role.CUSTODIAN)
    client.cookies.clear()
    found = client.get("/api/members", params={"q": "13700"}, headers=custodian).json()["members"]
    member = found[0] if found else enrol(client, custodian, phone="13700137000")
    code = code_for(client, custodian, member["id"])
    tries = [g for g in guesses if g != code][: web_members.CODE_TRIES - 1] + [code] * replays
    answers = [sign_in(client, typed, phone="13700137000").status_code for typed in tries]
    assert answers.count(200) == 1
    text = client.get("/api/member/pass").json()["text"]
    assert text.split(".")[2] == str(member["id"])


def _door_decided(station: LiveStation, at: datetime, visit: str | None, reason: str, admitted: bool) -> None:
    """A decision as the live door records it (tests/hardware_bridge/test_door_terminal.py drives the real one)."""
    with sessions(station.db).begin() as db:
        db.add(HistoryRow(station=station.station.id, seq=0, at=at, entity_id="door", name="door_decided", version=0, t=0.0,
                          data={"reason": reason, "admitted": admitted, "visit": visit, "via": "pass", "waited_s": 0.0}))  # fmt: skip


def test_visits_are_linked_by_the_visit_key_alone_and_end_with_the_member(
    client: TestClient, custodian: dict[str, str], station: LiveStation
) -> None:
    first, second = enrol(client, custodian), enrol(client, custodian, name="李四", phone="13900139000")
    with sessions(station.db)() as db:
        keys = {m["id"]: db.get(Member, m["id"]).visit_key for m in (first, second)}  # type: ignore[union-attr]
    now = datetime.now(UTC)
    _door_decided(station, now - timedelta(hours=2), keys[first["id"]], "member", True)
    _door_decided(station, now - timedelta(hours=1), keys[first["id"]], "banned", False)
    _door_decided(station, now, keys[second["id"]], "member", True)
    _door_decided(station, now, None, "replayed", False)
    visits = client.get(f"/api/members/{first['id']}/visits", headers=as_role(client, Role.AUDITOR)).json()
    assert [(v["reason"], v["admitted"]) for v in visits] == [("banned", False), ("member", True)], "newest first, only theirs"
    assert sign_in(client, code_for(client, custodian, first["id"])).status_code == 200
    assert client.get("/api/member/visits").json() == visits
    assert client.get("/api/member/export").json()["visits"] == visits
    log = client.get("/api/station/door-log", headers=custodian).json()
    assert [e["member_name"] for e in log if e["event"] == "door_decided"].count("王小明") == 2
    assert all(e["member"] is None for e in client.get("/api/station/door-log", headers=as_role(client, Role.OPERATOR)).json())
    assert client.delete("/api/member/me").status_code == 204
    after = enrol(client, custodian, name="赵六", phone="13700137000")  # SQLite may give them the deleted member's number
    assert client.get(f"/api/members/{after['id']}/visits", headers=custodian).json() == [], "no one inherits a deleted member's visits"
    names = [e["member_name"] for e in client.get("/api/station/door-log", headers=custodian).json()]
    assert "王小明" not in names and "赵六" not in names


def test_an_unknown_phone_is_answered_as_a_known_one_and_audited_without_the_phone(client: TestClient, station: LiveStation) -> None:
    """The same answer and the same work (a counted try, a hash, an audit entry), so neither the answer nor its time
    tells a stranger whose phone is a member's."""
    unknown = sign_in(client, "123456", phone="13900000000")
    assert unknown.status_code == 401 and unknown.json()["code"] == "member_code_wrong"
    with sessions(station.db)() as db:
        entries = list(db.scalars(select(AuditEntry).where(AuditEntry.action == "member_sign_in_failed")))
    assert [(e.username, e.target) for e in entries] == [("member:unknown", "member:unknown")]
    assert "13900000000" not in json.dumps([e.after for e in entries])


def test_a_code_goes_by_the_stations_sms_command_with_the_phone_never_in_its_arguments(
    station: LiveStation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gateway script stands in for the SMS provider's command: it gets the phone, the code and the text in its
    environment; one that fails leaves the code to be read out; a station without one says so."""
    heard = tmp_path / "sms.json"
    script = tmp_path / "gateway.py"
    script.write_text(
        "import json, os, sys\n"
        "heard = {k: v for k, v in os.environ.items() if k.startswith('YXY_')}\n"
        "heard['argv'] = sys.argv\n"
        f"json.dump(heard, open({str(heard)!r}, 'w'))\n"
        "sys.exit(int(os.environ['YXY_SMS_PHONE'].endswith('9')))\n"
    )
    monkeypatch.setenv("YXY_DATABASE_URL", station.settings.database_url)  # the station's own settings stay its own
    settings = Settings(database_url=station.settings.database_url, sms_command=f"{sys.executable} {script}",
                        public_url="https://yunting.example.cn/")  # fmt: skip
    with TestClient(create_app(settings, station.station, station)) as client:
        custodian = as_role(client, Role.CUSTODIAN)
        member = enrol(client, custodian)
        given = client.post(f"/api/members/{member['id']}/sign-in-code?send=sms", headers=custodian).json()
        assert given["sent_by_sms"] is True
        message = json.loads(heard.read_text())
        assert message["YXY_SMS_PHONE"] == PHONE and message["YXY_SMS_CODE"] == given["code"] and given["code"] in message["YXY_SMS_TEXT"]
        assert "https://yunting.example.cn/m" in message["YXY_SMS_TEXT"]
        assert set(message) == {"YXY_SMS_PHONE", "YXY_SMS_CODE", "YXY_SMS_TEXT", "argv"}, "no YXY_DATABASE_URL or other secret"
        assert PHONE not in " ".join(message["argv"]) and given["code"] not in " ".join(message["argv"])
        assert sign_in(client, given["code"]).status_code == 200, "the code the SMS carried signs in"
        failing = enrol(client, custodian, name="李四", phone="13900139009")
        refused = client.post(f"/api/members/{failing['id']}/sign-in-code?send=sms", headers=custodian).json()
        assert refused["sent_by_sms"] is False and len(refused["code"]) == 6
        assert client.get("/api/station/plan", headers=custodian).json()["sms"] is True
    with TestClient(create_app(Settings(database_url=station.settings.database_url), station.station, station)) as client:
        custodian = as_role(client, Role.CUSTODIAN)
        answer = client.post(f"/api/members/{member['id']}/sign-in-code?send=sms", headers=custodian)
        assert answer.status_code == 409 and answer.json()["code"] == "sms_not_configured"
        assert client.post(f"/api/members/{member['id']}/sign-in-code?send=fax", headers=custodian).status_code == 422
