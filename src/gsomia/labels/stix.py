"""Labels as STIX 2.1 marking definitions, through a property extension of gsomia's own.

:func:`extension_definition` is the STIX 2.1 ``extension-definition`` object that names the extension;
:func:`marking_definition` writes a label as a ``marking-definition`` whose ``extensions`` hold, under that
definition's id, everything the label carries::

    {"extension_type": "property-extension",
     "policy": "KOR", "originator": "KOR",
     "levels": {"originator": {"party": "KOR", "policy": "KOR", "level": "KR-II", "marking": "군사II급비밀"},
                "equivalents": [{"party": "JPN", "policy": "JPN", "level": "JP-GOKUHI", "marking": "極秘"}]},
     "release_restricted": true,         (absent: recipients are not restricted by the label)
     "releasable_to": ["JPN"],            (with release_restricted; absent: nobody but the originator)
     "caveats": ["ORCON"],                (absent when there are none)
     "further_sharing": [{"sharing_scope": "third-party", "rule_effect": "deny",
                          "exception": "originator-prior-written-consent", "consent_of": "KOR"}]}

``further_sharing`` follows the shape of the ACS 3.0 marking (a list of rules with a scope and an
effect): passing the item to a third party is denied unless the originator consented in writing first.
The object's id is derived from its content (:func:`stix_id`), so the same label always gives the same
object, and :func:`label_from_marking` reads it back, refusing anything it cannot carry. Plain dicts in
and out: this module imports no STIX library.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from gsomia.domain.ids import quoted

from .errors import LabelError
from .model import Alternative, Classification, Label, id_value, marking_value, timestamp_value


def stix_id(kind: str, content: str) -> str:
    """A deterministic STIX id for ``content``: a UUID in version-4 form built from its SHA-256.

    STIX 2.1 asks SDOs and marking definitions for UUIDv4 ids (stix2-validator's strict mode refuses a
    UUIDv5), and gsomia wants the same label to give the same object: the hash's first 16 bytes with the
    version and variant bits set give both.
    """
    digest = hashlib.sha256(f"gsomia:{kind}:{content}".encode()).digest()
    return f"{kind}--{uuid.UUID(bytes=digest[:16], version=4)}"


EXTENSION_ID = stix_id("extension-definition", "confidentiality-label:1.0")
"""The id of gsomia's extension definition, the key under ``extensions`` in every marking."""
IDENTITY_ID = stix_id("identity", "gsomia")
"""The identity that created the extension definition (see :func:`producer_identity`)."""
SCHEMA = "urn:gsomia:stix:extension:confidentiality-label:1.0"
VERSION = "1.0.0"
_DEFINED = "2026-01-01T00:00:00.000Z"  # when the extension was defined: fixed, so the object never changes
FURTHER_SHARING_RULE: dict[str, str] = {
    "sharing_scope": "third-party",
    "rule_effect": "deny",
    "exception": "originator-prior-written-consent",
}
"""The onward-sharing rule every gsomia label carries (with ``consent_of``: the originator)."""
_KEYS = {
    "extension_type",
    "policy",
    "originator",
    "levels",
    "release_restricted",
    "releasable_to",
    "caveats",
    "further_sharing",
}
_LEVEL_KEYS = {"party", "policy", "level", "marking"}


def producer_identity() -> dict[str, Any]:
    """The STIX 2.1 ``identity`` of gsomia, the ``created_by_ref`` of :func:`extension_definition`."""
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": IDENTITY_ID,
        "created": _DEFINED,
        "modified": _DEFINED,
        "name": "gsomia",
        "identity_class": "system",
    }


def extension_definition() -> dict[str, Any]:
    """The STIX 2.1 ``extension-definition`` of gsomia's confidentiality-label property extension."""
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION_ID,
        "created_by_ref": IDENTITY_ID,
        "created": _DEFINED,
        "modified": _DEFINED,
        "name": "gsomia confidentiality label",
        "description": (
            "A national confidentiality label under a security agreement: the originator's policy, level "
            "and marking, the recipients' equivalent levels, who it is releasable to, its caveats, and the "
            "rule that no third party receives it without the originator's prior written consent."
        ),
        "schema": SCHEMA,
        "version": VERSION,
        "extension_types": ["property-extension"],
    }


def _level(party: str, policy: str, classification: Classification) -> dict[str, str]:
    return {
        "party": party,
        "policy": policy,
        "level": classification.level,
        "marking": classification.marking,
    }


def _content(label: Label) -> dict[str, Any]:
    content: dict[str, Any] = {
        "extension_type": "property-extension",
        "policy": label.policy,
        "originator": label.originator,
        "levels": {
            "originator": _level(label.originator, label.policy, label.classification),
            "equivalents": [_level(a.party, a.policy, a.classification) for a in label.alternatives],
        },
        "further_sharing": [{**FURTHER_SHARING_RULE, "consent_of": label.originator}],
    }
    if not label.alternatives:
        del content["levels"]["equivalents"]
    if label.releasable_to is not None:
        content["release_restricted"] = True  # STIX allows no empty list: "nobody" is this flag alone
        if label.releasable_to:
            content["releasable_to"] = list(label.releasable_to)
    if label.caveats:
        content["caveats"] = list(label.caveats)
    return content


def marking_definition(label: Label) -> dict[str, Any]:
    """The label as a STIX 2.1 ``marking-definition`` carrying gsomia's extension; deterministic."""
    if not isinstance(label, Label):
        raise LabelError(f"marking_definition takes a Label, got {type(label).__name__}")
    content = _content(label)
    digest_text = json.dumps(
        [label.created, content], sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": stix_id("marking-definition", digest_text),
        "created": label.created,
        "name": f"{label.classification.marking} ({label.policy})",
        "extensions": {EXTENSION_ID: content},
    }


