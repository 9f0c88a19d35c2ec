"""What-if runs from the web: one at a time in a worker thread, progress and results kept in the database.

The live station shares the machine, so runs queue rather than run side by side; the
results document is the same as ``yxy simulate --json``, and so is the report.
"""

from __future__ import annotations

import functools
import json
import logging
import queue
import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from scenarios.results import simulate, to_json
from scenarios.schema import Scenario, load_scenario, read_scenario_text, read_scenario_tree
from store.models import PlannerRun

logger = logging.getLogger(__name__)
LIBRARY = Path(__file__).resolve().parent.parent / "scenarios" / "library"
MAX_REPLICATIONS = 200


def library() -> list[str]:
    return sorted(p.stem for p in LIBRARY.glob("*.toml"))


def validate(name: str | None, text: str | None, overrides: list[str]) -> tuple[str, str, Scenario]:
    """(scenario name, its TOML, the validated scenario); a ScenarioError names what is wrong."""
    if text is not None:
        raw = read_scenario_text(text, "upload", LIBRARY)
        scenario = load_scenario(Path("upload.toml"), overrides, raw=raw)
        return scenario.name, text, scenario
    path = LIBRARY / f"{name}.toml"
    scenario = load_scenario(path, overrides)
    return scenario.name, path.read_text(encoding="utf-8"), scenario


def workers(scenario: Scenario) -> int:
    """The population the scenario was written for (population.workers), read back from its raw file."""
    raw = read_scenario_tree(Path(scenario.source)) if Path(scenario.source).is_file() else {}
    return int(raw.get("population", {}).get("workers", 0))


class Planner:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._work: queue.Queue[tuple[int, Scenario, int] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="planner", daemon=True)
        self._thread.start()

    def submit(self, username: str, name: str, source: str, scenario: Scenario, overrides: list[str], replications: int) -> int:
        with self._sessions.begin() as db:
            run = PlannerRun(
                created_at=datetime.now(UTC), username=username, scenario=name, source=source, overrides=overrides,
                replications=replications, status="queued", done_replications=0,
            )  # fmt: skip
            db.add(run)
            db.flush()
            run_id = run.id
        self._work.put((run_id, scenario, replications))
        return run_id

    def stop(self) -> None:
        self._work.put(None)
        self._thread.join(5)

    def _loop(self) -> None:
        while (item := self._work.get()) is not None:
            run_id, scenario, replications = item
            self._set(run_id, status="running")
            try:
                document = simulate(scenario, replications, progress=functools.partial(self._progress, run_id))
            except Exception as exc:  # a bug in a model must not take the web view down with it
                logger.exception("planner run %d failed", run_id)
                self._set(run_id, status="failed", error=f"{type(exc).__name__}: {exc}")
                continue
            self._set(run_id, status="done", document=json.loads(to_json(document)))

    def _progress(self, run_id: int, done: int) -> None:
        self._set(run_id, done_replications=done)

    def _set(self, run_id: int, **values: object) -> None:
        with self._sessions.begin() as db:
            run = db.get(PlannerRun, run_id)
            assert run is not None
            for key, value in values.items():
                setattr(run, key, value)
