"""The planner from the page: the scenario library, runs queued on the planner's worker, their reports and comparisons."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from scenarios.errors import Problem, ScenarioError
from scenarios.i18n import LANGUAGES, in_language
from scenarios.report import verdict_html, write_comparison_report, write_report
from scenarios.results import compare as compare_results
from store.models import PlannerRun, User
from web import planner
from web.auth import (
    Role,
)
from web.deps import (
    DatabaseDep,
    Everyone,
    Id,
    Instant,
    Refused,
    RequireRole,
    RunId,
    ServicesDep,
    Strict,
    audit,
)  # fmt: skip


class RunRequest(Strict):
    scenario: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = Field(None, description="A library scenario by name.")
    toml: Annotated[str, Field(max_length=200_000)] | None = Field(
        None, description="Or a whole scenario file (it may extend a library one)."
    )
    overrides: Annotated[list[Annotated[str, Field(max_length=500)]], Field(max_length=50)] = Field(default_factory=list)
    replications: Annotated[int, Field(ge=1, le=200)] = 5


class RunView(BaseModel):
    id: int
    created_at: Instant
    username: str
    scenario: str
    title: str = Field(description='The scenario\'s title, often bilingual ("夏季高温周 / Summer heat-wave week").')
    changes: dict[str, list[str]] = Field(
        description='What the overrides change, per language ("微波炉 2 → 1 台"): the page switches language without asking again.'
    )
    overrides: list[str]
    replications: int
    status: str
    done_replications: int
    error: str | None


@lru_cache(maxsize=256)
def _described(source: str, overrides: tuple[str, ...]) -> tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """(title, changes per language) of a run not yet finished, from its stored TOML validated again (once: the list is
    polled each second while a run goes); a finished run's document says it."""
    scenario = planner.validate(None, source, list(overrides))[2]
    return scenario.title, scenario.changes


def _view(run: PlannerRun) -> RunView:
    """A run as the page shows it: named by its scenario's title and what it changed."""
    if run.document is not None:
        title, changes = run.document["scenario"]["title"], run.document["scenario"].get("changes", {})
    else:
        try:
            title, described = _described(run.source, tuple(run.overrides))
            changes = dict(described)
        except ScenarioError:  # the library file changed since: its own words for what the planner set
            title, changes = run.scenario, {lang: list(run.overrides) for lang in LANGUAGES}
    fields = {name: getattr(run, name) for name in RunView.model_fields if name not in ("title", "changes")}
    return RunView(**fields, title=title, changes={lang: list(phrases) for lang, phrases in changes.items()})


def run_name(run: PlannerRun, lang: str) -> str:
    """ "#3 夏季高温周 · 微波炉 2 → 1 台": what a comparison calls a run, in the reader's language."""
    view = _view(run)
    return " · ".join([f"#{run.id} {in_language(view.title, lang)}", *view.changes.get(lang, [])])


def _problem(problem: Problem) -> dict[str, Any]:
    """One mistake for the page: where (line, or the override) and what, never the server's path."""
    return {
        "key": problem.key[:200], "line": problem.line, "override": problem.override, "code": problem.code,
        "params": dict(problem.params), "message": _no_paths(problem.message),
    }  # fmt: skip


def _no_paths(text: str) -> str:
    """A message with the library's folder on the server left out (a file it names stays named, as the library knows it)."""
    return text.replace(f"{planner.LIBRARY}/", "").replace(str(planner.LIBRARY), "library")


def _invalid(exc: ScenarioError) -> Refused:
    """Every mistake at once, each on its line or with its override, in English for scripts and by code for the page."""
    lines = []
    for problem in exc.problems:
        where = f"--set {problem.override}" if problem.override else f"line {problem.line}" if problem.line else ""
        lines.append(": ".join(part for part in (where, problem.key[:200], _no_paths(problem.message)) if part))
    return Refused(
        status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid_scenario", "\n".join(lines),
        count=len(exc.problems), problems=[_problem(p) for p in exc.problems],
    )  # fmt: skip


runs = APIRouter(prefix="/api/runs", tags=["planner"])
Planners = Annotated[User, Depends(RequireRole(Role.OPERATOR, Role.ADMIN))]


class LibraryEntry(BaseModel):
    name: str
    title: str = Field(description='Often bilingual, "夏季高温周 / Summer heat-wave week": the page shows its language\'s half.')


@runs.get("/library", response_model=list[LibraryEntry])
def scenario_library(_: Everyone) -> list[LibraryEntry]:
    """The library's scenarios, by the titles a planner knows them by (the name is what a run asks for)."""
    return [LibraryEntry(name=name, title=planner.title(name)) for name in planner.library()]


class ScenarioSummary(BaseModel):
    name: str
    title: str
    workers: int
    replications: int
    units: dict[str, int] = Field(description="Device id -> units, for the devices that serve workers.")
    labels: dict[str, str] = Field(description='Device id -> its label, often bilingual ("微波炉 Microwave").')


@runs.get("/library/{name}", response_model=ScenarioSummary)
def scenario_summary(name: Id, user: Everyone) -> ScenarioSummary:
    """The values the planner's form offers to change."""
    if name not in planner.library():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no library scenario {name!r}")
    scenario = planner.validate(name, None, [])[2]
    served = [d for d in scenario.station.devices if hasattr(d.config, "units")]
    return ScenarioSummary(
        name=name, title=scenario.title, workers=planner.workers(name), replications=scenario.replications,
        units={d.id: int(d.config.units) for d in served}, labels={d.id: d.label for d in served},
    )  # fmt: skip


