"""Start-up time of the ``gsomia`` command: whole processes, timed from outside, median of N runs.

``python -m benchmarks.startup [--runs N] [--json]`` (or ``gsomia bench --startup``) times

- ``gsomia --help``: the CLI's own import cost (the node's stack must not load);
- ``gsomia decide <shipped scenario> --item K-MSL-1 --to JPN --at 2019-10-01``: one decision, world read.

Each command runs once to warm the file cache, then N times; the median and the fastest run are printed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCENARIO = Path(__file__).resolve().parents[1] / "src" / "gsomia" / "scenarios" / "korea-japan-2019.yaml"
TARGETS = {"help": 0.25, "decide": 0.4}  # seconds, whole process


def commands() -> dict[str, list[str]]:
    """The commands timed, each run as the installed console script (or ``python -m`` if none)."""
    script = shutil.which("gsomia")
    base = [script] if script else [sys.executable, "-c", "from gsomia.cli import main; main()"]
    decide = ["decide", str(SCENARIO), "--item", "K-MSL-1", "--to", "JPN", "--at", "2019-10-01"]
    return {"help": [*base, "--help"], "decide": [*base, *decide]}


def time_command(argv: list[str], runs: int) -> dict[str, float]:
    """Median and fastest wall-clock seconds of ``runs`` runs of ``argv`` (after one warm-up run)."""
    subprocess.run(argv, check=True, capture_output=True)
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        seconds.append(time.perf_counter() - start)
    return {"median_s": round(statistics.median(seconds), 4), "min_s": round(min(seconds), 4), "runs": runs}


def run(runs: int = 11, as_json: bool = False) -> dict[str, dict[str, float]]:
    """Time each command and print the figures (one JSON object with ``as_json``)."""
    report = {}
    for name, argv in commands().items():
        report[name] = time_command(argv, runs) | {"target_s": TARGETS[name]}
    if as_json:
        print(json.dumps({"startup": report}))
    else:
        for name, figures in report.items():
            met = "met" if figures["median_s"] <= figures["target_s"] else "missed"
            print(
                f"gsomia {name}: median {figures['median_s']:.3f} s, fastest {figures['min_s']:.3f} s "
                f"over {runs} runs (target {figures['target_s']} s: {met})"
            )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=11, help="runs per command (default 11)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    run(runs=args.runs, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
