"""Every word the page shows exists in Chinese and in English, in the one catalog: the page's texts, device kinds,
roles and states."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from actors.registry import DEVICE_KINDS
from scenarios.i18n import LANGUAGES, TEXT
from scenarios.schema import load_scenario
from store.duties import KINDS as INCIDENT_KINDS
from store.feedback import CATEGORIES
from store.feedback import Status as FeedbackStatus
from store.spending import Status as SpendingStatus
from store.supplies import STOCK_LOW, STOCK_OUT, MoveKind
from tests.conftest import LIBRARY, ROOT
from twin.alarm import AlarmState, Severity
from twin.entity import CommandState
from web.app import STATIC
from web.auth import Role


def keys(language: str) -> set[str]:
    return set(TEXT[language])


def test_both_languages_have_the_same_words() -> None:
    assert keys("zh") == keys("en")
    assert len(keys("zh")) > 300
    blank = [(language, key) for language in LANGUAGES for key, text in TEXT[language].items() if not text.strip()]
    # The space between a number and its unit: none in Chinese; a Chinese measure word ("2 台"): none in English.
    classifiers = [("en", key) for key in TEXT["en"] if key == "measure" or key.startswith("measure.")]
    assert len(classifiers) >= 5 and all(TEXT["zh"][key].strip() for _, key in classifiers)
    assert sorted(blank) == sorted([("zh", "unit.sep"), ("en", "unit.sep"), *classifiers])


def test_the_page_reads_the_one_catalog_from_the_server(client: TestClient) -> None:
    """Anonymous (the sign-in form needs it), revalidated by its ETag, and exactly the catalog the reports use."""
    response = client.get("/i18n.js")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
    prefix, body = response.text.split("=", 1)
    assert prefix.strip() == "const TEXT" and json.loads(body.strip().removesuffix(";")) == TEXT
    again = client.get("/i18n.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert not (STATIC / "i18n.js").exists(), "a second catalog for the page"


def test_every_text_the_page_and_its_script_ask_for_exists() -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    script = "\n".join((STATIC / name).read_text(encoding="utf-8") for name in PAGE_SCRIPTS)
    asked = set(re.findall(r'data-i18n="(\w+)"', html)) | set(re.findall(r'\bt\("(\w+)"\)', script))
    asked |= set(re.findall(r'\btf\("(\w+)"', script))  # with {placeholders} filled
    assert asked - keys("zh") == set()


LIBRARY_ALARMS = {m for f in LIBRARY.glob("*.toml") for m in re.findall(r'^alarm = "(\w+)"', f.read_text(encoding="utf-8"), re.MULTILINE)}
AUTOMATION_REASONS = set(re.findall(r'"why": "(\w+)"', (ROOT / "actors" / "automation.py").read_text(encoding="utf-8")))
PAGE_SCRIPTS = ("app.js", "funds.js", "supplies.js", "complaints.js", "stars.js", "duties.js")
"""The staff page's scripts: every text they ask for must be in the catalog."""
WEB_SOURCE = "\n".join(f.read_text(encoding="utf-8") for f in (ROOT / "web").glob("*.py"))
AUDITED = (
    set(re.findall(r'audit\(\s*\w+,\s*\w+,\s*\w+,\s*"(\w+)"', WEB_SOURCE))
    | set(re.findall(r'_record\(db, "(\w+)"', WEB_SOURCE))
    | {f"alarm_{step}{refused}" for step in ("acknowledge", "assign", "note", "clear") for refused in ("", "_refused")}
)
DUTY_REFUSALS = set(re.findall(r'DutyError\(\s*"(\w+)"', (ROOT / "store" / "duties.py").read_text(encoding="utf-8")))
SUPPLY_REFUSALS = set(re.findall(r'SupplyError\(\s*"(\w+)"', (ROOT / "store" / "supplies.py").read_text(encoding="utf-8")))
SPENDING_REFUSALS = set(re.findall(r'SpendingError\(\s*"(\w+)"', (ROOT / "store" / "spending.py").read_text(encoding="utf-8"))) | {
    "spending_memo",
    "spending_reason",  # made from where a text is wrong (store/spending.py _check_memo)
}
REFUSALS = set(re.findall(r'Refused\(\s*status\.\w+,\s*"(\w+)"', WEB_SOURCE)) | set(re.findall(r'"code": "(\w+)"', WEB_SOURCE))
MADE_AT_RUN_TIME = (
    [f"kind.{k}" for k in DEVICE_KINDS]
    + [f"role_{r.value}" for r in Role]
    + [s.value for s in CommandState]
    + [s.value for s in AlarmState]
    + ["queued", "running", "done", "failed"]  # planner runs
    + [f"alarm_{a}" for a in sorted(LIBRARY_ALARMS | {"offline"})]  # the library's alarm types, and the offline rule's
    + [f"alarm_advice_{a}" for a in sorted(LIBRARY_ALARMS | {"offline"})]  # what to do about each
    + [f"severity_{s.value}" for s in Severity]
    + [f"step_{s}" for s in ("raised", "reopened", "acknowledged", "assigned", "noted", "escalated", "cleared")]
    + [f"rule_{r}" for r in ("lights_by_occupancy", "air_conditioning_by_temperature")]  # the rules that command devices
    + [f"why_{w}" for w in sorted(AUTOMATION_REASONS)]
    + [f"op_{o}" for o in ("lt", "le", "gt", "ge", "eq", "ne")]
    + [f"action_{a}" for a in sorted(AUDITED)]  # the audit log's actions, as the page lists them
    + [f"problem_{c}" for c in sorted(REFUSALS)]  # the refusals the page says in its language
    + [f"problem_{c}" for c in sorted(SPENDING_REFUSALS)]  # the books' refusals, passed on by web/books.py
    + [f"problem_{c}" for c in sorted(SUPPLY_REFUSALS)]  # the stock's refusals, passed on by web/supplies.py
    + [f"s_kind_{k.value}" for k in MoveKind]
    + [f"fb_cat.{c}" for c in CATEGORIES]
    + [f"c_status_{s.value}" for s in FeedbackStatus if s.value != "noted"]
    + [f"fb_status_{s.value}" for s in FeedbackStatus if s.value != "noted"]
    + [f"st_rule.{rule}" for rule in ("repair", "stock_out", "satisfaction", "complaints", "open")]
    + [f"d_kind.{kind}" for kind in INCIDENT_KINDS]
    + ["d_opening", "d_closing"]
    + [f"problem_{c}" for c in sorted(DUTY_REFUSALS)]
    + [f"alarm_{a}" for a in (STOCK_OUT, STOCK_LOW)]
    + [f"alarm_advice_{a}" for a in (STOCK_OUT, STOCK_LOW)]
    + [f"place.{p}" for supply in load_scenario(LIBRARY / "typical_week.toml").station.supplies for p in supply.places]
    + [f"f_status_{s.value}" for s in SpendingStatus]
    + [f"f_by_{s.value}" for s in SpendingStatus if s.value != "proposed"]
    + ["fail_no_ack", "fail_refused", "fail_offline", "fail_actor"]  # a command's failures, as app.js's FAILURES maps them
)


