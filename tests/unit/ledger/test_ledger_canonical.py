"""Canonical JSON against RFC 8785's published examples.

Expected outputs are from RFC 8785 §3.2.2 (the "numbers/string/literals" example), §3.2.3 (property
sorting) and Appendix B (number serialization), as also reproduced in cyberphone/json-canonicalization.
"""

from __future__ import annotations

import json
import struct

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from gsomia.ledger import CanonicalError, canonical

APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


def from_bits(hex_bits):
    return struct.unpack(">d", bytes.fromhex(hex_bits))[0]


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_numbers_serialize_as_rfc_8785_appendix_b_says(bits, expected):
    """Each IEEE 754 value in Appendix B serializes to its published ES6 form."""
    assert canonical(from_bits(bits)) == expected.encode()


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_nan_and_infinities_have_no_canonical_form(bits):
    """NaN and the infinities raise CanonicalError, as Appendix B requires."""
    with pytest.raises(CanonicalError):
        canonical(from_bits(bits))


def test_the_section_3_2_2_example_canonicalizes_to_the_published_bytes():
    """The RFC's example of whitespace, number, string and literal rules gives its published output."""
    source = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical(json.loads(source)) == expected.encode()


def test_properties_sort_by_utf16_code_units_as_section_3_2_3_shows():
    """Keys sort by UTF-16 code units, so the emoji (a surrogate pair) precedes U+FB33."""
    obj = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = list(json.loads(canonical(obj)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_equal_records_written_differently_have_identical_bytes():
    """Key order, tuples and float spellings of integers do not change the canonical bytes."""
    assert canonical({"b": [1.0, (2, 3)], "a": "x"}) == canonical({"a": "x", "b": [1, [2, 3]]})
    assert canonical({"b": [1.0, (2, 3)], "a": "x"}) == b'{"a":"x","b":[1,[2,3]]}'


@pytest.mark.parametrize("value", [2**53, -(2**53), {1: "x"}, b"bytes", {"s": {1, 2}}, "\ud800"], ids=repr)
def test_values_without_a_json_form_raise_canonical_error(value):
    """Unsafe integers, non-string keys, bytes, sets and lone surrogates raise CanonicalError."""
    with pytest.raises(CanonicalError):
        canonical(value)


# -- the quick road equals the rfc8785 one --------------------------------------------------------------

_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=12)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6) | _TEXT, inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_VALUES)
def test_the_quick_encoder_writes_exactly_what_rfc8785_writes(value):
    """For any JSON value (floats, non-ASCII keys, controls, surrogates, big integers included), canonical()
    gives the rfc8785 package's bytes, or both refuse."""
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):  # the latter: a lone surrogate in a key
        with pytest.raises(CanonicalError):
            canonical(value)
        return
    assert canonical(value) == expected


@pytest.mark.parametrize("key", ["\ud800", "a\udfff", "\udc00b"])
def test_a_key_holding_a_lone_surrogate_has_no_canonical_form(key):
    """rfc8785 fails on such a key with the codec's own error while sorting; canonical() names it."""
    with pytest.raises(CanonicalError, match="lone surrogate"):
        canonical({key: None, "b": 1})


def test_every_character_is_escaped_or_kept_exactly_as_rfc8785_does():
    """Every code point outside the surrogates (one in seven above the Basic Multilingual Plane), as a value
    and, for ASCII, as a key: the quick road's escaping is the RFC's, character by character."""
    points = [*range(0xD800), *range(0xE000, 0x10000), *range(0x10000, 0x110000, 7)]
    for point in points:
        text = chr(point) + "a"
        value = {"k": text, (text if point < 128 else "x"): [text, point]}
        assert canonical(value) == rfc8785.dumps(value), hex(point)
