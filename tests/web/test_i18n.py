"""Every word the page shows exists in Chinese and in English: the page's texts, device kinds, roles and states."""

from __future__ import annotations

import re

import pytest

from actors.registry import DEVICE_KINDS
from tests.conftest import LIBRARY
from twin.alarm import AlarmState
from twin.entity import CommandState
from web.app import STATIC
from web.auth import Role

SOURCE = (STATIC / "i18n.js").read_text(encoding="utf-8")
KEY = re.compile(r'(?:^|[,{])\s*(\w+):\s*"', re.MULTILINE)


def keys(language: str) -> set[str]:
    return set(KEY.findall(block(language)))


def block(language: str) -> str:
    start = SOURCE.index(f"{language}: {{")
    return SOURCE[start + len(language) + 3 : SOURCE.index("},", start)]


def test_no_word_is_given_twice() -> None:
    for language in ("zh", "en"):
        found = KEY.findall(block(language))
        assert len(found) == len(set(found)), sorted(k for k in set(found) if found.count(k) > 1)


def test_both_languages_have_the_same_words() -> None:
    assert keys("zh") == keys("en")
    assert len(keys("zh")) > 100


def test_every_text_the_page_and_its_script_ask_for_exists() -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    asked = set(re.findall(r'data-i18n="(\w+)"', html)) | set(re.findall(r'\bt\("(\w+)"\)', script))
    assert asked - keys("zh") == set()


LIBRARY_ALARMS = {m for f in LIBRARY.glob("*.toml") for m in re.findall(r'^alarm = "(\w+)"', f.read_text(encoding="utf-8"), re.MULTILINE)}
MADE_AT_RUN_TIME = (
    [f"kind_{k}" for k in DEVICE_KINDS]
    + [f"role_{r.value}" for r in Role]
    + [s.value for s in CommandState]
    + [s.value for s in AlarmState]
    + ["queued", "running", "done", "failed"]  # planner runs
    + [f"alarm_{a}" for a in sorted(LIBRARY_ALARMS | {"offline"})]  # the library's alarm types, and the offline rule's
)


@pytest.mark.parametrize("key", MADE_AT_RUN_TIME)
def test_names_made_at_run_time_exist(key: str) -> None:
    assert key in keys("zh") and key in keys("en")
