"""``python -m benchmarks [--items N] [--sample K] [--batch B] [--seed S] [--json]`` (see bench.py).

``python -m benchmarks --taxii [--big] [--json]`` runs the TAXII benchmark instead (see taxii_bench.py).
"""

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
    parser.add_argument(
        "--taxii", action="store_true", help="gsomia's TAXII server beside medallion instead (taxii_bench.py)"
    )
    parser.add_argument("--big", action="store_true", help="with --taxii: also 1,000,000 stored objects")
    args = parser.parse_args(argv)
    if args.taxii:
        from .taxii_bench import TaxiiBenchError
        from .taxii_bench import run as run_taxii

        try:
            run_taxii(big=args.big, as_json=args.json)
        except TaxiiBenchError as error:
            parser.exit(2, f"error: {error}\n")
        return 0
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
