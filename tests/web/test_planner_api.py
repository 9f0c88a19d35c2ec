"""The planner's API as the page uses it: titles, runs named by what changed, a chosen baseline, every mistake at once."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.hardware_bridge.conftest import wait_for
from tests.web.conftest import as_role
from web.auth import Role
from web.planner import LIBRARY

SHORT = ["scenario.horizon=3h", "scenario.warmup=1h"]
UPLOAD = """extends = "mmc.toml"
[scenario]
replications = 0

[devices.server]
units = 0
service = { dist = "gamma", mean = "80s" }

[needs.serve]
probability = 7
"""
"""Four mistakes: replications (line 3), units (6), the gamma's missing shape (7), a probability of 7 (10)."""


def test_anonymous_and_wrong_roles_are_refused(client: TestClient) -> None:
    for path in ("/api/runs/library", "/api/runs/library/mmc", "/api/runs", "/api/runs/1/verdict", "/api/runs/compare?ids=1&ids=2"):
        assert client.get(path).status_code == 401, path
    assert client.post("/api/runs", json={"scenario": "mmc"}).status_code == 401
    for role in (Role.CUSTODIAN, Role.AUDITOR):
        refused = client.post("/api/runs", json={"scenario": "mmc"}, headers=as_role(client, role))
        assert refused.status_code == 403 and refused.json()["code"] == "role", refused.text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_library_by_title_and_a_scenarios_devices_by_label(client: TestClient, lang: str) -> None:
    operator = as_role(client, Role.OPERATOR)
    library = {s["name"]: s["title"] for s in client.get("/api/runs/library", headers=operator).json()}
    assert library["summer_heat_wave"] == "夏季高温周 / Summer heat-wave week"
    summary = client.get("/api/runs/library/summer_heat_wave", headers=operator).json()
    assert summary["labels"]["microwave"] == "微波炉 Microwave" and summary["units"]["microwave"] == 2
    assert summary["workers"] > 0


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_mistake_at_once_on_its_line_and_no_server_path(client: TestClient, lang: str) -> None:
    operator = as_role(client, Role.OPERATOR)
    answer = client.post("/api/runs", json={"toml": UPLOAD}, headers=operator)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "invalid_scenario" and body["params"]["count"] == 4
    placed = {(p["key"], p["line"], p["code"]) for p in body["params"]["problems"]}
    assert placed == {
        ("scenario.replications", 3, "greater_than_equal"),
        ("devices.server.units", 6, "greater_than_equal"),
        ("devices.server.service.shape", 7, "missing"),
        ("needs.serve.probability", 10, "less_than_equal"),
    }, placed
    assert "line 6: devices.server.units" in body["detail"], "scripts read the same in English"
    assert str(LIBRARY.parent.parent) not in answer.text and "/work/" not in answer.text
    by_override = client.post("/api/runs", json={"scenario": "mmc", "overrides": ["devices.server.units=0", "oops"]}, headers=operator)
    (problem,) = by_override.json()["params"]["problems"]
    assert problem["code"] == "override_form" and problem["line"] is None, "a malformed --set is named, and nothing else is checked"
    by_override = client.post("/api/runs", json={"scenario": "mmc", "overrides": ["devices.server.units=0"]}, headers=operator)
    (problem,) = by_override.json()["params"]["problems"]
    assert (problem["override"], problem["line"]) == ("devices.server.units", None), "the override is blamed, not a line of the file"
    wrong_extends = client.post("/api/runs", json={"toml": 'extends = "/etc/passwd"\n'}, headers=operator)
    assert wrong_extends.status_code == 422 and "/work/" not in wrong_extends.text, wrong_extends.text


def test_huge_and_deep_toml_are_answered_422_with_a_clear_message(client: TestClient) -> None:
    operator = as_role(client, Role.OPERATOR)
    huge = client.post("/api/runs", json={"toml": "# x\n" * 60_000}, headers=operator)
    assert huge.status_code in (413, 422) and "200000" in huge.text.replace(",", ""), huge.text[:300]
    deep = client.post("/api/runs", json={"toml": "[" + ".".join(["t"] * 5_000) + "]\nx = 1"}, headers=operator)
    assert deep.status_code == 422
    (problem,) = deep.json()["params"]["problems"]
    assert (problem["code"], problem["line"], problem["params"]) == ("too_deep", 1, {"most": "32"})
    syntax = client.post("/api/runs", json={"toml": 'extends = "mmc.toml"\n[scenario]\nseed = = 1\n'}, headers=operator)
    assert [(p["code"], p["line"]) for p in syntax.json()["params"]["problems"]] == [("toml", 3)]


def test_runs_are_named_by_what_changed_and_compared_against_the_chosen_baseline(client: TestClient) -> None:
    operator = as_role(client, Role.OPERATOR)
    ids = []
    for extra in ([], ["devices.server.units=4"]):
        started = client.post("/api/runs", json={"scenario": "mmc", "overrides": SHORT + extra, "replications": 2}, headers=operator)
        assert started.status_code == 202, started.text
        ids.append(started.json()["id"])
    queued = client.get(f"/api/runs/{ids[1]}", headers=operator).json()
    assert queued["title"] == "M/M/c 排队验证站 / M/M/c validation station"
    assert queued["changes"]["zh"][-1] == "微波炉 3 → 4 台" or queued["changes"]["zh"][-1].endswith("3 → 4 台"), queued["changes"]
    assert queued["changes"]["en"][-1].endswith("3 → 4"), queued["changes"]
    for run_id in ids:
        wait_for(lambda r=run_id: client.get(f"/api/runs/{r}", headers=operator).json()["status"] == "done", timeout_s=90, what="runs")
    done = client.get(f"/api/runs/{ids[1]}", headers=operator).json()
    assert (done["title"], done["changes"]) == (queued["title"], queued["changes"]), "the same words before and after the run"

    first, second = ids
    for baseline, variant in ((first, second), (second, first)):
        page = client.get(f"/api/runs/compare?ids={first}&ids={second}&baseline={baseline}&lang=en", headers=operator)
        assert page.status_code == 200, page.text[:300]
        assert page.text.index(f"#{baseline} M/M/c validation station") < page.text.index(f"#{variant} M/M/c validation station")
        assert "devices.server.units" not in page.text
    not_among = client.get(f"/api/runs/compare?ids={first}&ids={second}&baseline=99", headers=operator)
    assert not_among.status_code == 422 and not_among.json()["code"] == "baseline_not_compared"
    for bad in ("0", "abc", "-1", str(2**40)):
        assert client.get(f"/api/runs/compare?ids={first}&ids={second}&baseline={bad}", headers=operator).status_code == 422, bad

    boxes = {lang: client.get(f"/api/runs/{second}/verdict?lang={lang}", headers=as_role(client, Role.AUDITOR)) for lang in ("zh", "en")}
    for box in boxes.values():
        assert box.status_code == 200 and 'class="verdict ' in box.text and "<script" not in box.text
    assert boxes["zh"].text != boxes["en"].text
    assert client.get("/api/runs/99999/verdict", headers=operator).status_code == 404
