"""Confidentiality labels for released items, and SPIF import. Pure: bytes or text in, values out.

- :class:`Label` (:mod:`.model`): the originator's policy, level and marking, releasability, caveats,
  creation time, and recipients' equivalents as :class:`Alternative` labels.
- STANAG 4774 XML and a STANAG 4778-style signed binding (:mod:`.stanag`): :func:`to_xml`,
  :func:`from_xml`, :func:`bind`, :func:`verify_binding`.
- STIX 2.1 (:mod:`.stix`): :func:`marking_definition`, :func:`extension_definition`,
  :func:`label_from_marking`.
- Open XML SPIF (:mod:`.spif`): :func:`read_spif`, :func:`parties_entries`, :func:`equivalence_rows`.

Everything refuses bad input with a :class:`LabelError` (a :class:`~gsomia.domain.errors.GsomiaError`).
"""

from __future__ import annotations

from .errors import LabelError
from .model import Alternative, Classification, Label, label_for_item
from .spif import Equivalent, Spif, SpifClassification, equivalence_rows, parties_entries, read_spif
from .stanag import bind, from_xml, payload_digest, signed_bytes, to_xml, verify_binding
from .stix import extension_definition, label_from_marking, marking_definition, producer_identity

__all__ = [
    "Alternative",
    "Classification",
    "Equivalent",
    "Label",
    "LabelError",
    "Spif",
    "SpifClassification",
    "bind",
    "equivalence_rows",
    "extension_definition",
    "from_xml",
    "label_for_item",
    "label_from_marking",
    "marking_definition",
    "parties_entries",
    "payload_digest",
    "producer_identity",
    "read_spif",
    "signed_bytes",
    "to_xml",
    "verify_binding",
]
