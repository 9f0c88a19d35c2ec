"""Studies on Ray: sweeps of variants and the optimiser."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import (
    LangOption,
    ReplicationsOption,
    SetOption,
    app,
    check_lang,
    console,
    errors,
    fail,
    progress_bar,
    resolve,
    write_outputs,
)
from scenarios.errors import ScenarioError

if TYPE_CHECKING:  # Ray, the simulation and the reports are imported by the commands that use them
    from scenarios.kpi import ReplicationResult
    from scenarios.parallel import Job, JobFailure


@app.command()
def sweep(
    scenario: Annotated[str, typer.Argument(help="Scenario file, or a library name.")],
    grid: Annotated[
        list[str], typer.Option("--grid", help="A swept key and its values: KEY=V1,V2,... (repeatable; all combinations run).")
    ],
    replications: ReplicationsOption = None,
    overrides: SetOption = None,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Join this Ray cluster (e.g. 10.0.0.5:6379) instead of starting a local Ray.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for results; a sweep run again on the same folder resumes.")] = Path(
        "out/sweep"
    ),
    lang: LangOption = "zh",
) -> None:
    """Run every combination of the swept values, every replication as a Ray task, and report each KPI against each parameter.

    Finished replications are saved as they arrive: after Ctrl-C or a crash, the same command runs only what is missing.
    """
    from scenarios import sweep as sweeps
    from scenarios.parallel import CHAOS_KILL_ONCE, CHAOS_SLOW_S, cluster_cpus, run_jobs
    from scenarios.results import to_json
    from scenarios.sweep_report import write_sweep_report
    from station.ray import ray_session

    check_lang(lang)
    try:
        plan = sweeps.plan(resolve(scenario), overrides or [], [sweeps.parse_axis(g) for g in grid], replications)
        store = sweeps.SweepStore(out, plan.manifest())
    except ScenarioError as exc:
        raise fail(exc) from None
    except OSError as exc:
        errors.print(
            f"[red]error:[/red] --out {escape(str(out))}: cannot write there ({escape(exc.strerror or str(exc))})", highlight=False
        )
        raise typer.Exit(code=2) from None
    for name, error in plan.invalid.items():
        for line in error.splitlines():
            errors.print(f"[red]error:[/red] variant {escape(name)}: {escape(line)}", highlight=False, soft_wrap=True)
    jobs = list(plan.jobs(set(store.results)))
    total = len(plan.scenarios) * plan.replications
    if total - len(jobs):
        console.print(f"resuming: {total - len(jobs)} of {total} replications already in {out}")
    failures: list[JobFailure] = []
    try:
        with ray_session(ray_address, forward=(CHAOS_KILL_ONCE, CHAOS_SLOW_S)) as startup:
            console.print(f"Ray ready in {startup:.1f} s with {cluster_cpus()} CPUs")
            with progress_bar() as progress:
                task = progress.add_task("sweep", total=total, completed=total - len(jobs))

                def finished(job: Job, result: ReplicationResult) -> None:
                    store.add(job.variant, result)
                    progress.advance(task)

                def failed(failure: JobFailure) -> None:
                    failures.append(failure)
                    errors.print(
                        f"[red]failed:[/red] variant {escape(failure.variant)} replication {failure.replication}: {escape(failure.error)}",
                        highlight=False,
                    )

                run_jobs(jobs, finished, failed)
    except KeyboardInterrupt:
        # Also when Ctrl-C lands while Ray shuts down: what finished is on disk either way.
        errors.print(f"interrupted: {len(store.results)} of {total} replications kept in {out}; run the same command to resume")
        raise typer.Exit(code=130) from None
    document = sweeps.summarise_sweep(plan, store, failures)
    (out / "sweep.json").write_text(to_json(document), encoding="utf-8")
    sweeps.write_csv(document, out / "sweep.csv")
    write_sweep_report(document, out / "sweep.html", lang)
    print_sweep(document)
    console.print(f"results: {out / 'sweep.json'}, {out / 'sweep.csv'}\nreport: {(out / 'sweep.html').resolve()}")
    if plan.invalid:
        raise typer.Exit(code=2)
    if failures:
        raise typer.Exit(code=1)


def print_sweep(document: dict[str, Any]) -> None:
    from scenarios import sweep as sweeps

    over = ", ".join(document["pareto"]["devices"] or ["all devices"])
    table = Table(title=f"sweep — {document['replications']} replications per variant; worst p95 wait of {over}; * Pareto front")
    for column in ("variant", "replications", "capex CNY", "worst p95 wait s"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    front = set(document["pareto"]["front"])
    for v in document["variants"]:
        worst = sweeps.worst_wait_p95(v, document["pareto"]["devices"])
        table.add_row(
            ("* " if v["name"] in front else "") + escape(v["name"]),
            str(v["replications"]),
            f"{v['cost']['capex_cny']:,.0f}",
            "-" if worst is None else f"{worst:.1f}",
        )
    console.print(table)


@app.command()
def optimize(
    scenario: Annotated[str, typer.Argument(help="Scenario file, or a library name.")],
    vary: Annotated[list[str], typer.Option("--vary", help="A capacity to choose: KEY=LO..HI, whole numbers (repeatable).")],
    constraint: Annotated[
        list[str],
        typer.Option("--constraint", help="A service level: 'KPI[ID] <= X' or '>= X', e.g. 'wait_p95_s[microwave] <= 180' (repeatable)."),
    ],
    budget: Annotated[int, typer.Option("--budget", min=2, help="Replications to spend at most, across candidates.")] = 400,
    months: Annotated[float, typer.Option("--months", min=0, help="Cost = purchase + this many months of running cost.")] = 12.0,
    max_replications: Annotated[int, typer.Option("--max-replications", min=2, help="Replications at most for one candidate.")] = 40,
    confidence: Annotated[
        float, typer.Option("--confidence", min=0.5, max=0.999, help="Confidence that the answer meets every constraint.")
    ] = 0.95,
    overrides: SetOption = None,
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="Join this Ray cluster instead of starting a local Ray.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the answer, runners-up and estimates here.")] = None,
) -> None:
    """Find the cheapest capacities that meet every constraint with stated confidence (common random numbers,
    more replications only where a decision is close)."""
    from scenarios.optimizer import Optimiser, parse_range
    from scenarios.parallel import CHAOS_KILL_ONCE, CHAOS_SLOW_S, cluster_cpus, run_jobs
    from station.ray import ray_session

    try:
        optimiser = Optimiser(
            resolve(scenario), overrides or [], [parse_range(v) for v in vary], constraint,
            months=months, confidence=confidence, max_replications=max_replications, budget=budget,
        )  # fmt: skip
    except ScenarioError as exc:
        raise fail(exc) from None
    console.print(f"{len(optimiser.candidates)} candidates, {len(optimiser.constraints)} constraints, budget {budget} replications")
    with ray_session(ray_address, forward=(CHAOS_KILL_ONCE, CHAOS_SLOW_S)) as startup, progress_bar() as progress:
        console.print(f"Ray ready in {startup:.1f} s with {cluster_cpus()} CPUs")
        task = progress.add_task("optimize", total=budget)

        def execute(jobs: list[Job], on_result: Callable[[Job, ReplicationResult], None], on_failure: Callable[[JobFailure], None]) -> None:
            def counted(job: Job, result: ReplicationResult) -> None:
                on_result(job, result)
                progress.advance(task)

            run_jobs(jobs, counted, on_failure)

        try:
            optimiser.run(execute, slots=cluster_cpus())
        except ScenarioError as exc:
            raise fail(exc) from None
        except KeyboardInterrupt:
            errors.print("interrupted: no answer yet")
            raise typer.Exit(code=130) from None
        progress.update(task, total=optimiser.spent, completed=optimiser.spent)
    report = optimiser.report()
    print_optimisation(report)
    if json_out is not None:
        write_outputs(report, json_out, None, lambda _: None)
    if report["answer"] is None:
        raise typer.Exit(code=1)


def _bounds_text(bound: dict[str, Any]) -> str:
    return "not measured" if bound["mean"] is None else f"{bound['mean']:.3g} [{bound['low']:.3g}, {bound['high']:.3g}]"


def print_optimisation(report: dict[str, Any]) -> None:
    answer = report["answer"]
    level = f"{report['per_constraint_confidence']:.1%} one-sided per constraint"
    if answer is None:
        errors.print(
            f"no candidate was shown to meet every constraint within {report['replications_spent']} replications ({report['verdicts']})"
        )
    else:
        values = ", ".join(f"{k}={v}" for k, v in answer["values"].items())
        console.print(f"[bold green]answer:[/bold green] {escape(values)}  cost {answer['cost_cny']:,.0f} CNY ({report['cost']})")
        for c in answer["constraints"]:
            console.print(
                f"  {c['constraint']}: {c['mean']:.4g} [{c['low']:.4g}, {c['high']:.4g}] ({level}, {answer['replications']} replications)",
                markup=False,
            )
    table = Table(title="runners-up")
    for column in ("candidate", "cost CNY", "verdict", "replications", "constraints: mean [bounds]"):
        table.add_column(column)
    for c in report["runners_up"]:
        table.add_row(
            ", ".join(f"{k.split('.')[-2] if '.' in k else k}={v}" for k, v in c["values"].items()),
            f"{c['cost_cny']:,.0f}",
            c["verdict"],
            str(c["replications"]),
            "; ".join(
                "not measured" if x["mean"] is None else f"{x['mean']:.3g} [{x['low']:.3g}, {x['high']:.3g}]" for x in c["constraints"]
            ),
        )
    console.print(table)
    console.print(f"replications spent: {report['replications_spent']} of {report['budget']}; verdicts: {report['verdicts']}")
