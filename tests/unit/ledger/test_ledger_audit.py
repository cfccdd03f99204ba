"""verify_log: a whole log, its stored leaf hashes and its kept heads, checked in one pure pass."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from gsomia.ledger import LogFault, MerkleTree, TreeHead, canonical, leaf_hash, sign_head, verify_log


class FakeSigner:
    """Signs by prefixing a marker: enough to tell good heads from forged ones in a pure test."""

    def sign(self, data):
        return b"sig:" + data


def fake_verify(key_id, data, signature):
    return signature == b"sig:" + data and key_id == "node-a"


def make_log(n):
    records = [canonical({"seq": i, "item": f"item-{i}", "to": ["GB", "JP"]}) for i in range(n)]
    tree = MerkleTree(leaf_hash(r) for r in records)
    return records, tree


def heads_at(tree, sizes):
    return [sign_head(s, tree.root(s), FakeSigner(), "node-a") for s in sizes]


def test_an_untouched_log_with_signed_heads_has_no_fault():
    """Records, stored leaf hashes and heads that all agree give None."""
    records, tree = make_log(20)
    heads = heads_at(tree, [0, 1, 7, 20])
    stored = tree.export_levels()[0]
    assert verify_log(records, heads, fake_verify, leaf_hashes=stored, check_canonical=True) is None


def test_an_edited_record_is_named_by_index_when_leaf_hashes_were_stored():
    """With stored leaf hashes the fault is the edited leaf itself."""
    records, tree = make_log(20)
    records[11] = canonical({"seq": 11, "item": "forged", "to": ["GB", "JP"]})
    fault = verify_log(records, heads_at(tree, [20]), leaf_hashes=tree.export_levels()[0])
    assert fault == LogFault("leaf", 11, "record does not hash to the stored leaf hash")


def test_an_edited_record_shows_as_the_first_head_that_covers_it():
    """Without stored hashes, heads before the edit pass and the first covering head fails."""
    records, tree = make_log(20)
    records[11] = canonical({"seq": 11, "item": "forged"})
    fault = verify_log(records, heads_at(tree, [5, 11, 12, 20]), fake_verify)
    assert fault is not None
    assert (fault.kind, fault.index) == ("head", 2)


def test_a_forged_signature_is_the_fault_even_when_the_root_is_right():
    """A head whose root matches but whose signature does not verify is reported."""
    records, tree = make_log(4)
    heads = heads_at(tree, [2, 4])
    heads[1] = dataclasses.replace(heads[1], signature=b"forged")
    assert verify_log(records, heads, fake_verify) == LogFault("head", 1, "head signature does not verify")


def test_a_head_larger_than_the_log_is_a_fault():
    """A head for more records than the log holds means records were removed."""
    records, tree = make_log(6)
    head = heads_at(tree, [6])[0]
    fault = verify_log(records[:5], [head])
    assert fault is not None
    assert (fault.kind, fault.index) == ("head", 0)


def test_a_truncated_record_list_disagrees_with_the_stored_leaf_hashes():
    """Fewer records than stored leaf hashes is a leaf fault at the first missing index."""
    records, tree = make_log(6)
    fault = verify_log(records[:4], [], leaf_hashes=tree.export_levels()[0])
    assert fault is not None
    assert (fault.kind, fault.index) == ("leaf", 4)


def test_a_record_that_is_not_canonical_json_is_a_fault_when_asked():
    """With check_canonical, a record with extra whitespace or bad JSON is named."""
    records, _ = make_log(3)
    records[1] = b'{"seq": 1}'
    records[2] = b"not json"
    assert verify_log(records, [], check_canonical=True) == LogFault(
        "leaf", 1, "record is not RFC 8785 canonical JSON"
    )
    assert verify_log(records, []) is None


@given(st.integers(1, 40), st.data())
def test_any_edited_record_fails_every_head_that_covers_it_and_no_other(n, data):
    """A changed record breaks exactly the heads whose size includes it."""
    records, tree = make_log(n)
    victim = data.draw(st.integers(0, n - 1))
    records[victim] += b" "
    for size in range(n + 1):
        fault = verify_log(records, heads_at(tree, [size]), fake_verify)
        assert (fault is not None) == (size > victim)


def test_heads_from_their_json_form_check_the_same():
    """Heads read back from JSON are checked just like the originals."""
    records, tree = make_log(9)
    heads = [TreeHead.from_dict(h.to_dict()) for h in heads_at(tree, [3, 9])]
    assert verify_log(records, heads, fake_verify) is None
