"""What a variant changed, in the reader's words: "微波炉 2 → 1 台", not "devices.microwave.units=1".

A chairman comparing two runs asks "what is different in this one?"; the planner who
ran it wrote ``--set`` keys.  This module turns each override into a phrase: the
device's label (in the reader's half of a bilingual label), the field's name where
the catalog knows it, and the value before and after, read from the scenario's own
merged file tree (``scenarios.files``), so it needs no validated scenario and works
the same for a library file, an upload and a variant of either.  Keys it has no
words for keep their dotted name: a phrase is never wrong, only plainer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from scenarios.i18n import in_language, t, t_default

NAMED_KEYS = {
    "population.workers": "workers",
    "scenario.seed": "f.seed",
    "scenario.replications": "f.replications",
    "scenario.horizon": "f.horizon",
    "scenario.warmup": "f.warmup",
    "scenario.start": "f.start",
}
"""Dotted keys outside the device tables that the catalog has a name for."""

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def change_phrases(base: Mapping[str, Any], overrides: Iterable[tuple[str, str]] | Mapping[str, str], lang: str) -> list[str]:
    """One phrase per override, in order; ``base`` is the merged file tree the overrides were applied to."""
    pairs = overrides.items() if isinstance(overrides, Mapping) else overrides
    return [_phrase(base, key, str(value), lang) for key, value in pairs]


def _phrase(base: Mapping[str, Any], key: str, value: str, lang: str) -> str:
    before = _lookup(base, key)
    parts = key.split(".")
    devices = base.get("devices")
    if len(parts) >= 3 and parts[0] == "devices" and isinstance(devices, Mapping) and isinstance(devices.get(parts[1]), Mapping):
        device = devices[parts[1]]
        name = in_language(str(device.get("label") or t_default(f"kind.{device.get('kind')}", lang, parts[1])), lang)
        if parts[2:] == ["units"]:
            measure = t_default(f"measure.{device.get('kind')}", lang, t("measure", lang))
            return _arrow(name, before, value, measure)
        field = ".".join(parts[2:])
        return _arrow(f"{name} · {t_default(f'field.{field}', lang, field)}", before, value, "")
    if len(parts) == 4 and parts[:2] == ["population", "groups"]:  # a group's own setting: "外卖骑手 · 会员比例"
        field = t_default(f"field.{parts[3]}", lang, parts[3])
        return _arrow(f"{t_default(f'group.{parts[2]}', lang, parts[2])} · {field}", before, value, "")
    what = t(NAMED_KEYS[key], lang) if key in NAMED_KEYS else key
    return _arrow(what, before, value, t("measure.people", lang) if key == "population.workers" else "", grouped=key != "scenario.seed")


def _arrow(what: str, before: Any, after: str, measure: str, grouped: bool = True) -> str:
    tail = f" {measure}" if measure else ""
    if before is None or isinstance(before, Mapping | list):
        return f"{what} = {_shown(after, grouped)}{tail}"
    return f"{what} {_shown(str(before), grouped)} → {_shown(after, grouped)}{tail}"


def _shown(value: str, grouped: bool) -> str:
    """1200 -> 1,200 (a seed is an identifier and keeps its digits); anything that is not a plain number as written."""
    if grouped and _NUMBER.match(value.strip()):
        number = float(value)
        return f"{int(number):,}" if number.is_integer() and "." not in value else f"{number:,g}"
    return value.strip().strip("\"'")


def _lookup(tree: Mapping[str, Any], key: str) -> Any:
    node: Any = tree
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node