@runs.post("", response_model=RunView, status_code=202)
def start_run(body: RunRequest, request: Request, user: Planners, db: DatabaseDep, svc: ServicesDep) -> RunView:
    """Queue a what-if run; poll it for progress, then read its report."""
    if (body.scenario is None) == (body.toml is None):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give either scenario (a library name) or toml (a scenario file)")
    if body.scenario is not None and body.scenario not in planner.library():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no library scenario {body.scenario!r}; see /api/runs/library")
    try:
        name, source, scenario = planner.validate(body.scenario, body.toml, body.overrides)
    except ScenarioError as exc:
        raise _invalid(exc) from None
    try:
        run_id = svc.planner.submit(user.username, name, source, scenario, body.overrides, body.replications)
    except planner.RunRefused as exc:
        code = status.HTTP_429_TOO_MANY_REQUESTS if isinstance(exc, planner.QueueFull) else status.HTTP_422_UNPROCESSABLE_CONTENT
        raise Refused(code, exc.code, str(exc), None, **exc.params) from None
    audit(
        db,
        request,
        user,
        "planner_run",
        f"run {run_id}",
        None,
        {"scenario": name, "overrides": body.overrides, "replications": body.replications},
    )
    return _run_view(svc, run_id)


def _run_view(svc: Any, run_id: int) -> RunView:
    with svc.sessions() as db:
        run = db.get(PlannerRun, run_id)
        if run is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no run {run_id}")
        return _view(run)


@runs.get("", response_model=list[RunView])
def list_runs(_: Everyone, db: DatabaseDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[RunView]:
    rows = db.scalars(select(PlannerRun).order_by(PlannerRun.id.desc()).limit(limit))
    return [_view(r) for r in rows]


@runs.get("/compare", response_class=HTMLResponse)
def compare_runs(
    _: Everyone,
    db: DatabaseDep,
    ids: Annotated[list[RunId], Query(min_length=2, max_length=6)],
    baseline: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="The run the others are measured against; one of ids.")] = None,
    lang: Literal["zh", "en"] = "zh",
) -> HTMLResponse:
    """Runs side by side, each against the baseline the planner chose (else the first of ``ids``), paired by replication
    (they share seeds when the base seed is the same); each named by its scenario and what it changed."""
    if baseline is not None and baseline not in ids:
        raise Refused(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "baseline_not_compared", f"the baseline, run {baseline}, is not among ids", run=baseline
        )
    ordered = list(dict.fromkeys([baseline, *ids] if baseline is not None else ids))
    documents = []
    for run_id in ordered:
        run = db.get(PlannerRun, run_id)
        if run is None or run.document is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} has no results (yet)")
        documents.append((run_name(run, lang), run.document))
    windows = {(d["scenario"]["horizon_s"], d["scenario"]["warmup_s"]) for _, d in documents}
    if len(windows) > 1:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "runs with different horizons or warm-ups cannot be compared")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "comparison.html"
        write_comparison_report(compare_results(documents), path, lang)
        return HTMLResponse(path.read_text(encoding="utf-8"))


@runs.get("/{run_id}", response_model=RunView)
def get_run(run_id: RunId, _: Everyone, svc: ServicesDep) -> RunView:
    return _run_view(svc, run_id)


@runs.post("/{run_id}/cancel", response_model=RunView)
def cancel_run(run_id: RunId, request: Request, user: Planners, db: DatabaseDep, svc: ServicesDep) -> RunView:
    """Stop a queued or running run: its owner or an officer may."""
    run = db.get(PlannerRun, run_id)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no run {run_id}")
    if run.username != user.username and user.role != Role.ADMIN:
        detail = f"run {run_id} is {run.username}'s; only they or an admin may cancel it"
        raise Refused(status.HTTP_403_FORBIDDEN, "not_your_run", detail, owner=run.username)
    if run.status not in planner.WAITING:
        raise Refused(status.HTTP_409_CONFLICT, "run_ended", f"run {run_id} has already ended ({run.status})")
    audit(db, request, user, "planner_run_cancelled", f"run {run_id}", {"status": run.status}, None)
    db.commit()  # the audit entry stands before the run is stopped
    if not svc.planner.cancel(run_id):
        raise Refused(status.HTTP_409_CONFLICT, "run_ended", f"run {run_id} ended while it was being cancelled")
    return _run_view(svc, run_id)


@runs.get("/{run_id}/verdict", response_class=HTMLResponse)
def run_verdict(run_id: RunId, _: Everyone, db: DatabaseDep, lang: Literal["zh", "en"] = "zh") -> HTMLResponse:
    """The report's verdict box, alone: met or not, the level that fails first in device names, the cost (an HTML fragment
    the page puts in the run's row; the same template as the report's)."""
    run = db.get(PlannerRun, run_id)
    if run is None or run.document is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} has no verdict (yet)")
    return HTMLResponse(verdict_html(run.document, lang))


@runs.get("/{run_id}/report", response_class=HTMLResponse)
def run_report(run_id: RunId, _: Everyone, db: DatabaseDep, lang: Literal["zh", "en"] = "zh") -> HTMLResponse:
    run = db.get(PlannerRun, run_id)
    if run is None or run.document is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} has no report (yet)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.html"
        write_report(run.document, path, lang)
        return HTMLResponse(path.read_text(encoding="utf-8"))
