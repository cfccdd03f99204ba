"""The leaf of a record built from its data's canonical bytes is exactly the canonical form of the whole."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gsomia.ledger import canonical
from gsomia.services import journal
from gsomia.services.ports import Record

_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=10)
_DATA = st.dictionaries(
    _TEXT,
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | _TEXT,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
        max_leaves=10,
    ),
    max_size=5,
)


@given(st.integers(1, 2**40), st.sampled_from(sorted(journal.LEAF_KINDS)), _TEXT, _DATA)
def test_record_leaf_equals_the_canonical_form_of_the_record(seq, kind, key, data):
    """journal.record_leaf (used by bulk imports, which encode each data once) writes the very bytes of
    canonical(record_json(record)), whatever the key and data (non-ASCII keys and controls included)."""
    record = Record(seq, kind, key, data)
    assert journal.record_leaf(record, canonical(data)) == canonical(journal.record_json(record))


def test_every_record_kind_has_a_leaf_kind():
    """A record of any kind a node writes gets its leaf: no kind is left out of journal.LEAF_KINDS."""
    from gsomia.services.ports import KEYED_KINDS, RECORD_KINDS, WORLD_KINDS

    assert set(journal.LEAF_KINDS) == set(RECORD_KINDS)
    assert set(WORLD_KINDS) | set(KEYED_KINDS) == set(RECORD_KINDS)
