"""The Merkle tree against the Certificate Transparency test tree (vectors from transparency-dev/merkle)."""

from __future__ import annotations

import pytest

from gsomia.ledger import (
    EMPTY_ROOT,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

from .vectors import CONSISTENCY_PROOFS, INCLUSION_PROOFS, LEAF_INPUTS, NODE_HASHES, ROOTS, SOME_HASH

LEAF_HASHES = [leaf_hash(data) for data in LEAF_INPUTS]
SOME = bytes.fromhex(SOME_HASH)


def unhex(hashes: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hashes]


def test_leaf_hashes_match_the_published_level_zero_nodes():
    """Hashing each of the eight leaf inputs gives the published level-0 node hashes."""
    leaf_hashes = [leaf_hash(data) for data in LEAF_INPUTS]
    assert leaf_hashes == unhex(NODE_HASHES[0])


def test_empty_tree_root_is_the_sha256_of_nothing():
    """The root of the empty tree is SHA-256 of the empty string."""
    assert EMPTY_ROOT.hex() == ROOTS[0]
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert MerkleTree().root() == EMPTY_ROOT


@pytest.mark.parametrize("size", range(9))
def test_roots_from_a_list_match_the_published_roots_for_every_size(size):
    """root_from_leaf_hashes gives the published root for sizes 0 to 8."""
    assert root_from_leaf_hashes(LEAF_HASHES[:size]).hex() == ROOTS[size]


def test_incremental_tree_reports_the_published_root_at_every_past_size():
    """A tree of all eight leaves answers the published root for every earlier size too."""
    tree = MerkleTree(LEAF_HASHES)
    assert [tree.root(size).hex() for size in range(9)] == ROOTS


def test_incremental_tree_stores_exactly_the_published_node_hashes():
    """The levels an eight-leaf tree exports are the published perfect-subtree hashes."""
    assert MerkleTree(LEAF_HASHES).export_levels() == [unhex(row) for row in NODE_HASHES]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS)
def test_inclusion_proofs_match_the_published_proofs(index, size, proof):
    """Both the list function and the incremental tree produce each published inclusion proof."""
    assert inclusion_proof(LEAF_HASHES, index, size) == unhex(proof)
    assert MerkleTree(LEAF_HASHES).inclusion_proof(index, size) == unhex(proof)


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS)
def test_published_inclusion_proofs_verify(index, size, proof):
    """Each published inclusion proof verifies against the published root."""
    root = bytes.fromhex(ROOTS[size])
    assert verify_inclusion(LEAF_HASHES[index], index, size, unhex(proof), root)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_PROOFS)
def test_consistency_proofs_match_the_published_proofs(old, new, proof):
    """Both the list function and the incremental tree produce each published consistency proof."""
    assert consistency_proof(LEAF_HASHES, old, new) == unhex(proof)
    assert MerkleTree(LEAF_HASHES).consistency_proof(old, new) == unhex(proof)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_PROOFS)
def test_published_consistency_proofs_verify(old, new, proof):
    """Each published consistency proof verifies between the published roots."""
    old_root, new_root = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    assert verify_consistency(old, new, old_root, new_root, unhex(proof))


def inclusion_probes(index, size, proof, root, leaf):
    """The corruptions transparency-dev's verify_test.go tries on a good inclusion proof."""
    probes = [
        (index - 1, size, root, leaf, proof),
        (index + 1, size, root, leaf, proof),
        (index ^ 2, size, root, leaf, proof),
        (index, size * 2, root, leaf, proof),
        (index, size // 2, root, leaf, proof),
        (index, size, root, b"WrongLeaf", proof),
        (index, size, EMPTY_ROOT, leaf, proof),
        (index, size, SOME, leaf, proof),
        (index, size, root, leaf, [*proof, b""]),
        (index, size, root, leaf, [*proof, root]),
        (index, size, root, leaf, [b"", *proof]),
        (index, size, root, leaf, [root, *proof]),
    ]
    for i in range(len(proof)):
        flipped = bytes([proof[i][0] ^ 8]) + proof[i][1:]
        probes.append((index, size, root, leaf, [*proof[:i], flipped, *proof[i + 1 :]]))
    if proof:
        probes.append((index, size, root, leaf, proof[:-1]))
    if len(proof) > 1:
        probes.append((index, size, root, leaf, [proof[0], SOME, *proof[1:]]))
    return probes


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS)
def test_every_corruption_of_a_published_inclusion_proof_fails(index, size, proof):
    """Wrong index, size, leaf or root, added, dropped or bit-flipped proof nodes never verify."""
    root = bytes.fromhex(ROOTS[size])
    for i, s, r, leaf, p in inclusion_probes(index, size, unhex(proof), root, LEAF_HASHES[index]):
        assert not verify_inclusion(leaf, i, s, p, r), (i, s, r, leaf, p)


