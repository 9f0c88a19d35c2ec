"""``yxy``: the command line that composes the twin, the actors and the scenarios.

A user's mistake (a bad scenario file, a bad --set) is one red line per problem and
exit code 2, never a traceback.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from hardware_bridge.bridge import Bridge
from hardware_bridge.emulator import Emulator, Faults
from hardware_bridge.errors import BrokerConfigError
from hardware_bridge.live import LiveOptions, LiveStation
from hardware_bridge.mqtt import BrokerConfig
from scenarios import sweep as sweeps
from scenarios.errors import ScenarioError
from scenarios.event_log import EventLog
from scenarios.i18n import LANGUAGES
from scenarios.kpi import ReplicationResult
from scenarios.optimizer import Optimiser, parse_range
from scenarios.parallel import Job, JobFailure, cluster_cpus, ray_session, run_jobs
from scenarios.report import write_comparison_report, write_report
from scenarios.results import compare as compare_results
from scenarios.results import simulate as run_simulation
from scenarios.results import to_json
from scenarios.schema import Scenario, load_scenario
from scenarios.sweep_report import write_sweep_report
from store.db import database_url
from twin.entity import Twin

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


def fail(error: ScenarioError | BrokerConfigError) -> typer.Exit:
    for line in str(error).splitlines():
        errors.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
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


def fmt(estimate: dict[str, float] | None, scale: float = 1.0, digits: int = 1) -> str:
    """Mean ± half-width of the interval: narrow enough for a terminal table; — when not measured."""
    if estimate is None:
        return "—"
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
        f"visits {fmt(station['visits'], digits=0)} inside, {fmt(station['outside_visits'], digits=0)} outside  "
        f"peak occupancy {fmt(station['peak_occupancy'])}  "
        f"capex {document['cost']['capex_cny']:,.0f} CNY  monthly {document['cost']['monthly_cny']:,.0f} CNY"
    )


def check_writable(option: str, path: Path | None) -> None:
    """Refuse an output that cannot be written before the run, not after it."""
    if path is None:
        return
    existed = path.exists()
    try:
        if path.is_dir():
            raise IsADirectoryError("it is a folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        errors.print(
            f"[red]error:[/red] {option} {escape(str(path))}: cannot write there ({escape(exc.strerror or str(exc))})", highlight=False
        )
        raise typer.Exit(code=2) from None
    if not existed:
        path.unlink()


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
    with ray_session(ray_address) as startup:
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

            try:
                run_jobs(jobs, finished, failed)
            except KeyboardInterrupt:
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
    try:
        optimiser = Optimiser(
            resolve(scenario), overrides or [], [parse_range(v) for v in vary], constraint,
            months=months, confidence=confidence, max_replications=max_replications, budget=budget,
        )  # fmt: skip
    except ScenarioError as exc:
        raise fail(exc) from None
    console.print(f"{len(optimiser.candidates)} candidates, {len(optimiser.constraints)} constraints, budget {budget} replications")
    with ray_session(ray_address) as startup, progress_bar() as progress:
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


FAULTS = {
    "drop": "drops off after a minute (its last will says offline)",
    "garbage": "every third state message is garbage",
    "stuck": "acknowledges commands but does not change",
    "slow": "acknowledges 10 s late",
    "noack": "never acknowledges",
}


def _fault(text: str) -> tuple[str, str]:
    device, sep, kind = text.partition("=")
    if not sep or kind not in FAULTS:
        errors.print(f"[red]error:[/red] --fault {escape(text)!r}: write DEVICE=" + "|".join(FAULTS), highlight=False)
        raise typer.Exit(code=2)
    return device, kind


@app.command()
def emulate(
    station: Annotated[str, typer.Argument(help="Scenario file or library name: its devices are emulated.")] = "typical_week",
    mqtt: Annotated[
        str, typer.Option("--mqtt", help="Broker URL, e.g. mqtt://127.0.0.1:1883 (mqtts:// for TLS).")
    ] = "mqtt://127.0.0.1:1883",
    speed: Annotated[float, typer.Option("--speed", min=0.01, help="Simulated seconds per real second for the population.")] = 1.0,
    fault: Annotated[list[str] | None, typer.Option("--fault", help=f"Make a device misbehave: DEVICE={'|'.join(FAULTS)}.")] = None,
    report_interval: Annotated[float, typer.Option("--report-interval", min=0.1, help="Seconds between state reports.")] = 30.0,
    duration: Annotated[float | None, typer.Option("--duration", min=0, help="Stop after this many seconds.")] = None,
) -> None:
    """Emulate every device of a station over MQTT, driven by its simulated population in real time or faster."""
    try:
        scenario = load(station, [], None)
        config = BrokerConfig.from_url(mqtt)
    except (ScenarioError, BrokerConfigError) as exc:
        raise fail(exc) from None
    faults = dict(_fault(f) for f in fault or [])
    chosen = {
        device: Faults(
            garbage_every=3 if kind == "garbage" else 0, stuck=kind == "stuck", ack_delay_s=10.0 if kind == "slow" else 0.0,
            drop_acks=kind == "noack",
        )
        for device, kind in faults.items()
    }  # fmt: skip
    emulator = Emulator(scenario, config, report_interval_s=report_interval, faults=chosen).start()
    emulator.drive(speed=speed)
    console.print(f"emulating {len(emulator.devices)} devices of {scenario.station_id} on {config.host}:{config.port} at {speed:g}x")
    for device, kind in faults.items():
        console.print(f"  {device}: {FAULTS[kind]}")
    try:
        _wait(duration, lambda: _drop_after(emulator, faults))
    finally:
        emulator.stop()


def _drop_after(emulator: Emulator, faults: dict[str, str]) -> None:
    for device, kind in faults.items():
        target = emulator.devices.get(device)
        if kind == "drop" and target is not None and target.mqtt.connected and target.sent > 0:
            target.drop_off()


def _wait(duration: float | None, tick: Callable[[], None], interval_s: float = 60.0) -> None:
    """Run until Ctrl-C or ``duration``, calling ``tick`` every ``interval_s``."""
    started = time.monotonic()
    try:
        while duration is None or time.monotonic() - started < duration:
            time.sleep(min(interval_s, duration - (time.monotonic() - started)) if duration else interval_s)
            tick()
    except KeyboardInterrupt:
        console.print("stopping")


@app.command()
def live(
    station: Annotated[
        str, typer.Argument(help="Scenario file or library name: the station's devices and automations.")
    ] = "automated_station",
    mqtt: Annotated[
        str | None, typer.Option("--mqtt", help="Broker URL (mqtt://host:1883, mqtts:// for TLS). Default: an embedded broker.")
    ] = None,
    broker_port: Annotated[int, typer.Option("--broker-port", min=1, max=65535, help="Port of the embedded broker.")] = 18830,
    database: Annotated[
        str | None, typer.Option("--database", help="History database URL (default: YXY_DATABASE_URL or sqlite:///yxy.db).")
    ] = None,
    emulated: Annotated[
        bool, typer.Option("--emulate/--no-emulate", help="Emulate the devices, driven by the simulated population.")
    ] = False,
    speed: Annotated[float, typer.Option("--speed", min=0.01, help="With --emulate: simulated seconds per real second.")] = 1.0,
    report_interval: Annotated[float, typer.Option("--report-interval", min=0.1, help="Devices' report interval, seconds.")] = 30.0,
    duration: Annotated[float | None, typer.Option("--duration", min=0, help="Stop after this many seconds.")] = None,
    discovery: Annotated[bool, typer.Option("--discovery/--no-discovery", help="Announce the devices to Home Assistant.")] = False,
) -> None:
    """Run the live twin: MQTT bridge, history, automations and alarms (and, with --emulate, the emulated station)."""
    try:
        scenario = load(station, [], None)
        if mqtt is not None:
            BrokerConfig.from_url(mqtt)
    except (ScenarioError, BrokerConfigError) as exc:
        raise fail(exc) from None
    options = LiveOptions(
        mqtt_url=mqtt, broker_port=broker_port, database_url=database or database_url(), emulate=emulated, speed=speed,
        report_interval_s=report_interval, discovery=discovery,
    )  # fmt: skip
    station_live = LiveStation(scenario, options)
    try:
        station_live.start()
    except RuntimeError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(code=2) from None
    bridge = station_live.bridge
    assert bridge is not None
    console.print(f"live station {scenario.station_id}: {len(station_live.devices)} devices, history in {options.database_url}")
    try:
        _wait(duration, lambda: console.print(_status(bridge)), interval_s=min(10.0, duration or 10.0))
    finally:
        station_live.stop()


def _status(bridge: Bridge) -> str:
    def summary(twin: Twin) -> str:
        online = sum(1 for e in twin.entities.values() if e.available)
        states = Counter(c.state.value for c in twin.commands.values())
        return (
            f"{online}/{len(twin.entities)} online; messages {bridge.received} ({sum(bridge.rejected.values())} rejected); "
            f"commands {dict(states)}; active alarms {len(bridge.alarms.active())}"
        )

    return str(bridge.read(summary))


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
