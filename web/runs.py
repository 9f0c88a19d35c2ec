"""The planner from the page: the scenario library, runs queued on the planner's worker, their reports and comparisons."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from scenarios.errors import ScenarioError
from scenarios.report import write_comparison_report, write_report
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
    overrides: list[str]
    replications: int
    status: str
    done_replications: int
    error: str | None


runs = APIRouter(prefix="/api/runs", tags=["planner"])
Planners = Annotated[User, Depends(RequireRole(Role.OPERATOR, Role.ADMIN))]


@runs.get("/library", response_model=list[str])
def scenario_library(_: Everyone) -> list[str]:
    return planner.library()


class ScenarioSummary(BaseModel):
    name: str
    title: str
    workers: int
    replications: int
    units: dict[str, int] = Field(description="Device id -> units, for the devices that serve workers.")


@runs.get("/library/{name}", response_model=ScenarioSummary)
def scenario_summary(name: Id, user: Everyone) -> ScenarioSummary:
    """The values the planner's form offers to change."""
    if name not in planner.library():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no library scenario {name!r}")
    scenario = planner.validate(name, None, [])[2]
    units = {d.id: int(d.config.units) for d in scenario.station.devices if hasattr(d.config, "units")}
    workers = int(planner.workers(scenario))
    return ScenarioSummary(name=name, title=scenario.title, workers=workers, replications=scenario.replications, units=units)


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
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc).replace("upload.toml", "upload")) from None
    try:
        run_id = svc.planner.submit(user.username, name, source, scenario, body.overrides, body.replications)
    except planner.TooCostly as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except planner.QueueFull as exc:
        raise Refused(status.HTTP_429_TOO_MANY_REQUESTS, "queue_full", str(exc)) from None
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
        return RunView.model_validate(run, from_attributes=True)


@runs.get("", response_model=list[RunView])
def list_runs(_: Everyone, db: DatabaseDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[RunView]:
    rows = db.scalars(select(PlannerRun).order_by(PlannerRun.id.desc()).limit(limit))
    return [RunView.model_validate(r, from_attributes=True) for r in rows]


@runs.get("/compare", response_class=HTMLResponse)
def compare_runs(
    _: Everyone, db: DatabaseDep, ids: Annotated[list[RunId], Query(min_length=2, max_length=6)], lang: Literal["zh", "en"] = "zh"
) -> HTMLResponse:
    """Runs side by side, each against the first, paired by replication (they share seeds when the base seed is the same)."""
    documents = []
    for run_id in ids:
        run = db.get(PlannerRun, run_id)
        if run is None or run.document is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} has no results (yet)")
        documents.append((f"#{run.id} {run.scenario} {' '.join(run.overrides)}".strip(), run.document))
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


@runs.get("/{run_id}/report", response_class=HTMLResponse)
def run_report(run_id: RunId, _: Everyone, db: DatabaseDep, lang: Literal["zh", "en"] = "zh") -> HTMLResponse:
    run = db.get(PlannerRun, run_id)
    if run is None or run.document is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} has no report (yet)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.html"
        write_report(run.document, path, lang)
        return HTMLResponse(path.read_text(encoding="utf-8"))
