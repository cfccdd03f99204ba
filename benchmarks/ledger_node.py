"""The transparency log on a real SQLite node (``synchronous=FULL``): durable appends, verification, proofs.

- ``append``: leaves appended in units of work of ``batch`` leaves; each commit also extends the stored
  tree (from its right edge) and stores a signed head: the log's own write path, durable.
- ``records``: the services' path, a world record and its leaf per entry (as every release and record is
  written), on a smaller log; its full ``verify`` holds every record against its leaf too.
- ``verify``: ``Audit.verify`` of the whole ``append`` log: leaf hashes, the recomputed tree against every
  stored node, every signed head.
- ``prove``: inclusion proofs served from the O(log n) stored nodes each needs.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from gsomia.crypto import NodeKeys
from gsomia.services import journal
from gsomia.services.logcheck import Audit
from gsomia.services.logstore import LoggedStore
from gsomia.store import open_store


def _store(where: str, name: str, keys: NodeKeys) -> LoggedStore:
    return LoggedStore(open_store(f"sqlite:///{Path(where) / name}"), keys)


def _append(store: LoggedStore, leaves: int, batch: int) -> float:
    # a node's leaves always prove a row (the node refuses a leaf that proves nothing), so each leaf here
    # is a small meta record and its leaf, written as a node writes them
    t0 = time.perf_counter()
    for start in range(0, leaves, batch):
        with store.begin() as uow:
            for n in range(start, min(leaves, start + batch)):
                journal.add_record(uow, "meta", f"bench:{n}", {"n": n, "note": "benchmark leaf"})
    return time.perf_counter() - t0


def _records(store: LoggedStore, count: int, batch: int) -> float:
    t0 = time.perf_counter()
    for start in range(0, count, batch):
        with store.begin() as uow:
            for n in range(start, min(count, start + batch)):
                journal.add_record(uow, "meta", f"bench-{n}", {"n": n, "note": "가나다 benchmark"})
    return time.perf_counter() - t0


def run_ledger(
    leaves: int = 1_000_000, batch: int = 1_000, records: int = 20_000, proofs: int = 2_000
) -> dict[str, Any]:
    keys = NodeKeys.generate()
    with tempfile.TemporaryDirectory(prefix="gsomia-ledger-") as where:
        store = _store(where, "log.db", keys)
        try:
            append_s = _append(store, leaves, batch)
            single = min(2_000, leaves)
            single_s = _append(store, single, 1)  # one leaf per transaction, as every release is written
            audit = Audit(store, keys)
            t0 = time.perf_counter()
            report = audit.verify(records=False)
            verify_s = time.perf_counter() - t0
            if not report.ok:
                raise SystemExit(f"the benchmark log failed verification: {report.faults[:3]}")
            step = max(1, leaves // proofs)
            t0 = time.perf_counter()
            for leaf in range(0, leaves, step):
                audit.prove(leaf)
            prove_ms = (time.perf_counter() - t0) / len(range(0, leaves, step)) * 1e3
            size_mb = os.path.getsize(Path(where) / "log.db") / 2**20
        finally:
            store.close()
        nodes = _store(where, "records.db", keys)
        try:
            records_s = _records(nodes, records, batch)
            t0 = time.perf_counter()
            full = Audit(nodes, keys).verify()
            full_s = time.perf_counter() - t0
            if not full.ok:
                raise SystemExit(f"the records log failed verification: {full.faults[:3]}")
        finally:
            nodes.close()
    return {
        "leaves": leaves,
        "append_per_s": round(leaves / append_s),
        "batch": batch,
        "single_leaves": single,
        "single_leaf_per_s": round(single / single_s),
        "verify_s": round(verify_s, 2),
        "prove_ms": round(prove_ms, 3),
        "db_mb": round(size_mb, 1),
        "records": records,
        "records_per_s": round(records / records_s),
        "records_verify_us_per_leaf": round(full_s / records * 1e6, 1),
    }


if __name__ == "__main__":
    import sys

    print(run_ledger(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
