"""Print a benchmark result as a table (Rich when available, plain text otherwise)."""

from __future__ import annotations

import sys
from typing import Any

from .bench import INSTALL

COLUMNS = ("engine", "queries", "disagree", "decisions/s", "p50 µs", "p99 µs", "batch/s", "gsomia ×")


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def rows(result: dict[str, Any], ratios: dict[str, float | None], covered: dict[str, int]) -> list[list[str]]:
    out: list[list[str]] = []
    for name, numbers in result["engines"].items():
        agree = result["disagreements"].get(name)
        if numbers is None:
            why = f"not installed ({INSTALL})" if agree is None else "disagrees: no speed shown"
            out.append([name, _num(covered.get(name)), _num(agree), why, "", "", "", ""])
            continue
        ratio = ratios.get(name)
        out.append(
            [
                name,
                _num(covered.get(name)),
                "-" if name == "gsomia" else _num(agree),
                _num(numbers["single_per_s"]),
                _num(numbers["single_p50_us"], 1),
                _num(numbers["single_p99_us"], 1),
                _num(numbers.get("batch_per_s")),
                "1" if name == "gsomia" else (f"{ratio:,.1f}" if ratio is not None else "-"),
            ]
        )
    return out


def show(result: dict[str, Any], ratios: dict[str, float | None], covered: dict[str, int]) -> None:
    world = result["world"]
    title = (
        f"{world['parties']} parties, {world['agreements']} agreements ({world['conduits']} conduits), "
        f"{world['events']} events, {world['items']:,} items, {world['consents']:,} consents"
    )
    body = rows(result, ratios, covered)
    try:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table
    except ImportError:
        print(title)
        print(" | ".join(COLUMNS))
        for row in body:
            print(" | ".join(row))
    else:
        table = Table(title=title)
        for n, column in enumerate(COLUMNS):
            table.add_column(column, justify="left" if n == 0 else "right")
        for row in body:
            table.add_row(*(escape(cell) for cell in row))  # '[bench]' is not markup
        Console(width=None if sys.stdout.isatty() else 120).print(table)
    notes = [
        "gsomia × = gsomia's single decisions/s over the anchor's on the same queries",
        "pycasbin answers only direct routes from the originator (see benchmarks/casbin_engine.py)",
    ]
    impact = result["impact"]
    if impact is None:
        notes.append("impact: not available")
    else:
        notes.append(
            f"impact: {impact['seconds']} s over {impact['pairs']:,} pairs, "
            f"peak RSS {impact['peak_rss_mb']} MB"
        )
    g = result["engines"]["gsomia"]
    notes.append(
        f"gsomia single: p50 {g['single_p50_us']} µs on fresh queries (each once), "
        f"{g['single_warm_p50_us']} µs warm; explained (decide + to_dict as JSON) each once "
        f"{g['explained_per_s']:,}/s (p50 {g['explained_p50_us']} µs), without the JSON text "
        f"{g['explained_dict_per_s']:,}/s (p50 {g['explained_dict_p50_us']} µs), reasons' memo warm "
        f"{g['explained_warm_per_s']:,}/s (p50 {g['explained_warm_p50_us']} µs)"
    )
    notes.append(
        f"gsomia batch: {g['batch_queries']:,} encoded queries in {g['batch_s']} s = {g['batch_per_s']:,}/s; "
        f"from item and party ids (encoding {g['batch_encode_s']} s included) {g['batch_from_ids_per_s']:,}/s"
    )
    for name, c in result.get("comparisons", {}).items():
        notes.append(
            f"vs {name} on the same {c['queries']:,} queries: single {c['gsomia_single_per_s']:,}/s vs "
            f"{c[f'{name}_single_per_s']:,}/s = {c['single_ratio']}×; explained "
            f"{c['gsomia_explained_per_s']:,}/s vs {c[f'{name}_explained_per_s']:,}/s "
            f"= {c['explained_ratio']}×"
        )
    cedar = (result["engines"].get("cedarpy") or {}).get("requests_per_query")
    if cedar:
        notes.append(
            f"cedarpy requests per query: median {cedar['median']}, mean {cedar['mean']}, max {cedar['max']} "
            f"(over {cedar['queries']:,} queries)"
        )
    ledger = result.get("ledger")
    if ledger:
        notes.append(
            f"ledger ({ledger['leaves']:,} leaves, SQLite, durable): append {ledger['append_per_s']:,} "
            f"leaves/s, verify {ledger['verify_s']} s, inclusion proof {ledger['prove_ms']} ms; records "
            f"with their leaves {ledger['records_per_s']:,}/s, full verify with record checks "
            f"{ledger['records_verify_us_per_leaf']} µs/leaf"
        )
        if "single_leaf_per_s" in ledger:
            notes.append(
                f"ledger, one leaf per transaction (as a release writes it): {ledger['single_leaf_per_s']:,} "
                f"leaves/s beside {ledger['append_per_s']:,}/s in units of {ledger['batch']:,}"
            )
    node = result.get("node")
    if node:
        f = node["flatness"]
        notes.append(
            f"node (SQLite): durable release {node['release_per_s']:,}/s (p50 {f['release_p50_ms'][0]} ms at "
            f"{node['sizes'][0]:,} items, {f['release_p50_ms'][1]} ms at {node['sizes'][-1]:,}); one fsync'd "
            f"transaction on this disk {node['fsync_floor']['txn_ms']} ms; import "
            f"{node['import_items_per_s']:,} items/s"
        )
        pg = node.get("postgres", {})
        if "writers" in pg and "floor" in pg:
            w, floor = pg["writers"], pg["floor"]
            notes.append(
                f"node (PostgreSQL): {w['writers']} writer processes {w['per_s']:,} releases/s "
                f"({w['releases']:,} in {w['s']} s); bare one-insert transactions from as many processes, "
                f"queued on one lock {floor['locked']['per_s']:,}/s, free {floor['free']['per_s']:,}/s"
            )
    for note in notes:
        print(note)
