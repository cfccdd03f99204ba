"""``python -m benchmarks [--items N] [--sample K] [--batch B] [--seed S] [--json]`` (see bench.py)."""

from __future__ import annotations

import argparse

from .bench import run

__all__ = ["main", "run"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--items", type=int, default=1_000_000, help="items in the world (default 1,000,000)")
    parser.add_argument("--sample", type=int, default=2_000, help="queries cross-checked and timed")
    parser.add_argument("--batch", type=int, default=1_000_000, help="queries in gsomia's numpy batch")
    parser.add_argument("--seed", type=int, default=0, help="world seed (queries use seed + 1, seed + 2)")
    parser.add_argument(
        "--ledger-leaves", type=int, default=1_000_000, help="leaves in the log benchmark (0: skip)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    run(
        items=args.items,
        sample=args.sample,
        as_json=args.json,
        batch=args.batch,
        seed=args.seed,
        ledger_leaves=args.ledger_leaves,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
