"""RFC 8785 (JCS) canonical JSON: the bytes a record is hashed and signed as.

Delegates to the ``rfc8785`` package, which passes the RFC's published examples (§3.2.2, §3.2.3 and the
Appendix B number table; see tests/unit/ledger/test_canonical.py). Integers must lie within ±(2**53 - 1),
as I-JSON requires; NaN and infinities have no form; keys must be strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

import rfc8785

from gsomia.ledger.errors import CanonicalError

JsonValue: TypeAlias = "bool | int | float | str | Sequence[JsonValue] | Mapping[str, JsonValue] | None"
"""A value with a JSON form: objects are mappings with string keys, arrays are sequences (or tuples)."""


def canonical(obj: JsonValue) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``obj``; CanonicalError if it has none."""
    try:
        return rfc8785.dumps(obj)
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalError(str(exc)) from exc
