"""What-if runs from the web: one at a time, each in a process of its own, progress and results kept in the database.

The live station shares the machine, so runs queue rather than run side by side; the
results document is the same as ``yxy simulate --json``, and so is the report.  A run
is bounded before it starts (its estimated visits against a budget, a queue per
user) and while it runs (a wall-time limit and a memory ceiling on its process); a
process can be stopped at any moment, which is what cancelling a run does, and a run
that never finished because the server stopped is marked failed when it starts again.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import queue
import resource
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from scenarios.errors import ScenarioError
from scenarios.files import read_scenario_text, read_scenario_tree
from scenarios.lines import locate
from scenarios.results import simulate, to_json, visits_to_simulate
from scenarios.schema import Scenario, load_scenario
from station.settings import Settings
from store.models import PlannerRun

logger = logging.getLogger(__name__)
LIBRARY = Path(__file__).resolve().parent.parent / "scenarios" / "library"
_REPORTING_RESERVE = 16 * 2**20
WAITING = ("queued", "running")
"""A run in either state holds a place in its owner's quota; after a restart neither can go on."""


def library() -> list[str]:
    return sorted(p.stem for p in LIBRARY.glob("*.toml"))


def title(name: str) -> str:
    """A library scenario's title ("夏季高温周 / Summer heat-wave week"), read from its file tree without the schema."""
    return str(read_scenario_tree(LIBRARY / f"{name}.toml").get("scenario", {}).get("title") or name)


def validate(name: str | None, text: str | None, overrides: list[str]) -> tuple[str, str, Scenario]:
    """(scenario name, its TOML, the validated scenario); a ScenarioError names every mistake, each on its line of the TOML.

    An upload and a library file are read alike (an upload's ``extends`` may name only library files), so a run's
    stored TOML validates again the same way (``describe``)."""
    source = "upload.toml" if text is not None else f"{name}.toml"  # never a server path: it is in the results and the report
    if text is None:
        text = (LIBRARY / source).read_text(encoding="utf-8")
    try:
        raw = read_scenario_text(text, source, LIBRARY)
        scenario = load_scenario(Path(source), overrides, raw=raw)
    except ScenarioError as exc:
        raise locate(exc, text) from None
    return scenario.name, text, scenario


def workers(name: str) -> int:
    """The population a library scenario was written for (population.workers), read from its file tree."""
    return int(read_scenario_tree(LIBRARY / f"{name}.toml").get("population", {}).get("workers", 0))


@dataclass(frozen=True)
class Budget:
    """What one user's runs may cost the machine the live station runs on."""

    most_visits: float
    """The most visits one run may simulate, all replications together (visits_to_simulate's estimate)."""
    wall_s: float
    memory_mb: int
    queued_per_user: int

    @classmethod
    def of(cls, settings: Settings) -> Budget:
        return cls(settings.planner_most_visits, settings.planner_wall_s, settings.planner_memory_mb, settings.planner_queued_per_user)


class RunRefused(Exception):
    """The run is over a budget; the message says which, by how much, and what to change (``code`` and ``params``:
    the same in the page's catalog, ``problem_<code>``)."""

    code = ""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.params = params


class TooCostly(RunRefused):
    """The run alone would cost more than any run may."""

    code = "too_costly"


class QueueFull(RunRefused):
    """Its owner already has as many runs waiting as they may."""

    code = "queue_full"


