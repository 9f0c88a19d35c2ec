"""Where a key is written in a scenario file's text: the line a planner is sent to, by ``yxy check`` and the web planner.

tomllib keeps no positions, so the text is read once more, line by line, for what
defines keys: table headers (``[devices.microwave]``, ``[[automations.rules]]``, whose
n-th occurrence is item n) and ``key = value`` lines (dotted keys too).  Values are
skipped, multi-line strings and arrays included, so a ``units = 0`` inside a string
is never taken for a key.  A problem's key is placed on the line that defines it, or
on the line of the value that holds it (``service = { dist = "gamma", mean = -1 }``
for ``...service.mean``, the first line of a multi-line array for one of its items);
a key that is missing is placed on the header of the table that lacks it.  A key the
text does not define (it comes from the file it extends, or from a ``--set``) has no
line: no line is better than a wrong one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scenarios.errors import Problem, ScenarioError
from scenarios.files import MOST_NESTING

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_SPACE = re.compile(r"[ \t]*")


@dataclass(frozen=True)
class _Defined:
    line: int
    value: bool
    """A ``key = value`` line (it holds everything beneath the key), not a table header."""


def locate(error: ScenarioError, text: str) -> ScenarioError:
    """``error`` with each problem of the file whose ``text`` this is placed on its key's line (see the module), in the
    file's order; problems with no line (an override's, an inherited key's) come last."""
    unplaced = [p.line is None and not p.override and p.key for p in error.problems]
    if not any(unplaced):
        return error
    defined = _definitions(text)
    placed = [p.at_line(_line(defined, p)) if find else p for p, find in zip(error.problems, unplaced, strict=True)]
    return error.with_problems(tuple(sorted(placed, key=lambda p: (p.line is None, p.line or 0))))  # in the file's order


def line_of(text: str, key: str, missing: bool = False) -> int | None:
    """The line (from 1) of ``text`` where the dotted ``key`` is written; ``missing``: the key is absent, find its table."""
    return _line(_definitions(text), Problem("", key, "", "missing" if missing else "text"))


def _line(defined: dict[tuple[str, ...], _Defined], problem: Problem) -> int | None:
    parts = tuple(problem.key.split(".", MOST_NESTING + 1))  # a key deeper than any file may nest (refused) costs no more
    for length in range(len(parts), 0, -1):
        found = defined.get(parts[:length])
        if found is not None and (length == len(parts) or found.value or problem.code in ("missing", "extra_forbidden")):
            return found.line
    return None


def _definitions(text: str) -> dict[tuple[str, ...], _Defined]:
    """Each key path the text defines, with the line of its first definition."""
    defined: dict[tuple[str, ...], _Defined] = {}
    arrays: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        stripped = line.lstrip()
        if stripped.startswith("["):
            is_array = stripped.startswith("[[")
            parsed = _key(stripped, 2 if is_array else 1)
            if parsed is None:
                continue
            path, _ = parsed
            if len(path) > MOST_NESTING:
                continue  # the file is refused for it; walking it would cost the square of its depth
            if is_array:
                arrays[path] = arrays.get(path, -1) + 1
                table = (*_in_arrays(path[:-1], arrays), path[-1], str(arrays[path]))
            else:
                table = _in_arrays(path, arrays)
            defined.setdefault(table, _Defined(number, False))
            continue
        parsed = _key(stripped, 0)
        if parsed is None:
            continue
        path, rest = parsed
        if not rest.startswith("=") or len(path) > MOST_NESTING:
            continue
        defined.setdefault((*table, *path), _Defined(number, True))
        number = _after_value(lines, number - 1, len(line) - len(rest) + 1)
    return defined


def _in_arrays(path: tuple[str, ...], arrays: dict[tuple[str, ...], int]) -> tuple[str, ...]:
    """A header under an array of tables belongs to its newest item: ``[automations.rules.when]`` in rule n."""
    for length in range(len(path), 0, -1):
        if path[:length] in arrays:
            return (*path[:length], str(arrays[path[:length]]), *path[length:])
    return path


def _key(text: str, skip: int) -> tuple[tuple[str, ...], str] | None:
    """A dotted key at ``text[skip:]`` (bare or quoted parts) and what follows it; None if there is none."""
    parts: list[str] = []
    at = _SPACE.match(text, skip).end()  # type: ignore[union-attr]
    while True:
        if at < len(text) and text[at] in "\"'":
            end = text.find(text[at], at + 1)
            if end < 0:
                return None
            parts.append(text[at + 1 : end])
            at = end + 1
        else:
            bare = _BARE.match(text, at)
            if bare is None:
                return None
            parts.append(bare.group())
            at = bare.end()
        at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
        if at < len(text) and text[at] == ".":
            at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
            continue
        return tuple(parts), text[at:]


def _after_value(lines: list[str], index: int, start: int) -> int:
    """The index of the line after the value that begins at ``lines[index][start:]`` (arrays and strings may span lines)."""
    depth = 0
    quote: str | None = None
    row, at = index, start
    while row < len(lines):
        text = lines[row]
        while at < len(text):
            if quote is not None:
                if text[at] == "\\" and quote in ('"', '"""'):
                    at += 2
                    continue
                if text.startswith(quote, at):
                    at += len(quote)
                    quote = None
                    continue
                at += 1
                continue
            char = text[at]
            if char == "#":
                break
            if char in "\"'":
                quote = char * 3 if text.startswith(char * 3, at) else char
                at += len(quote)
                continue
            depth += char in "[{"
            depth -= char in "]}"
            at += 1
        if quote in ('"', "'"):
            quote = None  # a one-line string never spans lines (invalid TOML: tomllib has said so already)
        row += 1
        at = 0
        if depth <= 0 and quote is None:
            return row
    return row
