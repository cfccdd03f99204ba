"""RFC 8785 (JCS) canonical JSON: the bytes a record is hashed and signed as.

Delegates to the ``rfc8785`` package, which passes the RFC's published examples (§3.2.2, §3.2.3 and
the Appendix B number table; see tests/unit/ledger/test_ledger_canonical.py). Integers must lie within
±(2**53 - 1), as I-JSON requires; NaN and infinities have no form; keys must be strings.

Most of what a node logs (records, decisions) holds no number but integers and no key outside ASCII. For
such a value orjson, with sorted keys, writes exactly the RFC 8785 bytes (as the standard library's encoder
does with sorted keys, no ASCII escaping and no spaces): strings are escaped the same way (``\\b \\t \\n
\\f \\r``, other controls as lowercase ``\\u00xx``, nothing else), integers print the same, and ASCII keys
sort the same by code point as by UTF-16 unit. orjson is about fifty times quicker than ``rfc8785`` (the
standard library about ten), which every durable write and every bundle signed or checked feels; anything
else (a float, a key beyond ASCII, a lone surrogate) takes the ``rfc8785`` road. Property tests hold the
three equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

import orjson
import rfc8785

from gsomia.ledger.errors import CanonicalError

JsonValue: TypeAlias = "bool | int | float | str | Sequence[JsonValue] | Mapping[str, JsonValue] | None"
"""A value with a JSON form: objects are mappings with string keys, arrays are sequences (or tuples)."""

_LIMIT = 2**53
_SORTED = orjson.OPT_SORT_KEYS


def canonical(obj: JsonValue) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``obj``; CanonicalError if it has none."""
    if _plain(obj):
        try:
            return orjson.dumps(obj, option=_SORTED)
        except orjson.JSONEncodeError:
            pass  # a lone surrogate: rfc8785 names it
    try:
        return rfc8785.dumps(obj)
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalError(str(exc)) from exc
    except UnicodeEncodeError as exc:  # a lone surrogate in a key: rfc8785 fails sorting the keys
        raise CanonicalError(f"a key is not Unicode text (a lone surrogate): {exc.object!r}") from exc


def _plain(obj: object) -> bool:
    """Whether ``obj`` holds only strings, booleans, None, I-JSON integers, lists, tuples and dicts with
    ASCII string keys: values the standard encoder writes as RFC 8785 does. A loop, not recursion: it
    runs on every leaf a node writes."""
    stack = [obj]
    pop, extend = stack.pop, stack.extend
    while stack:
        value = pop()
        kind = type(value)
        if kind is str or kind is bool or value is None:
            continue
        if kind is int:
            if not -_LIMIT < value < _LIMIT:  # type: ignore[operator]
                return False
        elif kind is dict:
            for key in value:  # type: ignore[attr-defined]
                if type(key) is not str or not key.isascii():
                    return False
            extend(value.values())  # type: ignore[attr-defined]
        elif kind is list or kind is tuple:
            extend(value)  # type: ignore[arg-type]
        else:
            return False
    return True
