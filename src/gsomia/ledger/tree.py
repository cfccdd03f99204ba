"""RFC 9162 §2.1 Merkle tree hashing, and proofs computed from a plain list of leaf hashes.

Leaves are hashed as ``SHA-256(0x00 || leaf)`` and interior nodes as ``SHA-256(0x01 || left || right)``; the
root of the empty tree is ``SHA-256("")``. The path builders here follow the recursive definitions of
PATH (§2.1.3.1) and SUBPROOF (§2.1.4.1) but walk them top-down in a loop, asking a ``SubtreeHash`` for the
hash of each sibling range. The list functions answer that by hashing the slice (O(n) per proof);
``MerkleTree`` answers it from stored perfect-subtree hashes (O(log n)).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from gsomia.ledger.errors import ProofRangeError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

SubtreeHash = Callable[[int, int], bytes]
"""``subtree(lo, hi)`` returns MTH(D[lo:hi]) for a range that is a node of the tree being walked."""

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """The RFC 9162 hash of one leaf: SHA-256(0x00 || data)."""
    return _sha256(b"\x00" + data).digest()


def leaf_hashes(leaves: Iterable[bytes]) -> list[bytes]:
    """:func:`leaf_hash` of each of ``leaves``, in order (a whole-log check hashes millions: no call each)."""
    sha = _sha256
    return [sha(b"\x00" + data).digest() for data in leaves]


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 hash of an interior node: SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``): where RFC 9162 splits D[n]."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH of the tree whose leaf hashes are ``hashes``.

    Pairing each level left to right and carrying an odd last node up unchanged builds the same tree as
    the RFC's split at the largest power of two, without recursion.
    """
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_path(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, leaf-side sibling first. Arguments are not checked."""
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            path.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree(lo, lo + k))
            lo += k
    path.reverse()
    return path


def consistency_path(old_size: int, new_size: int, subtree: SubtreeHash) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 9162 §2.1.4.1 for ``0 < old_size <= new_size``. Not checked."""
    path: list[bytes] = []
    lo, hi = 0, new_size
    whole_old_tree = True  # the RFC's flag b: is D[lo:old_size] the entire old tree?
    while old_size != hi:
        k = split_point(hi - lo)
        if old_size - lo <= k:
            path.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree(lo, lo + k))
            lo += k
            whole_old_tree = False
    if not whole_old_tree:
        path.append(subtree(lo, hi))
    path.reverse()
    return path


def check_inclusion_args(index: int, size: int, available: int) -> None:
    """Raise ProofRangeError unless ``0 <= index < size <= available``."""
    if not 0 <= size <= available:
        raise ProofRangeError(f"tree size {size} is outside 0..{available}")
    if not 0 <= index < size:
        raise ProofRangeError(f"leaf index {index} is outside a tree of size {size}")


def check_consistency_args(old_size: int, new_size: int, available: int) -> None:
    """Raise ProofRangeError unless ``0 <= old_size <= new_size <= available``."""
    if not 0 <= new_size <= available:
        raise ProofRangeError(f"new tree size {new_size} is outside 0..{available}")
    if not 0 <= old_size <= new_size:
        raise ProofRangeError(f"old tree size {old_size} is outside 0..{new_size}")


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """Inclusion proof for leaf ``index`` in the tree of the first ``size`` leaf hashes (O(size))."""
    check_inclusion_args(index, size, len(leaf_hashes))
    return inclusion_path(index, size, lambda lo, hi: root_from_leaf_hashes(leaf_hashes[lo:hi]))


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Consistency proof from the tree of the first ``old_size`` leaves to that of ``new_size`` (O(size)).

    Empty when ``old_size`` is 0 or equals ``new_size``: those pairs are consistent without evidence.
    """
    check_consistency_args(old_size, new_size, len(leaf_hashes))
    if old_size in (0, new_size):
        return []
    return consistency_path(old_size, new_size, lambda lo, hi: root_from_leaf_hashes(leaf_hashes[lo:hi]))
