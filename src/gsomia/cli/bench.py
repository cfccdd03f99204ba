"""``gsomia bench``: the benchmark harness of a source checkout (``benchmarks/``), or with ``--startup``
the start-up time of ``gsomia --help`` and of one ``gsomia decide`` (``benchmarks/startup.py``), or with
``--taxii`` the TAXII 2.1 server beside OASIS medallion (``benchmarks/taxii_bench.py``).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer

from ..domain.errors import GsomiaError
from .shared import JsonOpt, add


def register(app: typer.Typer) -> None:
    """Add ``gsomia bench`` to ``app``."""
    add(app, "bench", bench)


def bench(
    items: Annotated[int, typer.Option(help="Items in the benchmark world.", min=1, metavar="N")] = 1_000_000,
    sample: Annotated[
        int, typer.Option(help="Queries cross-checked against the anchors and timed.", min=1, metavar="K")
    ] = 2_000,
    batch: Annotated[int, typer.Option(help="Queries in the numpy batch.", min=1, metavar="B")] = 1_000_000,
    ledger_leaves: Annotated[
        int, typer.Option(help="Leaves in the log benchmark (0 skips it).", min=0, metavar="N")
    ] = 1_000_000,
    startup: Annotated[
        bool,
        typer.Option(
            "--startup", help="Time only the start-up of gsomia --help and one decide.", show_default=False
        ),
    ] = False,
    runs: Annotated[
        int, typer.Option(help="With --startup: runs per command (median).", min=1, metavar="N")
    ] = 11,
    taxii: Annotated[
        bool,
        typer.Option(
            "--taxii", help="Time only the TAXII server, beside OASIS medallion 3.0.0.", show_default=False
        ),
    ] = False,
    big: Annotated[
        bool, typer.Option("--big", help="With --taxii: also 1,000,000 stored objects.", show_default=False)
    ] = False,
    node: Annotated[
        str | None,
        typer.Option(
            "--node",
            help="Time only nodes of these sizes (comma-separated item counts): durable releases, item "
            "adds and imports on SQLite and PostgreSQL.",
            metavar="N,N",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Speed beside cedarpy and pycasbin on one seeded world, after checking they all agree."""
    if startup:
        _benchmarks("startup").run(runs=runs, as_json=as_json)
        return
    if taxii:
        _benchmarks("taxii_bench").run(big=big, as_json=as_json)
        return
    if node is not None:
        try:
            sizes = tuple(int(n) for n in node.split(",") if n.strip())
        except ValueError:
            raise GsomiaError(
                f"--node: {node!r} is not a list of item counts; write e.g. 1000,1000000"
            ) from None
        if not sizes or min(sizes) < 1:
            raise GsomiaError("--node: give one or more positive item counts, e.g. 1000,1000000")
        result = _benchmarks("node_bench").run_node(sizes)
        print(json.dumps({"node": result}) if as_json else json.dumps({"node": result}, indent=1))
        return
    _benchmarks("bench").run(
        items=items, sample=sample, as_json=as_json, batch=batch, ledger_leaves=ledger_leaves
    )


def _benchmarks(name: str) -> ModuleType:
    """``benchmarks.<name>`` from the source checkout in the working directory."""
    if Path("benchmarks", "bench.py").is_file() and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # the benchmarks live beside the sources, not in the package
    try:
        return importlib.import_module(f"benchmarks.{name}")
    except ImportError as exc:
        raise GsomiaError(
            f"the benchmarks are not importable ({exc}); run this from a gsomia source checkout "
            "(or use python -m benchmarks there), with pip install -e '.[bench]' for the anchors"
        ) from None
