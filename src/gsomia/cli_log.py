"""``gsomia log``: the node's transparency log: its signed head, proofs, and a whole-log verification.

``log verify`` exits 1 when the log fails verification (naming the first bad leaf), 0 when it passes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .cli_exits import guarded
from .cli_node_shell import JsonOpt, NodeOpt, emit, open_node, option, read_bytes, table
from .domain.errors import GsomiaError
from .ledger import HeadFormatError, TreeHead


def register(app: typer.Typer) -> None:
    """Add ``gsomia log ...`` to ``app``."""
    log = typer.Typer(help="The node's transparency log: heads, proofs, verification.", no_args_is_help=True)
    log.command("head")(guarded(head))
    log.command("prove")(guarded(prove))
    log.command("consistency")(guarded(consistency))
    log.command("verify")(guarded(verify))
    app.add_typer(log, name="log")


def head(node: NodeOpt = None, as_json: JsonOpt = True) -> None:
    """The newest signed tree head (size, root hash, signature, key id) as JSON."""
    with open_node(node) as services:
        emit(True, services.audit.head().to_dict(), lambda: None)


def prove(
    leaf: Annotated[int, typer.Option(help="The leaf (0-based) to prove.", min=0)],
    size: Annotated[
        int | None, typer.Option(help="Tree size to prove it in (default: the whole log).", min=1)
    ] = None,
    node: NodeOpt = None,
    as_json: JsonOpt = True,
) -> None:
    """An RFC 9162 inclusion proof of one leaf, with the root it leads to."""
    with open_node(node) as services:
        emit(True, services.audit.prove(leaf, size), lambda: None)


def consistency(
    old: Annotated[int, typer.Argument(help="The older tree size.", min=0)],
    new: Annotated[int, typer.Argument(help="The newer tree size.", min=0)],
    node: NodeOpt = None,
    as_json: JsonOpt = True,
) -> None:
    """An RFC 9162 consistency proof that the tree of NEW leaves extends the tree of OLD leaves."""
    with open_node(node) as services:
        emit(True, services.audit.consistency(old, new), lambda: None)


def verify(
    from_head: Annotated[
        Path | None, option("A signed head kept earlier (JSON, as log head prints).", "FILE")
    ] = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recompute the whole log; check every leaf, node, head and record. Exit 1 naming the first bad leaf."""
    kept = _read_head(from_head) if from_head is not None else None
    with open_node(node) as services:
        report = services.audit.verify(kept)
    rows = [[str(f.leaf if f.leaf is not None else "-"), f.what] for f in report.faults]
    summary = f"{report.leaves} leaves, {report.heads} signed heads: " + ("OK" if report.ok else "FAILED")
    emit(as_json, report.to_dict(), lambda: table(summary, ["leaf", "fault"], rows) if rows else summary)
    if not report.ok:
        raise typer.Exit(1)


def _read_head(path: Path) -> TreeHead:
    text = read_bytes(path, "head")
    try:
        return TreeHead.from_dict(json.loads(text))
    except (ValueError, TypeError, HeadFormatError) as exc:
        raise GsomiaError(f"{path}: not a signed head as 'gsomia log head' prints it ({exc})") from None
