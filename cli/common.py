"""What every yxy command shares: the app, the consoles, loading scenarios, user errors, progress, outputs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from hardware_bridge.errors import BrokerConfigError
from scenarios.errors import ScenarioError

if TYPE_CHECKING:  # the scenario schema, the simulation and rich's progress are imported by the commands that use them
    from rich.progress import Progress
    from sqlalchemy import Engine

    from scenarios.event_log import EventLog
    from scenarios.schema import Scenario, Station
    from station.settings import Settings
    from store.audit import AuditLog

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
LangOption = Annotated[str, typer.Option("--lang", help="Report language: zh or en (checked against the catalog's).")]


def resolve(scenario: str) -> Path:
    """A path, or the name of a library scenario (``summer_heat_wave``) or station (``yunting``)."""
    path = Path(scenario)
    if path.exists() or path.suffix == ".toml":
        return path
    station = LIBRARY / "stations" / f"{scenario}.toml"
    return station if station.exists() and not (LIBRARY / f"{scenario}.toml").exists() else LIBRARY / f"{scenario}.toml"


def load_station_or_scenario(name: str) -> tuple[Station, Scenario | None]:
    """A station file's station, or a scenario's station with the scenario (whose workers can drive emulated devices)."""
    from scenarios.files import read_scenario_tree
    from scenarios.schema import is_scenario, load_scenario, load_station

    path = resolve(name)
    raw = read_scenario_tree(path)
    if is_scenario(raw):
        scenario = load_scenario(path, raw=raw)
        return scenario.station, scenario
    return load_station(path, raw=raw), None


def load(scenario: str, overrides: list[str], seed: int | None) -> Scenario:
    from scenarios.schema import load_scenario

    if seed is not None:
        overrides = [*overrides, f"scenario.seed={seed}"]
    return load_scenario(resolve(scenario), overrides)


def database_failed(database_url: str, error: Exception) -> typer.Exit:
    """A database that cannot be reached or read: its URL and what kind of failure, one line, exit 2 (no traceback)."""
    errors.print(f"[red]error:[/red] {escape(database_url)}: {error.__class__.__name__}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


@contextmanager
def station_database(settings: Settings) -> Iterator[tuple[Engine, AuditLog, bytes]]:
    """The migrated database the settings name, its audit log and the station's key; a key file or a database that
    cannot be used is one line and exit 2 (no traceback), and the engine is let go however the block ends."""
    from sqlalchemy.exc import SQLAlchemyError

    from store.audit import AuditKeyError, AuditLog, key_file_for, load_or_create_key
    from store.db import engine_for, migrate

    engine = None
    try:
        if settings.database_url.startswith("sqlite:///"):
            Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = engine_for(settings.database_url)
        path = key_file_for(settings.database_url, settings.audit_key_file)
        audit, key = AuditLog(path), load_or_create_key(path)
        migrate(engine)
        yield engine, audit, key
    except AuditKeyError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    except (SQLAlchemyError, OSError) as exc:  # an unknown kind of URL, a folder that cannot be made
        raise database_failed(settings.database_url, exc) from None
    finally:
        if engine is not None:
            engine.dispose()


def fail(error: ScenarioError | BrokerConfigError) -> typer.Exit:
    for line in str(error).splitlines():
        errors.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def check_lang(lang: str) -> None:
    from scenarios.i18n import LANGUAGES

    if lang not in LANGUAGES:
        errors.print(f"[red]error:[/red] --lang {lang!r}: one of {', '.join(LANGUAGES)}", highlight=False)
        raise typer.Exit(code=2)


def progress_bar() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=errors,  # stderr, as for every progress meter: what a script reads from stdout stays clean
    )


def run_with_progress(scenario: Scenario, replications: int | None, label: str, events: EventLog | None = None) -> dict[str, Any]:
    from scenarios.results import simulate as run_simulation

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
    """Mean ± half-width of the interval, narrow enough for a terminal table; — when not measured.

    An interval that is not symmetric (skewness-corrected, or cut at what the KPI can be: a wait
    at 0 s, a share at 100 %) shows the end that reaches further ("0.5 ≤7.4": at most 7.4), so no
    one reads a wait of -6.4 s into it; ``--format json|csv`` gives both ends."""
    if estimate is None:
        return "—"
    mean, low, high = (estimate[k] * scale for k in ("mean", "ci_low", "ci_high"))
    below, above = mean - low, high - mean
    if abs(below - above) <= 1e-9 * max(1.0, abs(mean)):
        return f"{mean:.{digits}f} ±{above:.{digits}f}"
    return f"{mean:.{digits}f} ≤{high:.{digits}f}" if below < above else f"{mean:.{digits}f} ≥{low:.{digits}f}"


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
    from scenarios.results import to_json

    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(to_json(document), encoding="utf-8")
        console.print(f"results: {json_out}")
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        write_html(report)
        console.print(f"report: {report.resolve()}")
