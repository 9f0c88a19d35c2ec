"""How long a light `yxy` command takes from the shell, against a bare interpreter measured in the same run.

Light commands (help, the library listing, checking a scenario) import no simulation,
web or database module (tests/test_light_commands.py asserts which); the target is
under 0.5 s each.  Interleaved, medians of ``--repeats``; ``python -c pass`` is the
floor no command can go under.

    .venv/bin/python bench/cli_start.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
YXY = [sys.executable, "-m", "cli"]
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "yxy --help": [*YXY, "--help"],
    "yxy scenarios": [*YXY, "scenarios"],
    "yxy check summer_heat_wave": [*YXY, "check", "summer_heat_wave"],
    "yxy simulate --help": [*YXY, "simulate", "--help"],
}
TARGET_S = 0.5


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    for argv in COMMANDS.values():  # warm the file cache and the bytecode
        timed(argv)
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):
        for name, argv in COMMANDS.items():
            samples[name].append(timed(argv))
    floor = statistics.median(samples["python -c pass"])
    print(f"medians of {args.repeats}, interleaved; target under {TARGET_S} s")
    for name, values in samples.items():
        median = statistics.median(values)
        verdict = "" if name.startswith("python") else ("  ok" if median < TARGET_S else "  OVER")
        print(f"{name:30} {median:6.3f} s  {median / floor:5.1f}x bare python{verdict}")


if __name__ == "__main__":
    main()
