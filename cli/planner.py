"""The planner's commands: simulate a scenario, compare variants, list the library."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import (
    LIBRARY,
    LangOption,
    ReplicationsOption,
    SeedOption,
    SetOption,
    app,
    check_lang,
    check_writable,
    console,
    errors,
    fail,
    fmt,
    load,
    print_summary,
    run_with_progress,
    write_outputs,
)
from scenarios.errors import ScenarioError
from scenarios.event_log import EventLog
from scenarios.report import write_comparison_report, write_report
from scenarios.results import compare as compare_results
from scenarios.schema import Scenario, load_scenario


@app.command()
def simulate(
    scenario: Annotated[str, typer.Argument(help="Scenario file, or a library name (see `yxy scenarios`).")],
    replications: ReplicationsOption = None,
    seed: SeedOption = None,
    overrides: SetOption = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results document (docs/results.md) here.")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write the self-contained HTML report here.")] = None,
    events: Annotated[Path | None, typer.Option("--events", help="Write every change of every replication to this CSV file.")] = None,
    lang: LangOption = "zh",
) -> None:
    """Simulate a scenario: KPIs with 95% confidence intervals, as a table, JSON and an HTML report."""
    check_lang(lang)
    try:
        loaded = load(scenario, overrides or [], seed)
    except ScenarioError as exc:
        raise fail(exc) from None
    for option, path in (("--json", json_out), ("--report", report), ("--events", events)):
        check_writable(option, path)
    with ExitStack() as stack:
        log = None
        if events is not None:
            events.parent.mkdir(parents=True, exist_ok=True)
            log = EventLog(stack.enter_context(events.open("w", encoding="utf-8", newline="")), loaded.start)
        document = run_with_progress(loaded, replications, loaded.name, log)
    print_summary(document)
    write_outputs(document, json_out, report, lambda path: write_report(document, path, lang))
    if events is not None:
        console.print(f"event log: {events}")


@app.command()
def compare(
    scenarios: Annotated[list[str], typer.Argument(help="Scenario files or library names; the first is the baseline.")],
    variant: Annotated[
        list[str] | None,
        typer.Option("--variant", help="Another variant: the first scenario with this KEY=VALUE (repeatable)."),
    ] = None,
    replications: ReplicationsOption = None,
    seed: SeedOption = None,
    overrides: SetOption = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the comparison document here.")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write the side-by-side HTML report here.")] = None,
    lang: LangOption = "zh",
) -> None:
    """Compare variants side by side on common random numbers: differences with CIs, and which are significant.

    Every variant runs on the baseline's seed, so the differences are not noise.
    """
    check_lang(lang)
    try:
        baseline = load(scenarios[0], overrides or [], seed)
        variants: list[tuple[str, Scenario]] = [(baseline.name, baseline)]
        for other in scenarios[1:]:
            loaded = load(other, overrides or [], baseline.seed)
            variants.append((loaded.name, loaded))
        for item in variant or []:
            variants.append((item, load(scenarios[0], [*(overrides or []), item], baseline.seed)))
    except ScenarioError as exc:
        raise fail(exc) from None
    if len(variants) < 2:
        errors.print("[red]error:[/red] compare needs two scenarios, or one and --variant KEY=VALUE", highlight=False)
        raise typer.Exit(code=2)
    for name, candidate in variants[1:]:
        if (candidate.horizon_s, candidate.warmup_s) != (baseline.horizon_s, baseline.warmup_s):
            errors.print(
                f"[red]error:[/red] {escape(name)}: horizon {candidate.horizon_s:g} s and warm-up {candidate.warmup_s:g} s differ from the "
                f"baseline's ({baseline.horizon_s:g} s, {baseline.warmup_s:g} s); variants are compared over the same window",
                highlight=False,
            )
            raise typer.Exit(code=2)
    for option, path in (("--json", json_out), ("--report", report)):
        check_writable(option, path)
    names = [name for name, _ in variants]
    if len(set(names)) != len(names):
        variants = [(f"{i + 1}:{name}", s) for i, (name, s) in enumerate(variants)]
    # Every variant runs the baseline's replications: pairs need partners.
    count = replications or baseline.replications
    documents = [(name, run_with_progress(s, count, name)) for name, s in variants]
    comparison = compare_results(documents)
    print_comparison(comparison)
    write_outputs(comparison, json_out, report, lambda path: write_comparison_report(comparison, path, lang))


def print_comparison(comparison: dict[str, Any]) -> None:
    base = comparison["baseline"]
    for name, diff in comparison["differences"].items():
        table = Table(title=f"{name} − {base} (paired, 95% CI; * significant)")
        for column in ("resource", "wait mean s", "wait p95 s", "utilisation %", "blocked"):
            table.add_column(column, justify="left" if column == "resource" else "right")
        for rid, kpis in diff["resources"].items():
            cells = []
            for key, scale in (("wait_mean_s", 1.0), ("wait_p95_s", 1.0), ("utilisation", 100.0), ("blocked", 1.0)):
                d = kpis[key]
                cells.append(("* " if d and d["significant"] else "") + fmt(d, scale))
            table.add_row(rid, *cells)
        console.print(table)
        console.print(f"capex {diff['cost']['capex_cny']:+,.0f} CNY, monthly {diff['cost']['monthly_cny']:+,.0f} CNY")


@app.command("scenarios")
def list_scenarios() -> None:
    """List the library scenarios that ship with the tool."""
    table = Table(title=f"library: {LIBRARY}")
    table.add_column("name")
    table.add_column("title")
    for path in sorted(LIBRARY.glob("*.toml")):
        try:
            loaded = load_scenario(path)
        except ScenarioError as exc:
            raise fail(exc) from None
        table.add_row(path.stem, loaded.title)
    console.print(table)