@pytest.mark.parametrize("key", MADE_AT_RUN_TIME)
def test_names_made_at_run_time_exist(key: str) -> None:
    assert key in keys("zh") and key in keys("en")


def test_the_pages_words_for_a_failed_command_match_what_the_bridge_says() -> None:
    """app.js translates the bridge's failure reasons by pattern: each pattern must match a text the bridge writes."""
    script = "\n".join((STATIC / name).read_text(encoding="utf-8") for name in PAGE_SCRIPTS)
    patterns = [re.compile(p.replace("\\\\", "\\")) for p in re.findall(r'\[/(.+?)/, "fail_\w+"\]', script)]
    bridge = "\n".join((ROOT / path).read_text(encoding="utf-8") for path in ("hardware_bridge/commands.py", "twin/entity.py"))
    said = [
        f"no acknowledgement within {5.0:g} s",
        *re.findall(r'acknowledge\([^)]*False, "([^"]+)"', bridge),
        *(text.replace("{exc}", "boom") for text in re.findall(r'acknowledge\([^)]*False, f"([^"]+)"', bridge)),
    ]
    assert "no acknowledgement within {command.deadline - command.issued_at:g} s" in bridge
    assert len(patterns) == 4 and len(said) >= 4
    assert all(any(p.search(text) for p in patterns) for text in said), said
