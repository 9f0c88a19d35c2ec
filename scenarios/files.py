"""Scenario and station files as trees: read, refused when malformed or too deep, merged along ``extends``.

Only TOML and dictionaries here, no schema: the library listing and the web planner's form
read titles and values from the merged tree without building the pydantic models, and
scenarios/schema.py validates the tree this module hands it.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scenarios.errors import Problem, ScenarioFileError, ScenarioValueError

MOST_NESTING = 32
"""Tables and arrays deeper than this are no scenario: refused before anything walks them."""
_DOTTED_TOO_DEEP = re.compile(r"(?:(?:[A-Za-z0-9_-]+|\"[^\"\n]*\"|'[^'\n]*')[ \t]*\.[ \t]*){" + str(MOST_NESTING) + ",}")
"""A key of more segments than MOST_NESTING: found before parsing, as tomllib takes quadratic time over one."""
_TOML_AT = re.compile(r"\(at line (\d+), column \d+\)")
"""Where tomllib says a file stops being TOML (its error has no line attribute before Python 3.14)."""
_MOST = {"most": str(MOST_NESTING)}


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioFileError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioFileError(f"{path}: cannot be read ({exc})") from None
    return parse_toml(text, str(path))


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """The TOML in ``text``, refused with the place it goes wrong when it is invalid or nested deeper than MOST_NESTING."""
    dotted = _DOTTED_TOO_DEEP.search(text)
    if dotted is not None:
        line = text.count("\n", 0, dotted.start()) + 1
        raise ScenarioFileError(Problem(source, "", f"a key nested more than {MOST_NESTING} deep", "too_deep", _MOST, line=line))
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at = _TOML_AT.search(str(exc))
        where = int(at.group(1)) if at else None
        raise ScenarioFileError(Problem(source, "", f"not valid TOML: {exc}", "toml", {"detail": str(exc)[:200]}, line=where)) from None
    except RecursionError:  # tomllib recurses into nested arrays and inline tables
        raise ScenarioFileError(Problem(source, "", f"nested more than {MOST_NESTING} deep", "too_deep", _MOST)) from None
    too_deep = _deeper_than(raw, MOST_NESTING)
    if too_deep is not None:
        raise ScenarioFileError(Problem(source, too_deep, f"nested more than {MOST_NESTING} deep", "too_deep", _MOST))
    return raw


def _deeper_than(tree: Any, most: int) -> str | None:
    """The path of the first value nested deeper than ``most``, else None; iterative, so a deep tree cannot overflow it."""
    stack: list[tuple[Any, str, int]] = [(tree, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if depth > most:
            return path
        if isinstance(node, dict):
            stack.extend((value, f"{path}.{key}" if path else str(key), depth + 1) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, f"{path}[{n}]", depth + 1) for n, value in enumerate(node))
    return None


def read_scenario_tree(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The file with the files it ``extends`` merged beneath it (tables merge, values replace).

    A variant file says ``extends = "typical_week.toml"`` and only what differs; a scenario of a station says
    ``extends = "stations/yunting.toml"``; a list of files is merged in its order, later ones winning
    (``["summer_heat_wave.toml", "stations/yunting_automated.toml"]``: that week's demand at that station).
    """
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in (*seen, resolved))
        raise ScenarioFileError(f"{path}: extends: the files extend each other in a circle ({chain})")
    raw = _anchor_paths(read_toml(path), path.parent)
    bases = _bases(raw.pop("extends", None), path)
    if not bases:
        return raw
    for base in bases:
        if not base.exists():
            raise ScenarioFileError(f"{path}: extends: no such scenario or station file {base}")
    return _merge_all([read_scenario_tree(base, (*seen, resolved)) for base in bases], raw)


def _bases(extends: object, path: Path) -> list[Path]:
    names = [extends] if isinstance(extends, str) else extends
    if extends is None:
        return []
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ScenarioValueError(
            f"{path}: extends: must be the path of another scenario or station file (or a list of them), relative to this one"
        )
    return [path.parent / name for name in names]


def _anchor_paths(raw: dict[str, Any], folder: Path) -> dict[str, Any]:
    """A file a scenario or station file names (its broker secret, observed times) is relative to that file,
    wherever it is used from."""
    broker = raw.get("broker")
    if isinstance(broker, dict) and isinstance(broker.get("secret_file"), str) and broker["secret_file"]:
        broker["secret_file"] = str((folder / broker["secret_file"]).resolve())
    for table in _observed(raw):
        table["csv"] = str((folder / table["csv"]).resolve())
    return raw


