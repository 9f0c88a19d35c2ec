"""The planner's commands: simulate a scenario, compare variants, list the library."""

from __future__ import annotations

import csv
import json
import sys
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
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
    resolve,
    run_with_progress,
    write_outputs,
)
from scenarios.errors import ScenarioError

if TYPE_CHECKING:  # the schema, the engine and the reports are imported by the commands that use them
    from scenarios.schema import Scenario


class Format(StrEnum):
    """How a command prints what it found: a table for people, JSON or CSV for scripts."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


FormatOption = Annotated[Format, typer.Option("--format", help="table (for people), json or csv (for scripts).")]


def print_rows(rows: list[dict[str, Any]], how: Format, table: Table | None = None) -> None:
    """``rows`` as ``table`` (its columns already added), or as JSON or CSV with the rows' keys as names."""
    if how is Format.JSON:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    if how is Format.CSV:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else [], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    assert table is not None, "a table is given for people"
    for row in rows:
        table.add_row(*(escape(str(value)) for value in row.values()))
    console.print(table)


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
    how: FormatOption = Format.TABLE,
) -> None:
    """Simulate a scenario: KPIs with 95% confidence intervals, as a table, JSON and an HTML report."""
    from scenarios.event_log import EventLog
    from scenarios.report import write_report

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
    print_summary(document, how)
    write_outputs(document, json_out, report, lambda path: write_report(document, path, lang))
    if events is not None:
        console.print(f"event log: {events}")


KPI_COLUMNS = (("wait_mean_s", "wait s", 1.0, 1), ("wait_p95_s", "p95 s", 1.0, 1), ("utilisation", "busy %", 100.0, 0))
"""The KPIs of the terminal table: (key, header, scale, digits); JSON, CSV and the report have them all."""
REFUSALS = ("balked", "reneged", "blocked")


def print_summary(document: dict[str, Any], how: Format = Format.TABLE) -> None:
    """One row per device: mean ± half-width of the 95% interval in the table (80 columns), every end in JSON and CSV."""
    scenario = document["scenario"]
    if how is not Format.TABLE:
        rows = []
        for rid, r in document["resources"].items():
            row: dict[str, Any] = {"device": rid, "units": r["units"]}
            for key in ("wait_mean_s", "wait_p95_s", "utilisation", "served", *REFUSALS):
                estimate = r[key] or {}
                row |= {key: estimate.get("mean"), f"{key}_low": estimate.get("ci_low"), f"{key}_high": estimate.get("ci_high")}
            rows.append(row)
        print_rows(rows, how)
        return
    table = Table(
        title=(
            f"{escape(scenario['title'])}\n{scenario['replications']} replications; mean and 95% interval"
            "\n(≤ or ≥ x: the end that reaches further)"
        ),
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
    )
    table.add_column("device", no_wrap=True)
    table.add_column("units", justify="right")
    for _, header, _, _ in KPI_COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("served", justify="right", no_wrap=True)
    table.add_column("refused", justify="right", no_wrap=True)
    for rid, r in document["resources"].items():
        refused = sum(r[key]["mean"] for key in REFUSALS if r[key] is not None)
        table.add_row(
            escape(rid),
            str(r["units"]),
            *(fmt(r[key], scale, digits) for key, _, scale, digits in KPI_COLUMNS),
            fmt(r["served"], digits=0),
            f"{refused:.0f}",
        )
    console.print(table)
    station, cost = document["station"], document["cost"]
    console.print(
        f"visits {fmt(station['visits'], digits=0)} inside, {fmt(station['outside_visits'], digits=0)} outside; "
        f"peak occupancy {fmt(station['peak_occupancy'])}\n"
        f"capex {cost['capex_cny']:,.0f} CNY, monthly {cost['monthly_cny']:,.0f} CNY",
        highlight=False,
    )
    console.print(verdict_line(document["verdict"]), highlight=False)


def verdict_line(verdict: dict[str, Any]) -> str:
    """The report's verdict in one line: met, or which service level fails first and by how much."""
    first = verdict["first"]
    if first is None:
        return f"verdict: meets all {len(verdict['checks'])} service levels"
    interval = "not measured" if first["mean"] is None else f"{first['mean']:.4g} ({first['ci_low']:.4g}–{first['ci_high']:.4g})"
    word = "misses" if verdict["overall"] == "missed" else "not yet known"
    return f"verdict: {word}; first {escape(first['level'])}: {interval}"


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
    how: FormatOption = Format.TABLE,
) -> None:
    """Compare variants side by side on common random numbers: differences with CIs, and which are significant.

    Every variant runs on the baseline's seed, so the differences are not noise.
    """
    from scenarios.i18n import in_language
    from scenarios.report import write_comparison_report
    from scenarios.results import compare as compare_results

    check_lang(lang)
    try:
        baseline = load(scenarios[0], overrides or [], seed)
        variants: list[tuple[str, Scenario]] = [(in_language(baseline.title, lang), baseline)]
        for other in scenarios[1:]:
            loaded = load(other, overrides or [], baseline.seed)
            variants.append((in_language(loaded.title, lang), loaded))
        for item in variant or []:
            loaded = load(scenarios[0], [*(overrides or []), item], baseline.seed)
            # named by what it changed ("微波炉 2 → 1 台"): its own override, after the common --set ones
            variants.append((dict(loaded.changes)[lang][len(overrides or [])], loaded))
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
    print_comparison(comparison, how)
    write_outputs(comparison, json_out, report, lambda path: write_comparison_report(comparison, path, lang))


