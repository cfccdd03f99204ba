"""The errors the ledger raises. A proof or head that fails to verify is an answer (False), not an error.

::

    LedgerError                  everything gsomia.ledger raises on purpose
     ├── ProofRangeError         an index or tree size outside the tree (or old size > new size)
     ├── HashFormatError         a hash that is not 32 bytes, or stored tree levels of the wrong shape
     ├── CanonicalError          a value with no RFC 8785 form (NaN, |int| > 2**53 - 1, non-string key...)
     └── HeadFormatError         a tree head or its JSON form is malformed

Each also subclasses ``ValueError``: all are bad arguments.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error gsomia.ledger raises on purpose."""


class ProofRangeError(LedgerError, ValueError):
    """A proof or root was asked for an index or size the tree does not have."""


class HashFormatError(LedgerError, ValueError):
    """A hash is not 32 bytes, or imported tree levels do not have the shape appends would give."""


class CanonicalError(LedgerError, ValueError):
    """The value cannot be written as RFC 8785 canonical JSON."""


class HeadFormatError(LedgerError, ValueError):
    """A tree head, or the dict it was read from, is malformed."""