def _observed(tree: Any) -> Iterable[dict[str, Any]]:
    """Every empirical distribution in ``tree`` that names a CSV file (the tree's depth is bounded by parse_toml)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("dist") == "empirical" and isinstance(node.get("csv"), str):
                yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


MOST_OBSERVATIONS_BYTES = 4_000_000
"""A CSV of observed times larger than this is refused before it is read."""


def read_observations(path: Path) -> list[float]:
    """The numbers of a CSV of observed values: the first column, one per line; a header line and blank lines are skipped.

    A bad line is named with its number; the file's size is bounded before reading."""
    try:
        size = path.stat().st_size
        if size > MOST_OBSERVATIONS_BYTES:
            raise ScenarioFileError(f"{path}: {size:,} bytes of observations; at most {MOST_OBSERVATIONS_BYTES:,}")
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise ScenarioFileError(f"{path}: no such file of observed values") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioFileError(f"{path}: cannot be read ({exc})") from None
    values: list[float] = []
    for number, line in enumerate(lines, start=1):
        cell = line.split(",")[0].strip().strip('"')
        if not cell:
            continue
        try:
            value = float(cell)
        except ValueError:
            if number == 1:
                continue  # a header
            raise ScenarioFileError(f"{path}: line {number}: {cell[:40]!r} is not a number") from None
        if not math.isfinite(value):
            raise ScenarioFileError(f"{path}: line {number}: {cell[:40]!r} is not a finite number")
        values.append(value)
    if not values:
        raise ScenarioFileError(f"{path}: no observed values")
    return values


def _merge_all(bases: list[dict[str, Any]], top: dict[str, Any]) -> dict[str, Any]:
    """``bases`` merged in order, then ``top``; weather given in one form replaces the earlier forms."""
    merged: dict[str, Any] = {}
    for tree in [*bases, top]:
        if isinstance(merged.get("weather"), dict) and isinstance(tree.get("weather"), dict):
            merged["weather"] = weather_form_wins(merged["weather"], tree["weather"])
        merged = _merge(merged, tree)
    return merged


WEATHER_FORMS = ("profile", "days", "temp_c", "rain")


def weather_form_wins(base: dict[str, Any], given: Iterable[str]) -> dict[str, Any]:
    """Weather given in one form (a profile, days, hourly readings) replaces the base's other forms."""
    if any(key in WEATHER_FORMS for key in given):
        return {k: v for k, v in base.items() if k not in WEATHER_FORMS}
    return base


ARRIVAL_SHAPES = ("hourly_share", "day_profile")


def arrival_shape_wins(base: dict[str, Any], given: Iterable[str]) -> dict[str, Any]:
    """A stream's daily shape given in one form (hourly shares, a rate table) replaces the base's other form."""
    given = set(given)
    if given & set(ARRIVAL_SHAPES):
        return {k: v for k, v in base.items() if k not in ARRIVAL_SHAPES or k in given}
    return base


def read_scenario_text(text: str, source: str, base_dir: Path) -> dict[str, Any]:
    """A scenario handed over as text (an upload); ``extends`` is looked up in ``base_dir`` (the library) only."""
    raw = parse_toml(text, source)
    if any(True for _ in _observed(raw)):
        raise ScenarioValueError(
            f"{source}: an uploaded scenario gives observed values inline (values = [...]), not as a file on the server"
        )
    extends = raw.pop("extends", None)
    if extends is None:
        return raw
    names = [extends] if isinstance(extends, str) else extends
    library = {p.relative_to(base_dir).as_posix() for p in [*base_dir.glob("*.toml"), *base_dir.glob("stations/*.toml")]}
    if not isinstance(names, list) or not names or any(not isinstance(n, str) or n not in library for n in names):
        raise ScenarioValueError(f"{source}: extends: {extends!r} is not a library scenario or station file ({', '.join(sorted(library))})")
    return _merge_all([read_scenario_tree(base_dir / name) for name in names], raw)


def _another_distribution(base: dict[str, Any], top: dict[str, Any]) -> bool:
    return "dist" in top and base.get("dist") != top["dist"]


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Tables merge and values replace, except a distribution of another ``dist``, which replaces the base's whole
    (a gamma over an exponential keeps no ``mean`` of the exponential's), and a stream's daily shape in another form."""
    merged = arrival_shape_wins(dict(base), top)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and _another_distribution(merged[key], value):
            merged[key] = value
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
