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

A memo given a :class:`ValidShapes` (a node's: see ``gsomia.store.shapefile``) also remembers, across
processes, the shapes it found valid: by a tag, an HMAC under a secret of the node's, over the shape, the
validation options and the version of every package whose code judges it (:data:`JUDGES`, gsomia's
own among them). A new process (each ``gsomia sync`` is one) that meets a shape remembered valid takes
that verdict without importing the validator, which costs about a third of a second, and the first
validation as much again. Only valid shapes are remembered, and only as tags: nothing of a bundle is
written, and a tag cannot be made without the secret. Upgrading or installing any judge, or changing how
:func:`gsomia.exchange.bundle._shape` or :func:`stix_problems` judge (:data:`SHAPE_SCHEME`), changes
every tag, so nothing judged before is taken on trust.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import importlib.util
import sys
import threading
import types
from collections import OrderedDict
from collections.abc import Mapping
from functools import cache
from typing import Any, Protocol, cast

from gsomia.ledger.canonical import JsonValue, canonical
from gsomia.ledger.errors import CanonicalError

_VALIDATION = {"version": "2.1", "strict": True, "strict_properties": True, "enforce_refs": True}
SHAPES_KEPT = 4096  # verdicts kept: a node sees a few shapes per item class and label
SHAPE_SCHEME = b"gsomia/stix-shape/2"  # raise when bundle._shape or stix_problems changes how it judges
JUDGES = (  # every package whose code can change a verdict: the validators and jsonschema's format checkers
    "gsomia",
    "stix2-validator",
    "stix2",
    "stix2-patterns",
    "antlr4-python3-runtime",
    "jsonschema",
    "jsonschema-specifications",
    "referencing",
    "rfc3986-validator",
    "rfc3987",
    "rfc3987-syntax",
    "rfc3339-validator",
    "idna",
    "fqdn",
    "isoduration",
    "jsonpointer",
    "uri-template",
    "webcolors",
)


def stix_problems(bundle: Mapping[str, Any]) -> list[str]:
    """What the STIX 2.1 validator (strict, strict properties, references inside the bundle, bundled
    schemas only: no network) and ``stix2.parse(allow_custom=False)`` find wrong; empty when valid.

    ``strict_types`` is left off: stix2-validator 3.3.2 counts every cyber-observable at the top level
    of a bundle (our artifact) as a custom type. Every object type here is checked by ``open_bundle``.
    """
    # imported here: the validator and stix2 take about a third of a second to import even with the IRI
    # grammar deferred, which a process that never meets a new shape (a read-only command, a sync with
    # nothing new) should not pay
    defer_iri_grammar()
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
    defer_iri_grammar()
    import stix2validator  # noqa: F401

    judges()


IRI_GRAMMAR = "rfc3987_syntax"


def defer_iri_grammar() -> None:
    """Let ``jsonschema`` load without building the RFC 3987 grammar until an IRI is checked.

    ``stix2-validator`` asks for ``jsonschema[format-nongpl]``, which brings ``rfc3987-syntax``; when
    ``jsonschema`` loads its format checkers it imports that package, and the package builds an Earley
    parser of the whole IRI grammar at import: about 0.9 s of the validator's 1.4 s import, in every
    process that validates a bundle (each ``gsomia sync``, each ``gsomia serve``). The STIX 2.1 schemas
    ask for no IRI format (``uri``, ``email`` and ``idn-hostname`` only), so that parser is never used.

    While ``jsonschema``'s checkers load, a stand-in module answers for the package: its one function,
    which the checkers bind, imports the real package the first time an ``iri`` or ``iri-reference``
    value is checked and asks it, so the checks are exactly the real ones. The stand-in is taken out of
    :data:`sys.modules` straight after, so any other import gets the real package. Nothing is done if
    ``jsonschema`` is loaded already, or the package is not installed."""
    if "jsonschema" in sys.modules or IRI_GRAMMAR in sys.modules:
        return
    if importlib.util.find_spec(IRI_GRAMMAR) is None:
        return
    stand_in = types.ModuleType(IRI_GRAMMAR)
    stand_in.is_valid_syntax = _is_valid_iri_syntax  # type: ignore[attr-defined]
    sys.modules[IRI_GRAMMAR] = stand_in
    try:
        import jsonschema._format  # type: ignore[import-untyped]  # noqa: F401  (binds the stand-in's function)
    finally:
        if sys.modules.get(IRI_GRAMMAR) is stand_in:
            del sys.modules[IRI_GRAMMAR]


def _is_valid_iri_syntax(term: str, value: str) -> bool:
    """The real ``rfc3987_syntax.is_valid_syntax`` (imported, and its grammar built, on the first call)."""
    from rfc3987_syntax import is_valid_syntax  # type: ignore[import-untyped]

    return bool(is_valid_syntax(term, value))


class ValidShapes(Protocol):
    """Where a node remembers, across processes, the tags of the bundle shapes found valid."""

    def holds(self, tag: bytes) -> bool:
        """Whether ``tag`` was remembered (by this process or another)."""
        ...

    def add(self, tag: bytes) -> None:
        """Remember ``tag`` (at most so many: past them, nothing more is remembered)."""
        ...


@cache
def judges() -> bytes:
    """What judges a shape: the validation options and each package of :data:`JUDGES` with its version
    (``absent`` when it is not installed: installing one, such as ``rfc3987``, which jsonschema then
    prefers for ``uri``, changes every tag). Read once per process, when the validator is warmed (a
    server, at its start) or first asked, so a tag names the code this process judges with."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "absent"

    options = ",".join(f"{k}={v}" for k, v in sorted(_VALIDATION.items()))
    return "|".join([options, *(f"{name}={installed(name)}" for name in JUDGES)]).encode()


class ShapeMemo:
    """The verdict of :func:`stix_problems` per bundle shape (the latest :data:`SHAPES_KEPT` shapes);
    with ``remembered`` and a ``secret``, the valid ones also across processes."""

    def __init__(
        self, kept: int = SHAPES_KEPT, *, remembered: ValidShapes | None = None, secret: bytes = b""
    ) -> None:
        if remembered is not None and len(secret) < 32:
            raise ValueError("a memo that remembers shapes needs a secret of at least 32 bytes")
        self._kept = kept
        self._verdicts: OrderedDict[bytes, tuple[str, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self._remembered = remembered
        self._secret = secret
        self.validated = 0  # bundles validated in full (a new shape each)

    def problems(self, bundle: Mapping[str, Any], shape: Mapping[str, Any]) -> list[str]:
        """The problems of ``bundle``, whose shape is ``shape``: validated in full for a new shape."""
        try:  # one text per JSON value (RFC 8785), written by orjson for the plain values shapes are
            text = canonical(cast(JsonValue, shape))
        except (CanonicalError, RecursionError):  # no canonical form: no shape, judged in full
            return stix_problems(bundle)
        key = hashlib.sha256(text).digest()
        with self._lock:
            found = self._verdicts.get(key)
            if found is not None:
                self._verdicts.move_to_end(key)
                return list(found)
        tag = self._tag(key)
        if tag is not None and self._remembered is not None and self._remembered.holds(tag):
            verdict: tuple[str, ...] = ()
        else:
            verdict = tuple(stix_problems(bundle))
            with self._lock:
                self.validated += 1
            if tag is not None and self._remembered is not None and not verdict:
                self._remembered.add(tag)
        with self._lock:
            self._verdicts[key] = verdict
            while len(self._verdicts) > self._kept:
                self._verdicts.popitem(last=False)
        return list(verdict)

    def _tag(self, key: bytes) -> bytes | None:
        """The tag the shape with digest ``key`` is remembered by; None when nothing is remembered."""
        if self._remembered is None:
            return None
        message = SHAPE_SCHEME + b"\n" + judges() + b"\n" + key
        return hmac.new(self._secret, message, hashlib.sha256).digest()