def print_comparison(comparison: dict[str, Any], how: Format = Format.TABLE) -> None:
    """Each variant minus the baseline, paired: mean and interval, * where it is significant."""
    base = comparison["baseline"]
    keys = (
        ("wait_mean_s", "wait s", 1.0, 1),
        ("wait_p95_s", "p95 s", 1.0, 1),
        ("utilisation", "busy %", 100.0, 1),
        ("blocked", "blocked", 1.0, 1),
    )
    if how is not Format.TABLE:
        rows = []
        for name, diff in comparison["differences"].items():
            for rid, kpis in diff["resources"].items():
                row: dict[str, Any] = {"variant": name, "baseline": base, "device": rid}
                for key, *_ in keys:
                    d = kpis[key] or {}
                    row |= {
                        key: d.get("mean"),
                        f"{key}_low": d.get("ci_low"),
                        f"{key}_high": d.get("ci_high"),
                        f"{key}_significant": d.get("significant"),
                        f"{key}_more_replications": d.get("more_replications"),
                    }
                rows.append(row)
        print_rows(rows, how)
        return
    for name, diff in comparison["differences"].items():
        table = Table(
            title=f"{escape(name)}\nminus {escape(base)}; paired 95% intervals; * significant", box=box.SIMPLE_HEAD, pad_edge=False
        )
        table.add_column("device", no_wrap=True)
        for _, header, _, _ in keys:
            table.add_column(header, justify="right", no_wrap=True)
        for rid, kpis in diff["resources"].items():
            cells = []
            for key, _, scale, digits in keys:
                d = kpis[key]
                cells.append(("* " if d and d["significant"] else "") + fmt(d, scale, digits))
            table.add_row(escape(rid), *cells)
        console.print(table)
        needed = [
            d["more_replications"] for kpis in diff["resources"].values() for key, *_ in keys if (d := kpis[key]) and not d["significant"]
        ]
        if needed:
            most = max((n for n in needed if n is not None), default=None)
            ran = comparison["variants"][base]["scenario"]["replications"]
            advice = f"~{most} more replications (--replications {ran + most})" if most else "no practical number of replications"
            console.print(f"not yet told apart (no *): {advice}", highlight=False)
        console.print(f"capex {diff['cost']['capex_cny']:+,.0f} CNY, monthly {diff['cost']['monthly_cny']:+,.0f} CNY", highlight=False)


@app.command("scenarios")
def list_scenarios(how: FormatOption = Format.TABLE) -> None:
    """List the library scenarios that ship with the tool."""
    from scenarios.files import read_scenario_tree

    rows = []
    for path in sorted(LIBRARY.glob("*.toml")):  # the titles only: `yxy check NAME` validates one (CI checks them all)
        try:
            title = read_scenario_tree(path).get("scenario", {}).get("title", path.stem)
        except ScenarioError as exc:
            raise fail(exc) from None
        rows.append({"name": path.stem, "title": title})
    table = Table(title="library scenarios (yxy simulate NAME)")
    table.add_column("name", no_wrap=True)
    table.add_column("title")
    print_rows(rows, how, table)


@app.command()
def check(
    scenario: Annotated[str, typer.Argument(help="Scenario file, or a library name.")],
    overrides: SetOption = None,
) -> None:
    """Check a scenario without running it: every mistake at once, one line each with the key's line (exit 2), else what it holds."""
    from scenarios.lines import locate

    try:
        loaded = load(scenario, overrides or [], None)
    except ScenarioError as exc:
        path = resolve(scenario)
        raise fail(locate(exc, path.read_text(encoding="utf-8")) if path.is_file() else exc) from None
    units = sum(getattr(d.config, "units", 1) for d in loaded.station.devices)
    console.print(
        f"[green]ok[/green]: {escape(loaded.title)} — {len(loaded.station.devices)} devices ({units} units), "
        f"{len(loaded.population.groups)} worker groups, {loaded.horizon_s / 3600:g} h after {loaded.warmup_s / 3600:g} h warm-up, "
        f"{loaded.replications} replications",
        highlight=False,
        soft_wrap=True,
    )