class Planner:
    def __init__(self, sessions: sessionmaker[Session], budget: Budget) -> None:
        self._sessions = sessions
        self.budget = budget
        self._admit = threading.Lock()
        """Held from counting a user's waiting runs to adding theirs: parallel requests cannot overrun the quota."""
        self._cancelled: set[int] = set()
        self._work: queue.Queue[tuple[int, Scenario, int] | None] = queue.Queue()
        with sessions.begin() as db:
            db.execute(
                update(PlannerRun)
                .where(PlannerRun.status.in_(WAITING))
                .values(status="failed", error="the server stopped before the run finished; start it again")
            )
        self._thread = threading.Thread(target=self._loop, name="planner", daemon=True)
        self._thread.start()

    def submit(self, username: str, name: str, source: str, scenario: Scenario, overrides: list[str], replications: int) -> int:
        """Queue the run, or raise RunRefused if it costs more than the budget or its owner has too many waiting."""
        visits = visits_to_simulate(scenario, replications)
        if visits > self.budget.most_visits:
            raise TooCostly(
                f"this run would simulate up to {visits:,.0f} visits ({replications} replications over "
                f"{scenario.horizon_s / 86400:g} days); a run may simulate at most {self.budget.most_visits:,.0f}: "
                "shorten the horizon or run fewer replications",
                visits=f"{visits:,.0f}",
                most=f"{self.budget.most_visits:,.0f}",
            )
        with self._admit, self._sessions.begin() as db:
            waiting = db.scalar(
                select(func.count()).select_from(PlannerRun).where(PlannerRun.username == username, PlannerRun.status.in_(WAITING))
            )
            if (waiting or 0) >= self.budget.queued_per_user:
                raise QueueFull(
                    f"you already have {waiting} runs queued or running (at most {self.budget.queued_per_user}); "
                    "wait for one to finish or cancel one"
                )
            run = PlannerRun(
                created_at=datetime.now(UTC), username=username, scenario=name, source=source, overrides=overrides,
                replications=replications, status="queued", done_replications=0,
            )  # fmt: skip
            db.add(run)
            db.flush()
            run_id = run.id
        self._work.put((run_id, scenario, replications))
        return run_id

    def cancel(self, run_id: int) -> bool:
        """Stop a queued or running run; False if it had already finished."""
        with self._admit, self._sessions.begin() as db:
            run = db.get(PlannerRun, run_id, with_for_update=True)
            if run is None or run.status not in WAITING:
                return False
            if run.status == "queued":
                run.status = "cancelled"
            self._cancelled.add(run_id)
        return True

    def stop(self) -> None:
        self._work.put(None)
        self._thread.join(5)

    def _loop(self) -> None:
        while (item := self._work.get()) is not None:
            run_id, scenario, replications = item
            if run_id in self._cancelled:
                self._cancelled.discard(run_id)
                continue
            self._set(run_id, status="running")
            try:
                outcome = self._run(run_id, scenario, replications)
            except Exception as exc:  # the planner must not take the web view down with it
                logger.exception("planner run %d failed", run_id)
                outcome = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            self._cancelled.discard(run_id)
            self._set(run_id, **outcome)

    def _run(self, run_id: int, scenario: Scenario, replications: int) -> dict[str, object]:
        """Run it in a child process, relaying its progress, until it ends, is cancelled or runs out of time."""
        here, there = multiprocessing.get_context("spawn").Pipe(duplex=False)
        child = multiprocessing.get_context("spawn").Process(
            target=_run_in_child, args=(scenario, replications, self.budget.memory_mb, there), name=f"planner-run-{run_id}", daemon=True
        )
        child.start()
        there.close()
        deadline = time.monotonic() + self.budget.wall_s
        try:
            while True:
                if run_id in self._cancelled:
                    return {"status": "cancelled"}
                if time.monotonic() > deadline:
                    return {"status": "failed", "error": f"stopped after the wall-time limit of {self.budget.wall_s / 60:g} min"}
                if here.poll(0.2):
                    try:
                        kind, value = here.recv()
                    except EOFError:
                        return {"status": "failed", "error": f"the run's process ended without a result (exit code {child.exitcode})"}
                    if kind == "progress":
                        self._set(run_id, done_replications=value)
                    elif kind == "done":
                        return {"status": "done", "document": value}
                    else:
                        return {"status": "failed", "error": value}
                elif not child.is_alive() and not here.poll():
                    return {"status": "failed", "error": f"the run's process ended without a result (exit code {child.exitcode})"}
        finally:
            if child.is_alive():
                child.kill()
            child.join(5)
            here.close()

    def _set(self, run_id: int, **values: object) -> None:
        with self._sessions.begin() as db:
            run = db.get(PlannerRun, run_id)
            assert run is not None
            for key, value in values.items():
                setattr(run, key, value)


def _address_space() -> int:
    """This process's address space in bytes, what RLIMIT_AS counts (Linux's /proc; the design card's platform)."""
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    return pages * resource.getpagesize()


def _run_in_child(scenario: Scenario, replications: int, memory_mb: int, out: Connection) -> None:
    """The child's whole life: the replications under a memory ceiling, each step sent up the pipe.

    The ceiling is what the run may add to the process as it stands once the simulator is
    loaded (about 350 MB of address space, 120 MB resident), so that the setting means the
    run's own memory whatever the libraries reserve.

    A few megabytes are set aside before the ceiling bites and given back when it does,
    so that the process still has the memory to say why it failed.
    """
    reserve: bytearray | None = bytearray(_REPORTING_RESERVE)
    ceiling = _address_space() + memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    try:
        document = simulate(scenario, replications, progress=lambda done: out.send(("progress", done)))
        out.send(("done", json.loads(to_json(document))))
    except MemoryError:
        reserve = None
        out.send(("failed", f"the run needed more than its {memory_mb} MB of memory"))
    except Exception as exc:  # a model's bug is reported as the run's failure, not lost with the process
        reserve = None
        out.send(("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        del reserve
        out.close()