def consistency_probes(old, new, old_root, new_root, proof):
    """The corruptions transparency-dev's verify_test.go tries on a good consistency proof."""
    probes = [
        (old - 1, new, old_root, new_root, proof),
        (old + 1, new, old_root, new_root, proof),
        (old ^ 2, new, old_root, new_root, proof),
        (old, new * 2, old_root, new_root, proof),
        (old, new // 2, old_root, new_root, proof),
        (old, new, b"WrongRoot", new_root, proof),
        (old, new, old_root, b"WrongRoot", proof),
        (old, new, new_root, old_root, proof),
        (old, new, old_root, new_root, []),
        (old, new, old_root, new_root, [*proof, b""]),
        (old, new, old_root, new_root, [*proof, old_root]),
        (old, new, old_root, new_root, [*proof, new_root]),
        (old, new, old_root, new_root, [b"", *proof]),
        (old, new, old_root, new_root, [old_root, *proof]),
        (old, new, old_root, new_root, [new_root, *proof]),
        (old, new, old_root, new_root, [proof[0], *proof]),
        (old, new, old_root, new_root, proof[:-1]),
    ]
    for i in range(len(proof)):
        flipped = bytes([proof[i][0] ^ 16]) + proof[i][1:]
        probes.append((old, new, old_root, new_root, [*proof[:i], flipped, *proof[i + 1 :]]))
    return probes


@pytest.mark.parametrize(("old", "new", "proof"), [v for v in CONSISTENCY_PROOFS if v[2]])
def test_every_corruption_of_a_published_consistency_proof_fails(old, new, proof):
    """Wrong sizes or roots, added, dropped or bit-flipped proof nodes never verify."""
    old_root, new_root = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    for o, n, r1, r2, p in consistency_probes(old, new, old_root, new_root, unhex(proof)):
        assert not verify_consistency(o, n, r1, r2, p), (o, n, r1, r2, p)


def test_a_single_leaf_tree_verifies_only_with_real_32_byte_hashes():
    """In a one-leaf tree the root is the leaf hash; an empty leaf or root never verifies."""
    h = leaf_hash(b"data")
    assert verify_inclusion(h, 0, 1, [], h)
    assert not verify_inclusion(b"", 0, 1, [], h)
    assert not verify_inclusion(h, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], b"")


@pytest.mark.parametrize(("index", "size"), [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_inclusion_with_mismatched_or_empty_inputs_never_verifies(index, size):
    """Out-of-range indices, and empty leaves or roots, fail with an empty proof."""
    assert not verify_inclusion(SOME, index, size, [], b"")
    assert not verify_inclusion(b"", index, size, [], EMPTY_ROOT)
    assert not verify_inclusion(SOME, index, size, [], EMPTY_ROOT)


R1, R2 = leaf_hash(b"don't care 1"), leaf_hash(b"don't care 2")


@pytest.mark.parametrize(
    ("old", "new", "old_root", "new_root", "proof", "ok"),
    [
        (0, 0, R1, R2, [], False),
        (1, 1, R1, R2, [], False),
        (0, 0, R1, R1, [], True),
        (0, 1, R1, R2, [], True),
        (1, 1, R2, R2, [], True),
        (1, 0, R1, R2, [], False),
        (2, 1, R1, R2, [], False),
        (1, 2, R1, R2, [], False),
        (0, 0, EMPTY_ROOT, R2, [], False),
        (1, 1, EMPTY_ROOT, R2, [], False),
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
        (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
        (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
    ],
)
def test_consistency_edge_cases_follow_the_reference_verifier(old, new, old_root, new_root, proof, ok):
    """Equal sizes need equal roots and no proof, size 0 needs no proof, shrinking never verifies."""
    assert verify_consistency(old, new, old_root, new_root, proof) is ok