# -- reading ----------------------------------------------------------------------------------------


def _fail(message: str, where: str) -> LabelError:
    return LabelError(message, where=where)


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(f"expected an object, got {type(value).__name__}", where)
    return value


def _only(value: Mapping[str, Any], keys: set[str], required: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in set(value) - keys)
    if unknown:
        raise _fail(
            f"unknown property {quoted(unknown[0])}; gsomia labels hold only {', '.join(sorted(keys))}", where
        )
    missing = sorted(required - set(value))
    if missing:
        raise _fail(f"missing property {missing[0]}", where)


def _text(
    value: Mapping[str, Any], key: str, where: str, check: Callable[[object, str], str] = id_value
) -> str:
    try:
        return check(value.get(key), key)
    except LabelError as exc:
        raise exc.at(where=f"{where}.{key}") from None


def _ids(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _fail(f"expected a list of ids, got {type(value).__name__}", where)
    out = []
    for index, entry in enumerate(value):
        try:
            out.append(id_value(entry, "an entry"))
        except LabelError as exc:
            raise exc.at(where=f"{where}[{index}]") from None
    return tuple(out)


def _read_level(value: object, where: str) -> tuple[str, str, Classification]:
    entry = _mapping(value, where)
    _only(entry, _LEVEL_KEYS, _LEVEL_KEYS, where)
    level = Classification(_text(entry, "level", where), _text(entry, "marking", where, marking_value))
    return _text(entry, "party", where), _text(entry, "policy", where), level


def _releasable(content: Mapping[str, Any], where: str) -> tuple[str, ...] | None:
    restricted = content.get("release_restricted")
    if restricted is None:
        if "releasable_to" in content:
            raise _fail("releasable_to needs release_restricted: true beside it", f"{where}.releasable_to")
        return None
    if restricted is not True:
        raise _fail("release_restricted must be true (leave it out when release is not restricted)", where)
    listed = content.get("releasable_to")
    if listed is None:
        return ()
    if isinstance(listed, list) and not listed:
        raise _fail(
            "releasable_to must not be empty (leave it out: nobody may receive)", f"{where}.releasable_to"
        )
    return _ids(listed, f"{where}.releasable_to")


def label_from_marking(marking: Mapping[str, Any]) -> Label:
    """The label a :func:`marking_definition` object carries. Anything else is a LabelError naming the
    property that is wrong (``extensions.<id>.levels.originator.marking``...)."""
    top = _mapping(marking, "marking-definition")
    if top.get("type") != "marking-definition":
        raise _fail(f"type must be 'marking-definition', not {quoted(top.get('type'))}", "type")
    if top.get("spec_version") != "2.1":
        raise _fail(f"spec_version must be '2.1', not {quoted(top.get('spec_version'))}", "spec_version")
    ident = top.get("id")
    if not isinstance(ident, str) or not ident.startswith("marking-definition--"):
        raise _fail(f"id {quoted(ident)} is not a marking-definition id", "id")
    extensions = _mapping(top.get("extensions"), "extensions")
    if EXTENSION_ID not in extensions:
        raise _fail(
            f"no gsomia label extension ({EXTENSION_ID}); this marking is not a gsomia label", "extensions"
        )
    where = f"extensions.{EXTENSION_ID}"
    content = _mapping(extensions[EXTENSION_ID], where)
    _only(content, _KEYS, {"extension_type", "policy", "originator", "levels", "further_sharing"}, where)
    if content["extension_type"] != "property-extension":
        raise _fail("extension_type must be 'property-extension'", f"{where}.extension_type")
    policy = _text(content, "policy", where)
    originator = _text(content, "originator", where)
    levels = _mapping(content["levels"], f"{where}.levels")
    _only(levels, {"originator", "equivalents"}, {"originator"}, f"{where}.levels")
    own_party, own_policy, classification = _read_level(levels["originator"], f"{where}.levels.originator")
    if (own_party, own_policy) != (originator, policy):
        raise _fail(
            "the originator's level must name the label's originator and policy", f"{where}.levels.originator"
        )
    equivalents = levels.get("equivalents", [])
    if not isinstance(equivalents, list) or ("equivalents" in levels and not equivalents):
        raise _fail(
            "equivalents must be a non-empty list (leave it out when there are none)",
            f"{where}.levels.equivalents",
        )
    alternatives = []
    for index, entry in enumerate(equivalents):
        party, alt_policy, level = _read_level(entry, f"{where}.levels.equivalents[{index}]")
        alternatives.append(Alternative(party, alt_policy, level))
    rule = [{**FURTHER_SHARING_RULE, "consent_of": originator}]
    if content["further_sharing"] != rule:
        raise _fail(
            f"further_sharing must be {json.dumps(rule, ensure_ascii=False)}: no third party without the "
            "originator's prior written consent",
            f"{where}.further_sharing",
        )
    releasable = _releasable(content, where)
    caveats = content.get("caveats", [])
    if "caveats" in content and not caveats:
        raise _fail("caveats must not be empty (leave it out when there are none)", f"{where}.caveats")
    created = top.get("created")
    try:
        created = timestamp_value(created, "created")
    except LabelError as exc:
        raise exc.at(where="created") from None
    try:
        return Label(
            policy,
            classification,
            originator,
            created,
            releasable,
            _ids(caveats, f"{where}.caveats"),
            tuple(alternatives),
        )
    except LabelError as exc:
        raise exc.at(where=where) from None
