"""Replications as Ray tasks, for sweeps and the optimiser.

A task is one whole replication: a SimPy environment cannot be pickled, so each task
builds its model from the validated scenario it is sent.  Tasks are submitted first
and gathered as they finish, with a bound on how many are in flight; a task that
raises or whose worker dies is retried once, then reported with its variant and
replication.  Ray itself is started by the command (station/ray.py's ``ray_session``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.kpi import ReplicationResult
from scenarios.model import run_replication
from scenarios.schema import Scenario

logger = logging.getLogger(__name__)

CHAOS_KILL_ONCE = "YXY_CHAOS_KILL_TASK_ONCE"
CHAOS_SLOW_S = "YXY_CHAOS_SLOW_TASK_S"
"""Tests only: every replication first waits this many seconds, so a sweep is surely still running when it is
interrupted (on a loaded machine a sweep of 60 once finished between its fourth result and the Ctrl-C)."""
"""Fault injection for CI: when set to a path, the first task to start creates that
file and kills its own worker process, as a crashed node would; the retry then runs."""


@dataclass(frozen=True)
class Job:
    variant: str
    replication: int
    scenario: Scenario


@dataclass(frozen=True)
class JobFailure:
    variant: str
    replication: int
    error: str


def replicate(scenario: Scenario, replication: int) -> ReplicationResult:
    """The task: one replication, built from scratch in whichever process runs it."""
    time.sleep(float(os.environ.get(CHAOS_SLOW_S) or 0.0))
    marker = os.environ.get(CHAOS_KILL_ONCE)
    if marker:
        try:
            Path(marker).touch(exist_ok=False)
        except FileExistsError:
            pass
        else:
            os._exit(1)
    return run_replication(scenario, replication)


def cluster_cpus() -> int:
    import ray

    resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
    return max(1, int(resources.get("CPU", 1)))


def run_jobs(
    jobs: Iterable[Job],
    on_result: Callable[[Job, ReplicationResult], None],
    on_failure: Callable[[JobFailure], None],
    in_flight: int | None = None,
) -> None:
    """Run ``jobs`` on Ray, calling back as each finishes (in finishing order).

    Tasks still running when this is left early (Ctrl-C, a failing callback) are
    not cancelled here: Ray 2.x aborts the driver when a cancelled task's reply
    races its cancellation ("Tried to complete task that was not pending"). The
    caller's ``ray_session`` shuts Ray down, and tasks whose owner is gone die with it.
    """
    import ray

    task = ray.remote(replicate).options(max_retries=1, retry_exceptions=True, num_cpus=1)
    limit = in_flight or 2 * cluster_cpus()
    pending: dict[Any, Job] = {}
    queue = iter(jobs)
    while True:
        while len(pending) < limit:
            job = next(queue, None)
            if job is None:
                break
            pending[task.remote(job.scenario, job.replication)] = job
        if not pending:
            return
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            job = pending.pop(ref)
            try:
                result = ray.get(ref)
            except (ray.exceptions.RayTaskError, ray.exceptions.WorkerCrashedError) as exc:
                on_failure(JobFailure(job.variant, job.replication, _first_line(exc)))
                continue
            on_result(job, result)


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[-1] if text else ''}"
