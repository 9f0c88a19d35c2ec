"""``yxy``: the command line that composes the twin, the actors and the scenarios.

A user's mistake (a bad scenario file, a bad --set) is one red line per problem and
exit code 2, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from scenarios.errors import ScenarioError
from scenarios.event_log import EventLog
from scenarios.i18n import LANGUAGES
from scenarios.report import write_comparison_report, write_report
from scenarios.results import compare as compare_results
from scenarios.results import simulate as run_simulation
from scenarios.results import to_json
from scenarios.schema import Scenario, load_scenario

LIBRARY = Path(__file__).resolve().parent.parent / "scenarios" / "library"

app = typer.Typer(
    name="yxy",
    help="云小驿 Yunxiaoyi: digital twin and what-if simulator for 24-hour trade-union rest stations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario value: dotted KEY=VALUE, e.g. devices.microwave.units=3 (repeatable)."),
]
ReplicationsOption = Annotated[int | None, typer.Option("--replications", "-n", min=1, help="Replications (default: the scenario's).")]
SeedOption = Annotated[int | None, typer.Option("--seed", min=0, help="Base seed (default: the scenario's).")]
LangOption = Annotated[str, typer.Option("--lang", help=f"Report language: {', '.join(LANGUAGES)}.")]


def resolve(scenario: str) -> Path:
    """A path, or the name of a library scenario (``summer_heat_wave``)."""
    path = Path(scenario)
    if path.exists() or path.suffix == ".toml":
        return path
    return LIBRARY / f"{scenario}.toml"


def load(scenario: str, overrides: list[str], seed: int | None) -> Scenario:
    if seed is not None:
        overrides = [*overrides, f"scenario.seed={seed}"]
    return load_scenario(resolve(scenario), overrides)


def fail(error: ScenarioError) -> typer.Exit:
    for line in str(error).splitlines():
        errors.print(f"[red]error:[/red] {line}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        errors.print(f"[red]error:[/red] --lang {lang!r}: one of {', '.join(LANGUAGES)}", highlight=False)
        raise typer.Exit(code=2)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def run_with_progress(scenario: Scenario, replications: int | None, label: str, events: EventLog | None = None) -> dict[str, Any]:
    total = replications or scenario.replications
    with progress_bar() as progress:
        task = progress.add_task(label, total=total)
        return run_simulation(
            scenario,
            total,
            progress=lambda done: progress.update(task, completed=done),
            observers=(lambda r: [events.for_replication(r)]) if events else None,
        )


def fmt(estimate: dict[str, float], scale: float = 1.0, digits: int = 1) -> str:
    """Mean ± half-width of the interval: narrow enough for a terminal table."""
    half = (estimate["ci_high"] - estimate["ci_low"]) / 2 * scale
    return f"{estimate['mean'] * scale:.{digits}f} ±{half:.{digits}f}"


def print_summary(document: dict[str, Any]) -> None:
    table = Table(title=f"{document['scenario']['title']} — {document['scenario']['replications']} replications, mean ±95% CI")
    for column in ("resource", "units", "wait mean s", "wait p95 s", "utilisation %", "served", "balked", "reneged", "blocked"):
        table.add_column(column, justify="left" if column == "resource" else "right")
    for rid, r in document["resources"].items():
        table.add_row(
            rid,
            str(r["units"]),
            fmt(r["wait_mean_s"]),
            fmt(r["wait_p95_s"]),
            fmt(r["utilisation"], 100),
            fmt(r["served"], digits=0),
            fmt(r["balked"], digits=0),
            fmt(r["reneged"], digits=0),
            fmt(r["blocked"], digits=0),
        )
    console.print(table)
    station = document["station"]
    console.print(
        f"visits {fmt(station['visits'], digits=0)}  peak occupancy {fmt(station['peak_occupancy'])}  "
        f"capex {document['cost']['capex_cny']:,.0f} CNY  monthly {document['cost']['monthly_cny']:,.0f} CNY"
    )


def write_outputs(document: dict[str, Any], json_out: Path | None, report: Path | None, write_html: Callable[[Path], None]) -> None:
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(to_json(document), encoding="utf-8")
        console.print(f"results: {json_out}")
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        write_html(report)
        console.print(f"report: {report.resolve()}")


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
    names = [name for name, _ in variants]
    if len(set(names)) != len(names):
        variants = [(f"{i + 1}:{name}", s) for i, (name, s) in enumerate(variants)]
    documents = [(name, run_with_progress(s, replications, name)) for name, s in variants]
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
                cells.append(("* " if d["significant"] else "") + fmt(d, scale))
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


def main() -> None:
    """Entry point; also for ``python -m cli``."""
    app()
