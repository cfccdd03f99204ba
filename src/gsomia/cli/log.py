"""``gsomia log head|prove|consistency|verify``: the node's transparency log.

``head``, ``prove`` and ``consistency`` always print JSON (they have no table form, hence no ``--json``).
``log verify`` exits 1 when the log fails verification (naming the first bad leaf), 0 when it passes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..domain.errors import GsomiaError
from . import console
from .shared import JsonOpt, NodeOpt, add, emit, new_group, open_node, option, read_bounded, table

if TYPE_CHECKING:
    from ..ledger import TreeHead

MAX_HEAD_BYTES = 1024 * 1024  # a signed head is a few hundred bytes


def register(app: typer.Typer) -> None:
    """Add ``gsomia log ...`` to ``app``."""
    log = new_group("The node's transparency log: heads, proofs, verification.")
    add(log, "head", head)
    add(log, "prove", prove)
    add(log, "consistency", consistency)
    add(log, "verify", verify)
    app.add_typer(log, name="log")


def head(node: NodeOpt = None) -> None:
    """The newest signed tree head (size, root hash, signature, key id) as JSON."""
    with open_node(node) as services:
        console.json_line(services.audit.head().to_dict())


def prove(
    leaf: Annotated[int, typer.Option(help="The leaf (0-based) to prove.", min=0, metavar="N")],
    size: Annotated[
        int | None,
        typer.Option(
            help="Tree size to prove it in (default: the whole log).", min=1, metavar="S", show_default=False
        ),
    ] = None,
    node: NodeOpt = None,
) -> None:
    """An RFC 9162 inclusion proof of one leaf, with the root it leads to, as JSON."""
    with open_node(node) as services:
        console.json_line(services.audit.prove(leaf, size))


def consistency(
    old: Annotated[
        int, typer.Argument(help="The older tree size.", min=0, metavar="OLD", show_default=False)
    ],
    new: Annotated[
        int, typer.Argument(help="The newer tree size.", min=0, metavar="NEW", show_default=False)
    ],
    node: NodeOpt = None,
) -> None:
    """An RFC 9162 consistency proof that the tree of NEW leaves extends the tree of OLD leaves, as JSON."""
    with open_node(node) as services:
        console.json_line(services.audit.consistency(old, new))


def verify(
    from_head: Annotated[
        Path | None, option("A signed head kept earlier (JSON, as log head prints).", "FILE", "--from-head")
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
    from ..ledger import HeadFormatError, TreeHead  # deferred for start-up speed: log verify only

    text = read_bounded(
        path,
        "head",
        MAX_HEAD_BYTES,
        "1 MiB, far more than a signed head takes; give the JSON that gsomia log head printed",
    )
    try:
        return TreeHead.from_dict(json.loads(text))
    except (ValueError, TypeError, HeadFormatError) as exc:
        raise GsomiaError(f"{path}: not a signed head as 'gsomia log head' prints it ({exc})") from None
