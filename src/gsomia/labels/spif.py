"""Open XML SPIF import: a security policy's classifications and their stated equivalents, as world-file
``parties`` entries and ``equivalence`` rows.

A Security Policy Information File (xmlspif.org schema 2.0 or 2.1, with or without the
``http://www.xmlspif.org/spif`` namespace) names a policy (``securityPolicyId``), lists its
``securityClassification`` elements (a name, a LACV and a ``hierarchy``: higher is more sensitive) and,
inside each, the ``equivalentClassification`` elements that map it to a LACV of another policy (named by
``policyRef`` among the file's ``equivalentPolicies``). Only those parts are read; the rest (categories,
marking data, signatures) is left alone. A malformed file is a :class:`LabelError` naming the file, the
line and the element.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from xml.etree.ElementTree import Element

from gsomia.domain.ids import id_problem, quoted

from .errors import LabelError
from .model import marking_value
from .xmlread import Doc, local, read_xml

SPIF_NS = "http://www.xmlspif.org/spif"
"""The Open XML SPIF namespace (a file may also use no namespace at all)."""
SCHEMA_VERSIONS = ("2.0", "2.1")
MAX_SPIF_BYTES = 16 << 20
"""The largest SPIF read (national SPIFs with many categories run to a few megabytes)."""
Applied = Literal["encrypt", "decrypt", "both"]
_APPLIED: tuple[Applied, ...] = ("encrypt", "decrypt", "both")
_INT = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True, slots=True)
class Equivalent:
    """An ``equivalentClassification``: this classification is held equal to ``lacv`` of ``policy_ref``."""

    policy_ref: str
    lacv: int
    applied: Applied
    line: int | None = None


@dataclass(frozen=True, slots=True)
class SpifClassification:
    """A ``securityClassification``: its name (the marking), LACV, hierarchy and stated equivalents."""

    name: str
    lacv: int
    hierarchy: int
    equivalents: tuple[Equivalent, ...] = ()
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Spif:
    """What gsomia reads of one SPIF. ``classifications`` run lowest first (by hierarchy)."""

    source: str
    schema_version: str
    policy_name: str
    policy_id: str
    classifications: tuple[SpifClassification, ...]
    equivalent_policies: tuple[tuple[str, str], ...] = ()  # (name, id) pairs

    def by_lacv(self, lacv: int) -> SpifClassification | None:
        return next((c for c in self.classifications if c.lacv == lacv), None)


class _SpifReader:
    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.ns = local(doc.root.tag)[0]

    def fail(self, message: str, element: Element, where: str) -> LabelError:
        return self.doc.error(message, element, where)

    def kids(self, parent: Element, name: str) -> list[Element]:
        return [c for c in parent if local(c.tag) == (self.ns, name)]

    def one(self, parent: Element, name: str, where: str) -> Element:
        found = self.kids(parent, name)
        if not found:
            raise self.fail(f"missing element {name}", parent, f"{where}/{name}")
        if len(found) > 1:
            raise self.fail(
                f"element {name} appears {len(found)} times; give it once", found[1], f"{where}/{name}"
            )
        return found[0]

    def attr(self, element: Element, name: str, where: str) -> str:
        value = element.get(name)
        if value is None or not value.strip():
            raise self.fail(f"missing attribute {name}", element, f"{where}@{name}")
        return value.strip()

    def number(self, element: Element, name: str, where: str) -> int:
        value = self.attr(element, name, where)
        if not _INT.fullmatch(value) or len(value) > 18:
            raise self.fail(
                f"attribute {name} is {quoted(value)}, not an integer", element, f"{where}@{name}"
            )
        return int(value)

    def text(self, element: Element, name: str, where: str) -> str:
        value = self.attr(element, name, where)
        try:
            return marking_value(value, f"attribute {name}")
        except LabelError as exc:
            raise exc.at(
                where=f"{where}@{name}", line=self.doc.line(element), source=self.doc.source
            ) from None

    def equivalent(self, element: Element, where: str) -> Equivalent:
        applied = self.attr(element, "applied", where)
        if applied not in _APPLIED:
            raise self.fail(
                f"applied is {quoted(applied)}; it must be encrypt, decrypt or both",
                element,
                f"{where}@applied",
            )
        return Equivalent(
            self.text(element, "policyRef", where),
            self.number(element, "lacv", where),
            _APPLIED[_APPLIED.index(applied)],
            self.doc.line(element),
        )

    def classification(self, element: Element, where: str) -> SpifClassification:
        equivalents = tuple(
            self.equivalent(e, f"{where}/equivalentClassification")
            for e in self.kids(element, "equivalentClassification")
        )
        return SpifClassification(
            self.text(element, "name", where),
            self.number(element, "lacv", where),
            self.number(element, "hierarchy", where),
            equivalents,
            self.doc.line(element),
        )

    def spif(self) -> Spif:
        root = self.doc.root
        if local(root.tag)[1] != "SPIF" or self.ns not in ("", SPIF_NS):
            raise self.fail(
                f"expected a SPIF element (namespace {SPIF_NS} or none), found {root.tag}", root, "SPIF"
            )
        version = self.attr(root, "schemaVersion", "SPIF")
        if version not in SCHEMA_VERSIONS:
            raise self.fail(
                f"schemaVersion {quoted(version)} is not read; gsomia reads {' and '.join(SCHEMA_VERSIONS)}",
                root,
                "SPIF@schemaVersion",
            )
        policy = self.one(root, "securityPolicyId", "SPIF")
        name = self.text(policy, "name", "SPIF/securityPolicyId")
        policy_id = self.text(policy, "id", "SPIF/securityPolicyId")
        where = "SPIF/securityClassifications"
        holder = self.one(root, "securityClassifications", "SPIF")
        elements = self.kids(holder, "securityClassification")
        if not elements:
            raise self.fail("no securityClassification: a policy needs at least one", holder, where)
        classes = [self.classification(e, f"{where}/securityClassification") for e in elements]
        self.unique(classes, elements, where)
        equivalents = self.kids(root, "equivalentPolicies")
        pairs: list[tuple[str, str]] = []
        for group in equivalents:
            for element in self.kids(group, "equivalentPolicy"):
                here = "SPIF/equivalentPolicies/equivalentPolicy"
                pairs.append((self.text(element, "name", here), self.text(element, "id", here)))
        known = {n for n, _ in pairs}
        for cls, element in zip(classes, elements, strict=True):
            for eq, eq_el in zip(
                cls.equivalents, self.kids(element, "equivalentClassification"), strict=True
            ):
                if eq.policy_ref not in known:
                    raise self.fail(
                        f"policyRef {quoted(eq.policy_ref)} names no equivalentPolicy of this SPIF; "
                        "declare it under equivalentPolicies",
                        eq_el,
                        f"{where}/securityClassification/equivalentClassification@policyRef",
                    )
        ordered = tuple(sorted(classes, key=lambda c: c.hierarchy))
        return Spif(self.doc.source, version, name, policy_id, ordered, tuple(pairs))

    def unique(self, classes: list[SpifClassification], elements: list[Element], where: str) -> None:
        for key in ("name", "lacv", "hierarchy"):
            seen: dict[object, SpifClassification] = {}
            for cls, element in zip(classes, elements, strict=True):
                value = getattr(cls, key)
                if value in seen:
                    raise self.fail(
                        f"two classifications have {key} {quoted(value)} ({quoted(seen[value].name)} and "
                        f"{quoted(cls.name)}); each must be distinct",
                        element,
                        f"{where}/securityClassification@{key}",
                    )
                seen[value] = cls


def read_spif(data: bytes | str, source: str) -> Spif:
    """Read one Open XML SPIF (``source`` names it in errors)."""
    doc = read_xml(data, "the SPIF", MAX_SPIF_BYTES, source)
    return _SpifReader(doc).spif()


# -- world-file entries -----------------------------------------------------------------------------


def _party(spif: Spif, party_of_policy: Mapping[str, str] | None) -> str:
    mapping = party_of_policy or {}
    party = mapping.get(spif.policy_id, mapping.get(spif.policy_name, spif.policy_name))
    problem = id_problem(party)
    if problem is not None:
        raise LabelError(
            f"the party id {quoted(party)} for policy {quoted(spif.policy_name)} {problem}; "
            "map the policy to a party id",
            source=spif.source,
        )
    return party


def level_id(party: str, classification: SpifClassification) -> str:
    """The world-file level id of a classification: the party id, a dash, the name with spaces as dashes."""
    return f"{party}-{'-'.join(classification.name.split())}"


def _parties(spifs: Sequence[Spif], party_of_policy: Mapping[str, str] | None) -> list[str]:
    parties: dict[str, Spif] = {}
    for spif in spifs:
        if not isinstance(spif, Spif):
            raise LabelError(f"expected Spif values (from read_spif), got {type(spif).__name__}")
        party = _party(spif, party_of_policy)
        if party in parties:
            raise LabelError(
                f"policies {quoted(parties[party].policy_name)} ({parties[party].source}) and "
                f"{quoted(spif.policy_name)} ({spif.source}) both map to party {quoted(party)}; give each "
                "its own party",
            )
        parties[party] = spif
    return list(parties)


def parties_entries(
    spifs: Sequence[Spif], party_of_policy: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """World-file ``parties`` entries, one per SPIF: levels lowest first, each ``{id, marking}``.

    ``party_of_policy`` maps a policy (its id or its name) to a party id; an unmapped policy's party is its
    name. The LACV is not written: a world-file level holds only ``id`` and ``marking``.
    """
    entries: list[dict[str, Any]] = []
    for spif, party in zip(spifs, _parties(spifs, party_of_policy), strict=True):
        levels = []
        for cls in spif.classifications:
            ident = level_id(party, cls)
            problem = id_problem(ident)
            if problem is not None:
                raise LabelError(f"the level id {quoted(ident)} {problem}", source=spif.source, line=cls.line)
            levels.append({"id": ident, "marking": cls.name})
        entries.append({"id": party, "name": spif.policy_name, "levels": levels})
    return entries


def _target(spif: Spif, eq: Equivalent, others: Sequence[Spif]) -> Spif | None:
    ids = dict(spif.equivalent_policies)
    wanted = ids.get(eq.policy_ref)
    for other in others:
        if other is not spif and (other.policy_id == wanted or other.policy_name == eq.policy_ref):
            return other
    return None


def equivalence_rows(
    spifs: Sequence[Spif], party_of_policy: Mapping[str, str] | None = None
) -> list[dict[str, str | list[str]]]:
    """The equivalence rows the SPIFs' ``equivalentClassification`` elements state among these policies.

    Levels held equal (directly or through a chain of statements) share a row; a party with several
    levels in one row lists them highest first, so its marking on receipt is the most protective. Rows run
    highest first. Statements naming a policy not given are left out; rows that would cross are an error.
    """
    parties = _parties(spifs, party_of_policy)
    party_of = {id(s): p for s, p in zip(spifs, parties, strict=True)}
    parent: dict[tuple[int, int], tuple[int, int]] = {}

    def find(node: tuple[int, int]) -> tuple[int, int]:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for s_index, spif in enumerate(spifs):
        for cls in spif.classifications:
            for eq in cls.equivalents:
                other = _target(spif, eq, spifs)
                if other is None:
                    continue
                match = other.by_lacv(eq.lacv)
                if match is None:
                    raise LabelError(
                        f"classification {quoted(cls.name)} is held equal to lacv {eq.lacv} of policy "
                        f"{quoted(other.policy_name)}, which has no classification with that lacv",
                        where="securityClassification/equivalentClassification@lacv",
                        line=eq.line,
                        source=spif.source,
                    )
                a = (s_index, spif.classifications.index(cls))
                b = (spifs.index(other), other.classifications.index(match))
                parent[find(a)] = find(b)
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for node in list(parent):
        groups.setdefault(find(node), []).append(node)
    rows = [sorted(g) for g in groups.values()]
    _check_crossing(rows, spifs)
    rows.sort(key=lambda g: tuple(-max((r for s, r in g if s == i), default=-1) for i in range(len(spifs))))
    out: list[dict[str, str | list[str]]] = []
    for group in rows:
        row: dict[str, str | list[str]] = {}
        for s_index, spif in enumerate(spifs):
            ranks = sorted((r for s, r in group if s == s_index), reverse=True)
            names = [level_id(party_of[id(spif)], spif.classifications[r]) for r in ranks]
            if names:
                row[party_of[id(spif)]] = names[0] if len(names) == 1 else names
        out.append(row)
    return out


def _check_crossing(rows: Iterable[list[tuple[int, int]]], spifs: Sequence[Spif]) -> None:
    spans = [
        {s: (min(r for t, r in g if t == s), max(r for t, r in g if t == s)) for s, _ in g} for g in rows
    ]
    for i, first in enumerate(spans):
        for second in spans[i + 1 :]:
            shared = sorted(set(first) & set(second))
            above = {s for s in shared if first[s][0] > second[s][1]}
            below = {s for s in shared if first[s][1] < second[s][0]}
            mixed = sorted(set(shared) - above - below)
            if mixed:
                spif = spifs[mixed[0]]
                raise LabelError(
                    f"the equivalences interleave: for {quoted(spif.policy_name)} one row holds levels both "
                    f"above and below another row's; check the equivalentClassification elements of "
                    f"{', '.join(sorted({s.source for s in spifs}))}",
                )
            if above and below:
                high, low = spifs[min(above)], spifs[min(below)]
                raise LabelError(
                    f"the equivalences cross: a row is higher than another for {quoted(high.policy_name)} "
                    f"but lower for {quoted(low.policy_name)}; check the equivalentClassification elements "
                    f"of {high.source} and {low.source}",
                )
