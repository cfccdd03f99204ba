"""The one error the labels package raises: a label, binding, STIX marking or SPIF that cannot be used.

::

    GsomiaError
     └── LabelError     bad label input; names the source, the line and the element (or property) if known

A hostile document (a DOCTYPE, an entity, a billion laughs, a file too large) is a LabelError too: it is
refused before anything in it is expanded.
"""

from __future__ import annotations

from gsomia.domain.errors import GsomiaError


class LabelError(GsomiaError):
    """A confidentiality label, a binding, a STIX marking or a SPIF is malformed or does not verify.

    ``where`` names the element (``ConfidentialityInformation/Classification``) or the property
    (``extensions.levels.originator``); ``line`` is the line in ``source`` when the reader knows it.
    """

    def __init__(self, message: str, *, where: str = "", line: int | None = None, source: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.line = line
        self.source = source

    def __str__(self) -> str:
        line = "" if self.line is None else (f":{self.line}" if self.source else f"line {self.line}")
        place = self.source + line
        parts = [p for p in (place, self.where) if p]
        return ": ".join([*parts, self.message])

    def at(
        self, *, where: str | None = None, line: int | None = None, source: str | None = None
    ) -> LabelError:
        """The same error with the place filled in where it was still unknown."""
        return LabelError(
            self.message,
            where=self.where or (where or ""),
            line=self.line if self.line is not None else line,
            source=self.source or (source or ""),
        )
