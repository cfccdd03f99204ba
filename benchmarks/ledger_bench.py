"""Ledger speed on one core: build, prove and audit a 1,000,000-leaf log in memory. Prints, never asserts.

Run: python benchmarks/ledger_bench.py [leaves]
"""

from __future__ import annotations

import sys
import time

from gsomia.ledger import (
    MerkleTree,
    leaf_hash,
    sign_head,
    verify_consistency,
    verify_inclusion,
    verify_log,
)


class NullSigner:
    def sign(self, data):
        return b"sig:" + data


def null_verify(key_id, data, signature):
    return signature == b"sig:" + data


def timed(label, fn, per=1):
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    if per > 1:
        print(f"{label:<52} {elapsed / per * 1e6:10.2f} µs each ({per:,} runs)")
    else:
        print(f"{label:<52} {elapsed:10.3f} s")
    return result


def main(n):
    # Records are already canonical JSON (keys sorted, no spaces); canonical() is not what is measured here.
    records = [b'{"item":"item-%d","seq":%d,"to":["GB","JP"]}' % (i, i) for i in range(n)]
    hashes = timed(f"leaf-hash {n:,} records", lambda: [leaf_hash(r) for r in records])
    tree = MerkleTree()
    timed(f"append {n:,} leaf hashes", lambda: tree.extend(hashes))
    timed(f"append {n:,} records (hash + append, one by one)", lambda: _append_each(records))
    root = timed(f"root at size {n:,}", tree.root)
    indices = [(i * 7919) % n for i in range(10_000)]
    proofs = timed(
        f"inclusion proof at size {n:,}",
        lambda: [tree.inclusion_proof(i) for i in indices],
        per=len(indices),
    )
    timed(
        f"verify inclusion at size {n:,}",
        lambda: [verify_inclusion(hashes[i], i, n, p, root) for i, p in zip(indices, proofs, strict=True)],
        per=len(indices),
    )
    olds = [1 + (i * 7919) % (n - 1) for i in range(10_000)]
    cons = timed(
        f"consistency proof old -> {n:,}", lambda: [tree.consistency_proof(o) for o in olds], per=len(olds)
    )
    timed(
        f"verify consistency old -> {n:,}",
        lambda: [verify_consistency(o, n, tree.root(o), root, p) for o, p in zip(olds, cons, strict=True)],
        per=len(olds),
    )
    heads = [sign_head(s, tree.root(s), NullSigner(), "bench") for s in range(0, n + 1, max(1, n // 100))]
    stored = hashes
    fault = timed(
        f"verify_log {n:,} leaves, {len(heads)} heads, stored hashes",
        lambda: verify_log(records, heads, null_verify, leaf_hashes=stored),
    )
    assert fault is None, fault
    levels = tree.export_levels()
    timed(f"from_levels {n:,} leaves, check=True", lambda: MerkleTree.from_levels(levels))
    timed(f"from_levels {n:,} leaves, check=False", lambda: MerkleTree.from_levels(levels, check=False))


def _append_each(records):
    tree = MerkleTree()
    for r in records:
        tree.append(leaf_hash(r))
    return tree


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
