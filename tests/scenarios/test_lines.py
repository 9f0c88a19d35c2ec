"""Every mistake of a scenario file told at once, each on the line of the file where its key is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.main import app
from scenarios.errors import ScenarioError
from scenarios.files import read_scenario_text
from scenarios.lines import line_of, locate
from scenarios.schema import load_scenario
from tests.conftest import LIBRARY

# (table, key, a good value, a bad value): keys of mmc.toml's tables a planner changes
KEYS = [
    ("scenario", "replications", "3", "0"),
    ("scenario", "seed", "5", "-1"),
    ("devices.server", "units", "2", "0"),
    ("needs.serve", "probability", "0.5", "7"),
    ("population", "workers", "100", '"many"'),
]
DECOY = '[station]\nname = """\nunits = 0\nreplications = 0\n"""\n'
"""A multi-line string holding what looks like keys: never taken for them."""


def _problems(text: str) -> list[tuple[str, int | None]]:
    try:
        load_scenario(Path("upload.toml"), raw=read_scenario_text(text, "upload.toml", LIBRARY))
    except ScenarioError as exc:
        return [(p.key, p.line) for p in locate(exc, text).problems]
    return []


@st.composite
def uploads(draw: st.DrawFn) -> tuple[str, dict[str, int]]:
    """An upload extending mmc.toml with some keys set, each in its own style, and its bad keys' lines."""
    chosen = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=len(KEYS), unique_by=lambda k: k[0]))
    bad = draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)).filter(any))
    top: list[str] = ['extends = "mmc.toml"']
    tables: list[str] = []
    for (table, key, good, wrong), is_bad in zip(chosen, bad, strict=True):
        value = wrong if is_bad else good
        mark = f"  # bad: {table}.{key}" if is_bad else ""  # a comment: where the test expects the report, not read as a key
        style = draw(st.sampled_from(["header", "dotted", "inline"]))
        blank = "\n" * draw(st.integers(0, 2)) + ("# a note\n" if draw(st.booleans()) else "")
        if style == "dotted":
            top.append(f"{blank}{table}.{key} = {value}{mark}")
        elif style == "inline" and "." in table:
            parent, name = table.rsplit(".", 1)
            tables.append(f"{blank}[{parent}]\n{name} = {{ {key} = {value} }}{mark}")
        elif style == "inline":
            top.append(f"{blank}{table} = {{ {key} = {value} }}{mark}")
        else:
            tables.append(f"{blank}[{table}]\n{key} = {value}{mark}")
    if draw(st.booleans()) and not any(t == "station" for t, *_ in chosen):
        tables.insert(0, DECOY)
    text = "\n".join(top) + "\n" + "\n".join(tables) + "\n"
    expected = {line.split("# bad: ")[1]: n for n, line in enumerate(text.splitlines(), 1) if "# bad: " in line}
    return text, expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uploads())
def test_each_bad_value_is_reported_at_once_on_the_line_that_writes_it(upload: tuple[str, dict[str, int]]) -> None:
    text, expected = upload
    reported = dict(_problems(text))
    for key, line in expected.items():
        assert reported.get(key) == line, f"{key} is written on line {line}; reported {reported}\n{text}"
    assert set(expected) <= set(reported), "every mistake at once"


def test_a_missing_key_is_placed_on_its_tables_header_and_an_inherited_key_nowhere() -> None:
    text = 'extends = "mmc.toml"\n\n[devices.oven]\nunits = 2\n'
    assert _problems(text) == [("devices.oven.kind", 3)]
    assert line_of("[scenario]\nseed = 1\n", "scenario.replications") is None, "not written here: no line, not a wrong one"
    assert line_of("[scenario]\nseed = 1\n", "scenario.replications", missing=True) == 1


def test_arrays_of_tables_count_their_items() -> None:
    text = '[[automations.rules]]\nkind = "a"\n\n[[automations.rules]]\nkind = "b"\n[automations.rules.when]\nx = 1\n'
    assert line_of(text, "automations.rules.1.kind") == 5
    assert line_of(text, "automations.rules.0.kind") == 2
    assert line_of(text, "automations.rules.1.when.x") == 7


def test_a_syntax_error_names_its_line_and_an_override_is_blamed_not_a_line() -> None:
    assert _problems('extends = "mmc.toml"\n[scenario]\nhorizon = = 3\n') == [("", 3)]
    with pytest.raises(ScenarioError) as caught:
        load_scenario(LIBRARY / "mmc.toml", ["devices.server.units=0"])
    (problem,) = locate(caught.value, (LIBRARY / "mmc.toml").read_text(encoding="utf-8")).problems
    assert (problem.override, problem.line) == ("devices.server.units", None)


def test_yxy_check_shows_every_mistake_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(f'extends = "{LIBRARY / "mmc.toml"}"\n[scenario]\nreplications = 0\n[devices.server]\nunits = 0\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:3: scenario.replications" in result.output and f"{bad}:5: devices.server.units" in result.output, result.output
