"""A variant is named by what it changed, in the reader's words and never by its dotted key."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from scenarios.changes import change_phrases
from scenarios.files import read_scenario_tree
from scenarios.i18n import in_language

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios" / "library"
BASE = read_scenario_tree(LIBRARY / "summer_heat_wave.toml")


def test_the_issue_example_reads_as_a_chairman_would() -> None:
    assert change_phrases(BASE, [("devices.microwave.units", "1")], "zh") == ["微波炉 2 → 1 台"]
    assert change_phrases(BASE, {"devices.microwave.units": "1"}, "en") == ["Microwave 2 → 1"]
    assert change_phrases(BASE, [("population.workers", "1200")], "zh") == ["户外劳动者人数 900 → 1,200 人"]
    assert change_phrases(BASE, [("scenario.seed", "7")], "en") == ["Seed 20260720 → 7"]


def test_a_key_without_words_keeps_its_name_and_a_new_key_has_no_before() -> None:
    assert change_phrases(BASE, [("weather.temp_c", "30")], "zh") == ["weather.temp_c = 30"]
    assert change_phrases(BASE, [("devices.microwave.power_w", "900")], "en")[0].startswith("Microwave · power_w")


@given(
    device=st.sampled_from(sorted(d for d, v in BASE["devices"].items() if "units" in v)),
    units=st.integers(min_value=0, max_value=10**6),
    lang=st.sampled_from(["zh", "en"]),
)
def test_a_units_change_names_the_device_and_both_values(device: str, units: int, lang: str) -> None:
    (phrase,) = change_phrases(BASE, [(f"devices.{device}.units", str(units))], lang)
    label = in_language(BASE["devices"][device]["label"], lang)
    assert phrase.startswith(f"{label} {BASE['devices'][device]['units']:,} → {units:,}")
    assert "devices." not in phrase


@given(st.text(max_size=40), st.sampled_from(["zh", "en"]))
def test_in_language_never_loses_a_one_language_name(text: str, lang: str) -> None:
    shown = in_language(text, lang)
    assert shown in text
    if " / " not in text and not any("\u3400" <= ch <= "\u9fff" for ch in text):
        assert shown == text
