"""STIX 2.1 validity of release bundles: the OASIS validator and the ``stix2`` library, run once per shape.

:func:`stix_problems` runs ``stix2-validator`` (strict, strict properties, references inside the bundle,
bundled schemas only: no network) and ``stix2.parse(allow_custom=False)`` on a bundle: about 9 ms in
Python on a six-object release bundle, most of it the validator resolving its schemas' references again
on every call. Done for every bundle sent and every bundle received, that cost alone held an exchange
between two nodes near 50 bundles a second.

:class:`ShapeMemo` runs it once per *shape*. The caller (:mod:`gsomia.exchange.bundle`) only asks about a
bundle it has already proven to be exactly gsomia's layout built from type-checked fields; the shape is
that layout rebuilt with every value whose form was proven (ids, timestamps, base64, hex, integers, party
and item ids) replaced by one fixed representative of the same form, keeping everything else verbatim
(the marking definition's content, unknown properties). Two bundles of one shape differ only in values of
forms the validator accepts or refuses as a whole, so they get the same verdict; the memo keeps the verdict
of the first bundle seen of each shape (its problems name that bundle's own ids). A bundle of a new shape
(a new label, a new item class, anything unusual) is validated in full.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

_VALIDATION = {"version": "2.1", "strict": True, "strict_properties": True, "enforce_refs": True}
SHAPES_KEPT = 4096  # verdicts kept: a node sees a few shapes per item class and label


def stix_problems(bundle: Mapping[str, Any]) -> list[str]:
    """What the STIX 2.1 validator (strict, strict properties, references inside the bundle, bundled
    schemas only: no network) and ``stix2.parse(allow_custom=False)`` find wrong; empty when valid.

    ``strict_types`` is left off: stix2-validator 3.3.2 counts every cyber-observable at the top level
    of a bundle (our artifact) as a custom type. Every object type here is checked by ``open_bundle``.
    """
    # imported here: the validator's import costs about 1.4 s (jsonschema's IRI grammars), which a process
    # that never meets a new shape (a read-only command, a sync with nothing new) should not pay
    import stix2  # type: ignore[import-untyped]
    from stix2validator import ValidationOptions, validate_instance  # type: ignore[import-untyped]

    problems: list[str] = []
    try:
        results = validate_instance(
            copy.deepcopy(dict(bundle)), ValidationOptions(silent=True, **_VALIDATION)
        )
        problems += [str(error.message) for error in results.errors]
    except Exception as exc:  # the validator's own failures on odd input: a problem, not a crash
        problems.append(f"the STIX validator failed: {type(exc).__name__}: {exc}")
    try:
        stix2.parse(copy.deepcopy(dict(bundle)), allow_custom=False)
    except Exception as exc:  # stix2 raises many kinds (STIXError, ValueError, KeyError...) on bad input
        problems.append(f"stix2 does not parse it: {exc}")
    return problems


def warm() -> None:
    """Import the validator now (a server calls this at start, so no request pays for it)."""
    import stix2validator  # noqa: F401


class ShapeMemo:
    """The verdict of :func:`stix_problems` per bundle shape (the latest :data:`SHAPES_KEPT` shapes)."""

    def __init__(self, kept: int = SHAPES_KEPT) -> None:
        self._kept = kept
        self._verdicts: OrderedDict[bytes, tuple[str, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self.validated = 0  # bundles validated in full (a new shape each)

    def problems(self, bundle: Mapping[str, Any], shape: Mapping[str, Any]) -> list[str]:
        """The problems of ``bundle``, whose shape is ``shape``: validated in full for a new shape."""
        try:
            text = json.dumps(shape, sort_keys=True, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError, RecursionError):  # not plain JSON: no shape, judged in full
            return stix_problems(bundle)
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            found = self._verdicts.get(key)
            if found is not None:
                self._verdicts.move_to_end(key)
                return list(found)
        verdict = tuple(stix_problems(bundle))
        with self._lock:
            self.validated += 1
            self._verdicts[key] = verdict
            while len(self._verdicts) > self._kept:
                self._verdicts.popitem(last=False)
        return list(verdict)
