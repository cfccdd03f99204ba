"""Working through a few stored nodes gives exactly what the whole tree gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia.ledger import MerkleTree, leaf_hash
from gsomia.ledger.frontier import (
    consistency_from,
    extend,
    included,
    inclusion_from,
    needed_for_consistency,
    needed_for_inclusion,
    root_from,
    run_of,
    runs,
    siblings,
)
from gsomia.ledger.verify import verify_inclusion


def _tree(n: int) -> MerkleTree:
    return MerkleTree(leaf_hash(i.to_bytes(4, "big")) for i in range(n))


def _nodes(tree: MerkleTree, keys) -> dict:
    levels = tree.export_levels()
    return {(lv, ix): levels[lv][ix] for lv, ix in keys}


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300), st.integers(0, 40))
def test_extending_from_the_frontier_equals_appending_to_the_whole_tree(size, more):
    """New nodes and root from the frontier alone match a full tree's."""
    full = _tree(size + more)
    before = _tree(size)
    new_size, created, root = extend(
        size, _nodes(before, runs(0, size)), (full.leaf_hash_at(i) for i in range(size, size + more))
    )
    assert new_size == size + more
    assert root == full.root()
    assert sorted(created) == sorted(full.nodes_since(size))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_an_inclusion_proof_from_the_needed_nodes_equals_the_full_trees(case):
    """Only the nodes needed_for_inclusion names are read, and the proof and root are the same."""
    size, index = case
    tree = _tree(size)
    nodes = _nodes(tree, needed_for_inclusion(index, size))
    assert inclusion_from(nodes, index, size) == tree.inclusion_proof(index)
    assert root_from(nodes, size) == tree.root()
    assert len(nodes) <= 3 * size.bit_length() + 1


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 300).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, n - 1), st.integers(0, n - 1), st.integers(0, 64))
    )
)
def test_climbing_to_the_frontier_agrees_with_an_rfc_9162_inclusion_proof(case):
    """`included` (siblings up to the frontier run) says yes exactly when the full tree's inclusion proof
    verifies: for the right leaf, for another leaf's hash claimed at this index, and with any one node it
    reads altered."""
    size, index, other, flip = case
    tree = _tree(size)
    root, proof = tree.root(), tree.inclusion_proof(index)
    edge = _nodes(tree, runs(0, size))
    level, at = run_of(index, size)
    assert (level, at) in edge
    assert at << level <= index < (at + 1) << level
    nodes = _nodes(tree, siblings(index, size))
    assert not set(nodes) & set(edge)
    for digest in (tree.leaf_hash_at(index), tree.leaf_hash_at(other), leaf_hash(b"forged")):
        rfc = verify_inclusion(digest, index, size, proof, root)
        assert included(nodes, edge, digest, index, size) == rfc
    assert included(nodes, edge, tree.leaf_hash_at(index), index, size)
    if nodes:
        key = sorted(nodes)[flip % len(nodes)]
        bad = {**nodes, key: bytes(32)}
        assert not included(bad, edge, tree.leaf_hash_at(index), index, size)
        del bad[key]
        assert not included(bad, edge, tree.leaf_hash_at(index), index, size)  # missing: no, not an error
    assert not included(nodes, edge, tree.leaf_hash_at(index), size, size)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_a_consistency_proof_from_the_needed_nodes_equals_the_full_trees(case):
    """Consistency proofs and both roots from needed_for_consistency's nodes match the full tree."""
    old, new = case
    tree = _tree(new)
    nodes = _nodes(tree, needed_for_consistency(old, new))
    assert consistency_from(nodes, old, new) == tree.consistency_proof(old, new)
    assert root_from(nodes, old) == tree.root(old)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 600))
def test_building_a_tree_level_by_level_equals_appending_leaf_by_leaf(size):
    """MerkleTree.build gives the very levels (and so roots and proofs) that appends give."""
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    assert MerkleTree.build(hashes).export_levels() == MerkleTree(hashes).export_levels()
