"""Errors a planner can cause, each with a message that names the file, the key and the fix.

ScenarioError            every mistake found at once, each a ``Problem``
├── ScenarioFileError   the file cannot be read or is not TOML
└── ScenarioValueError  a key is missing, unknown or has a value out of range
SimulationError          the model broke an invariant while running (a bug, not a user mistake)

A ``Problem`` is one mistake as data: the file, the dotted key, the ``--set`` that wrote it,
the line of the key in the file's text (``scenarios/lines.py`` finds it) and what is wrong,
in English and as a catalog code with its parameters.  The CLI prints each as one line; the
web planner sends them as they are, so the page says them in its own language and shows no
server path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Problem:
    """One mistake in a scenario: where it is and what is wrong with it."""

    source: str
    """The file as the caller named it ("upload.toml", a path); empty when the message already says where."""
    key: str
    """The dotted key (``devices.microwave.units``); empty for the file as a whole."""
    message: str
    """What is wrong and what is allowed, in English (the CLI's and scripts' words)."""
    code: str = "text"
    """The catalog's ``scenario_problem_<code>``, filled with ``params``; "text": only the English ``message`` exists."""
    params: Mapping[str, str] = field(default_factory=dict)
    override: str | None = None
    """The ``--set`` key that wrote the value, when one did: then the file's lines are not to blame."""
    line: int | None = None
    """The key's line in ``source``'s text, when it is written there."""

    def __str__(self) -> str:
        origin = f"{self.source} (--set {self.override})" if self.override else self.source
        if self.line is not None:
            origin = f"{origin}:{self.line}"
        return ": ".join(part for part in (origin, self.key, self.message) if part)

    def at_line(self, line: int | None) -> Problem:
        return replace(self, line=line)


class ScenarioError(Exception):
    """Mistakes in a scenario file or its overrides, all found at once; the CLI prints one line each and exits with code 2.

    Made from ``Problem``s, or from plain lines of English (each its own text problem)."""

    def __init__(self, *problems: Problem | str) -> None:
        self.problems = tuple(p if isinstance(p, Problem) else Problem("", "", p) for p in problems)
        super().__init__(*self.problems)

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)

    def with_problems(self, problems: tuple[Problem, ...]) -> ScenarioError:
        """The same kind of error over ``problems`` (the same ones, placed on their lines)."""
        return type(self)(*problems)


class ScenarioFileError(ScenarioError):
    pass


class ScenarioValueError(ScenarioError):
    pass


class SimulationError(Exception):
    pass
