"""Worlds built through the Python API (not a file) are held to the contract's errors too."""

from __future__ import annotations

import pytest

from gsomia.domain.errors import GsomiaError
from gsomia.domain.impact import Change
from gsomia.domain.model import Duration
from tests.factories import bilateral, d, two_party_world


def test_a_term_of_zero_length_added_through_the_python_api_is_bad_input():
    """design.md §3: "Errors (bad input): ... a term of zero length." """
    world = two_party_world(bilateral())
    zero = bilateral("A-B-ZERO", term=Duration(0, "y"), renewal=True)
    with pytest.raises(GsomiaError):
        world.impact(Change("add", d("2001-01-01"), new=zero))


def test_a_non_amend_event_carrying_a_scope_is_bad_input():
    """design.md §3: "those two keys [scope, equivalence] belong to `amend` alone." """
    world = two_party_world(bilateral())
    with pytest.raises(GsomiaError):
        world.impact(Change("terminate", d("2001-01-01"), "A-B", scope=("t",)))


def test_a_conduit_on_a_treaty_is_bad_input():
    """design.md §3: a conduit route uses "an arrangement with `conduit: H`"."""
    from dataclasses import replace

    from tests.factories import EXAMPLES, TISA, World

    spec = replace(
        EXAMPLES, agreements=tuple(replace(a, kind="treaty") if a is TISA else a for a in EXAMPLES.agreements)
    )
    with pytest.raises(GsomiaError, match="only an arrangement has a conduit"):
        World(spec)


def test_a_hop_agreement_must_join_the_hub_to_a_member():
    """A `hops` entry that does not name the hub protects no hop of the arrangement."""
    from dataclasses import replace

    from tests.factories import EXAMPLES, TISA, World

    odd = replace(TISA, hops=("KOR-JPN-GSOMIA", "USA-JPN-GSOMIA"))
    spec = replace(EXAMPLES, agreements=tuple(odd if a is TISA else a for a in EXAMPLES.agreements))
    with pytest.raises(GsomiaError, match="does not join the hub USA"):
        World(spec)


def test_a_negative_notice_period_is_bad_input():
    """A notice period counts days after a notice: it cannot be negative."""
    world = two_party_world(bilateral())
    with pytest.raises(GsomiaError, match="negative"):
        world.impact(Change("add", d("2001-01-01"), new=bilateral("A-B-2", notice_period=Duration(-1, "d"))))
