"""Properties of the Merkle tree: proofs always verify, any edited byte breaks them, and the fast tree
agrees with a literal transcription of the RFC 9162 definitions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gsomia.ledger import (
    EMPTY_ROOT,
    HashFormatError,
    MerkleTree,
    ProofRangeError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    leaf_hashes,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

MAX_LEAVES = 70


def ref_mth(d):
    """MTH(D[n]) exactly as RFC 9162 §2.1.1 defines it."""
    if not d:
        return EMPTY_ROOT
    if len(d) == 1:
        return leaf_hash(d[0])
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return node_hash(ref_mth(d[:k]), ref_mth(d[k:]))


def ref_path(m, d):
    """PATH(m, D[n]) exactly as RFC 9162 §2.1.3.1 defines it."""
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m, d, b):
    """SUBPROOF(m, D[n], b) exactly as RFC 9162 §2.1.4.1 defines it."""
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


leaves = st.lists(st.binary(max_size=12), min_size=1, max_size=MAX_LEAVES)


@st.composite
def log_and_index(draw):
    data = draw(leaves)
    size = draw(st.integers(1, len(data)))
    return data, draw(st.integers(0, size - 1)), size


@st.composite
def log_and_sizes(draw):
    data = draw(leaves)
    new = draw(st.integers(1, len(data)))
    return data, draw(st.integers(1, new)), new


def flip(b, at):
    """``b`` with the byte at ``at`` (taken modulo its length) changed."""
    at %= len(b)
    return b[:at] + bytes([b[at] ^ 0x5A]) + b[at + 1 :]


@given(leaves)
def test_every_root_matches_the_literal_rfc_definition(data):
    """List, incremental and RFC-recursive roots agree for every prefix of a random log."""
    hashes = [leaf_hash(x) for x in data]
    tree = MerkleTree(hashes)
    for size in range(len(data) + 1):
        want = ref_mth(data[:size])
        assert root_from_leaf_hashes(hashes[:size]) == want
        assert tree.root(size) == want


@given(log_and_index())
def test_every_inclusion_proof_matches_the_rfc_and_verifies(case):
    """Inclusion proofs for any index and size equal RFC PATH and verify against the root."""
    data, index, size = case
    hashes = [leaf_hash(x) for x in data]
    proof = MerkleTree(hashes).inclusion_proof(index, size)
    assert proof == ref_path(index, data[:size]) == inclusion_proof(hashes, index, size)
    assert verify_inclusion(hashes[index], index, size, proof, ref_mth(data[:size]))


@given(log_and_sizes())
def test_every_consistency_proof_matches_the_rfc_and_verifies(case):
    """Consistency proofs for any pair of sizes equal RFC PROOF and verify between the roots."""
    data, old, new = case
    hashes = [leaf_hash(x) for x in data]
    proof = MerkleTree(hashes).consistency_proof(old, new)
    want = [] if old == new else ref_subproof(old, data[:new], True)
    assert proof == want == consistency_proof(hashes, old, new)
    assert verify_consistency(old, new, ref_mth(data[:old]), ref_mth(data[:new]), proof)


@given(log_and_index(), st.integers(0, 10**6))
def test_changing_any_byte_of_the_leaf_breaks_inclusion(case, at):
    """A leaf with one byte changed (or one byte added, if empty) never verifies."""
    data, index, size = case
    tree = MerkleTree(leaf_hash(x) for x in data)
    forged = flip(data[index], at) if data[index] else b"\x00"
    proof = tree.inclusion_proof(index, size)
    assert not verify_inclusion(leaf_hash(forged), index, size, proof, tree.root(size))


@given(log_and_index(), st.integers(0, 10**6), st.integers(0, 31))
def test_changing_any_byte_of_an_inclusion_proof_or_root_breaks_it(case, which, at):
    """Flipping any byte of any proof element, or of the root, makes inclusion fail."""
    data, index, size = case
    tree = MerkleTree(leaf_hash(x) for x in data)
    h, proof, root = tree.leaf_hash_at(index), tree.inclusion_proof(index, size), tree.root(size)
    assert not verify_inclusion(h, index, size, proof, flip(root, at))
    if proof:
        i = which % len(proof)
        bad = [*proof[:i], flip(proof[i], at), *proof[i + 1 :]]
        assert not verify_inclusion(h, index, size, bad, root)


@given(log_and_sizes(), st.integers(0, 10**6), st.integers(0, 31))
def test_changing_any_byte_of_a_consistency_proof_or_root_breaks_it(case, which, at):
    """Flipping any byte of a proof element or of either root makes consistency fail."""
    data, old, new = case
    tree = MerkleTree(leaf_hash(x) for x in data)
    r1, r2, proof = tree.root(old), tree.root(new), tree.consistency_proof(old, new)
    assert not verify_consistency(old, new, flip(r1, at), r2, proof)
    assert not verify_consistency(old, new, r1, flip(r2, at), proof)
    if proof:
        i = which % len(proof)
        bad = [*proof[:i], flip(proof[i], at), *proof[i + 1 :]]
        assert not verify_consistency(old, new, r1, r2, bad)


@given(log_and_sizes(), st.data())
def test_a_log_rebuilt_with_one_record_changed_fails_consistency_with_an_old_head(case, draw):
    """Editing any record the old head covered makes the rebuilt log inconsistent with that head."""
    data, old, new = case
    old_root = MerkleTree(leaf_hash(x) for x in data).root(old)
    victim = draw.draw(st.integers(0, old - 1))
    edited = [*data[:victim], data[victim] + b"!", *data[victim + 1 :]]
    rebuilt = MerkleTree(leaf_hash(x) for x in edited)
    proof = rebuilt.consistency_proof(old, new)
    assert not verify_consistency(old, new, old_root, rebuilt.root(new), proof)


@given(leaves, st.data())
def test_exported_levels_and_added_nodes_rebuild_the_same_tree(data, draw):
    """from_levels(export_levels()) and replaying nodes_since both reproduce the tree exactly."""
    tree = MerkleTree(leaf_hash(x) for x in data)
    copy = MerkleTree.from_levels(tree.export_levels())
    assert copy.export_levels() == tree.export_levels()
    assert copy.root() == tree.root()
    old = draw.draw(st.integers(0, len(data)))
    levels = [row[: old >> k] for k, row in enumerate(tree.export_levels())]
    levels = [row for k, row in enumerate(levels) if k < max(1, old.bit_length())]
    for k, i, h in tree.nodes_since(old):
        while len(levels) <= k:
            levels.append([])
        assert len(levels[k]) == i
        levels[k].append(h)
    assert levels == tree.export_levels()


def test_importing_levels_with_a_tampered_node_is_refused():
    """from_levels recomputes interior hashes and refuses a changed one; check=False skips that."""
    levels = MerkleTree(leaf_hash(bytes([i])) for i in range(5)).export_levels()
    levels[1][1] = flip(levels[1][1], 0)
    with pytest.raises(HashFormatError, match="level 1"):
        MerkleTree.from_levels(levels)
    assert MerkleTree.from_levels(levels, check=False).size == 5


@pytest.mark.parametrize(
    "levels",
    [[], [[b"x" * 32, b"y" * 32]], [[b"x" * 32], [b"y" * 32]], [[b"short"]]],
    ids=["no-levels", "missing-parent", "extra-level", "short-hash"],
)
def test_importing_levels_of_the_wrong_shape_is_refused(levels):
    """Levels that appends could not have produced are refused before any hashing."""
    with pytest.raises(HashFormatError):
        MerkleTree.from_levels(levels)


def test_appending_a_hash_that_is_not_32_bytes_is_refused():
    """A leaf hash must be a SHA-256 digest: raw record bytes are refused."""
    with pytest.raises(HashFormatError):
        MerkleTree().append(b"raw record")


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("inclusion_proof", (3, 3)),
        ("inclusion_proof", (0, 6)),
        ("inclusion_proof", (-1, 3)),
        ("consistency_proof", (4, 3)),
        ("consistency_proof", (1, 6)),
        ("root", (6,)),
        ("leaf_hash_at", (5,)),
    ],
)
def test_asking_outside_the_tree_raises_a_range_error(call, args):
    """Indices and sizes beyond the tree, or an old size above the new, raise ProofRangeError."""
    tree = MerkleTree(leaf_hash(bytes([i])) for i in range(5))
    with pytest.raises(ProofRangeError):
        getattr(tree, call)(*args)


def test_list_proofs_check_their_ranges_too():
    """The list functions raise ProofRangeError for sizes beyond the list they were given."""
    hashes = [leaf_hash(b"a"), leaf_hash(b"b")]
    with pytest.raises(ProofRangeError):
        inclusion_proof(hashes, 0, 3)
    with pytest.raises(ProofRangeError):
        consistency_proof(hashes, 2, 1)
    assert consistency_proof(hashes, 0, 2) == []


@given(st.lists(st.binary(max_size=40), max_size=40))
def test_leaf_hashes_are_each_leafs_hash_in_order(data: list[bytes]) -> None:
    assert leaf_hashes(data) == [leaf_hash(x) for x in data]
    assert leaf_hashes(iter(data)) == leaf_hashes(data)
