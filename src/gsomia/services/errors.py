"""The errors the node's services raise. Each is bad input to the CLI (exit code 2): nothing was written.

::

    GsomiaError                     (gsomia.domain.errors)
     ├── WorldError, QueryError...  the domain's: an invalid world, a meaningless question
     ├── CryptoError                (gsomia.crypto.errors) keys that do not load, bodies that do not open
     └── ServiceError               a use case cannot go ahead
          ├── NodeError             no node there, a node already there, or settings that do not hold
          │    ├── SettingsError    a setting with a bad value (names the setting and where it came from)
          │    ├── StoredRowError   a stored row that cannot be read back (names its table and row)
          │    └── TamperError      the store holds something the node's signed log does not prove
          ├── MissingBodyError      an allowed release of an item whose body this node does not hold
          ├── UnknownConsentError   no consent with that id
          └── ConsentStateError     a consent step out of order (grant a denied one, revoke a request...)
"""

from __future__ import annotations

from gsomia.domain.errors import GsomiaError


class ServiceError(GsomiaError):
    """A use case cannot go ahead; nothing was written."""


class NodeError(ServiceError):
    """No node at that directory, a node already there, or a node that cannot be opened."""


class SettingsError(NodeError):
    """A setting has a bad value; the message names the setting and where the value came from."""


class StoredRowError(NodeError):
    """A stored row cannot be read back (malformed JSON or a wrong type); names the table and row."""

    def __init__(self, table: str, row: int | str, problem: str) -> None:
        super().__init__(f"{table} row {row} is malformed ({problem}); run gsomia log verify")
        self.table = table
        self.row = row


class TamperError(NodeError):
    """The store holds a row the node's newest signed head does not prove; the node will not act on it."""


class MissingBodyError(ServiceError):
    """The item's body is not held by this node (it was imported as metadata only)."""


class UnknownConsentError(ServiceError):
    """No consent has that id on this node."""


class ConsentStateError(ServiceError):
    """The consent is not in a state that allows this step."""
