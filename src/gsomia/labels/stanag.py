"""STANAG 4774 confidentiality labels as XML, and a STANAG 4778-style signed binding of a label to data.

The label document (namespace :data:`NS`)::

    <slab:ConfidentialityLabel xmlns:slab="urn:nato:stanag:4774:confidentialitymetadatalabel:1:0">
      <slab:ConfidentialityInformation>
        <slab:PolicyIdentifier>KOR</slab:PolicyIdentifier>
        <slab:Classification>군사II급비밀</slab:Classification>
        <slab:Category TagName="level" Type="INFORMATIVE"><slab:GenericValue>KR-II</slab:GenericValue>...
        <slab:Category TagName="releasable-to" Type="PERMISSIVE">one GenericValue per party</slab:Category>
        <slab:Category TagName="caveats" Type="RESTRICTIVE">one GenericValue per caveat</slab:Category>
      </slab:ConfidentialityInformation>
      <slab:OriginatorID IDType="party">KOR</slab:OriginatorID>
      <slab:CreationDateTime>2019-08-23T00:00:00.000Z</slab:CreationDateTime>
      <slab:AlternativeConfidentialityInformation>  (one per recipient equivalent: policy, marking,
        the level and the party as INFORMATIVE categories) </slab:AlternativeConfidentialityInformation>
    </slab:ConfidentialityLabel>

:func:`to_xml` writes exactly this shape (the same label always gives the same bytes), :func:`from_xml`
reads it back and refuses anything else, naming the element and its line. The binding (:func:`bind`,
:func:`verify_binding`) ties a label to a payload's SHA-256 digest with a signature made by a callable the
caller passes in (this package holds no keys and does no cryptography of its own).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Iterator
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from gsomia.domain.ids import quoted

from .errors import LabelError
from .model import Alternative, Classification, Label, id_value, marking_value, timestamp_value
from .xmlread import Doc, local, read_xml, text_of

NS = "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"
"""The STANAG 4774 confidentiality metadata label namespace."""
BINDING_NS = "urn:nato:stanag:4778:bindinginformation:1:0"
"""The namespace of the binding container (after STANAG 4778)."""
BINDING_METHOD = "urn:gsomia:binding:detached-signature:1"
"""What the signature in a binding covers: see :func:`signed_bytes`."""
MAX_LABEL_BYTES = 1 << 20
"""The largest label document read (a label is a few hundred bytes; 1 MiB leaves room for many parties)."""
MAX_BINDING_BYTES = 2 << 20
"""The largest binding document read."""

ROOTS = ("ConfidentialityLabel", "originatorConfidentialityLabel")
_INFO = "ConfidentialityInformation"
_ALT = "AlternativeConfidentialityInformation"
_LEVEL, _PARTY, _REL, _CAVEATS = "level", "party", "releasable-to", "caveats"
_TYPES = {_LEVEL: "INFORMATIVE", _PARTY: "INFORMATIVE", _REL: "PERMISSIVE", _CAVEATS: "RESTRICTIVE"}
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


# -- writing ----------------------------------------------------------------------------------------


def _el(indent: int, name: str, text: str, attrs: str = "") -> str:
    return f"{'  ' * indent}<slab:{name}{attrs}>{escape(text)}</slab:{name}>"


def _category(indent: int, tag: str, values: tuple[str, ...]) -> Iterator[str]:
    attrs = f" TagName={quoteattr(tag)} Type={quoteattr(_TYPES[tag])}"
    if not values:
        yield f"{'  ' * indent}<slab:Category{attrs}/>"
        return
    yield f"{'  ' * indent}<slab:Category{attrs}>"
    for value in values:
        yield _el(indent + 1, "GenericValue", value)
    yield f"{'  ' * indent}</slab:Category>"


def _information(
    indent: int, name: str, policy: str, level: Classification, extra: list[tuple[str, tuple[str, ...]]]
) -> Iterator[str]:
    yield f"{'  ' * indent}<slab:{name}>"
    yield _el(indent + 1, "PolicyIdentifier", policy)
    yield _el(indent + 1, "Classification", level.marking)
    yield from _category(indent + 1, _LEVEL, (level.level,))
    for tag, values in extra:
        yield from _category(indent + 1, tag, values)
    yield f"{'  ' * indent}</slab:{name}>"


def _label_lines(label: Label, indent: int, declare: bool) -> Iterator[str]:
    xmlns = f" xmlns:slab={quoteattr(NS)}" if declare else ""
    yield f"{'  ' * indent}<slab:ConfidentialityLabel{xmlns}>"
    extra: list[tuple[str, tuple[str, ...]]] = []
    if label.releasable_to is not None:
        extra.append((_REL, label.releasable_to))
    if label.caveats:
        extra.append((_CAVEATS, label.caveats))
    yield from _information(indent + 1, _INFO, label.policy, label.classification, extra)
    yield _el(indent + 1, "OriginatorID", label.originator, ' IDType="party"')
    yield _el(indent + 1, "CreationDateTime", label.created)
    for alt in label.alternatives:
        yield from _information(indent + 1, _ALT, alt.policy, alt.classification, [(_PARTY, (alt.party,))])
    yield f"{'  ' * indent}</slab:ConfidentialityLabel>"


def to_xml(label: Label) -> bytes:
    """The label as a STANAG 4774 XML document (UTF-8). The same label always gives the same bytes."""
    if not isinstance(label, Label):
        raise LabelError(f"to_xml takes a Label, got {type(label).__name__}")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', *_label_lines(label, 0, True)]
    return ("\n".join(lines) + "\n").encode("utf-8")


# -- reading ----------------------------------------------------------------------------------------


class _Reader:
    """Reads the 4774 elements of one document, naming the element and its line on any problem."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc

    def fail(self, message: str, element: Element, where: str) -> LabelError:
        return self.doc.error(message, element, where)

    def value(self, element: Element, where: str, check: Callable[[object, str], str], what: str) -> str:
        """The text of ``element`` as ``check`` accepts it; its complaint is placed at ``element``."""
        return self.placed(lambda: check(text_of(element), what), element, where)

    def placed(self, read: Callable[[], str], element: Element, where: str) -> str:
        try:
            return read()
        except LabelError as exc:
            raise exc.at(where=where, line=self.doc.line(element), source=self.doc.source) from None

    def children(self, parent: Element, where: str, allowed: tuple[str, ...]) -> list[tuple[str, Element]]:
        found = []
        for child in parent:
            namespace, name = local(child.tag)
            if namespace != NS or name not in allowed:
                shown = name if namespace == NS else f"{{{namespace}}}{name}" if namespace else name
                expected = ", ".join(allowed) or "nothing"
                raise self.fail(
                    f"unexpected element {shown}; here a label holds only {expected} in namespace {NS}",
                    child,
                    f"{where}/{name}",
                )
            found.append((name, child))
        return found

    def one(self, found: list[tuple[str, Element]], name: str, parent: Element, where: str) -> Element:
        matches = [e for n, e in found if n == name]
        if not matches:
            raise self.fail(f"missing element {name}", parent, f"{where}/{name}")
        if len(matches) > 1:
            raise self.fail(
                f"element {name} appears {len(matches)} times; give it once", matches[1], f"{where}/{name}"
            )
        return matches[0]

    def attrs(self, element: Element, where: str, allowed: tuple[str, ...]) -> None:
        extra = sorted(set(element.attrib) - set(allowed))
        if extra:
            raise self.fail(f"unexpected attribute {extra[0]}", element, where)

    def information(
        self, info: Element, where: str, alternative: bool
    ) -> tuple[str, Classification, dict[str, tuple[str, ...]]]:
        self.attrs(info, where, ())
        found = self.children(info, where, ("PolicyIdentifier", "Classification", "Category"))
        policy_el = self.one(found, "PolicyIdentifier", info, where)
        self.attrs(policy_el, f"{where}/PolicyIdentifier", ("URI",))
        policy = self.value(policy_el, f"{where}/PolicyIdentifier", id_value, "the policy identifier")
        class_el = self.one(found, "Classification", info, where)
        self.attrs(class_el, f"{where}/Classification", ())
        marking = self.value(class_el, f"{where}/Classification", marking_value, "the marking")
        categories = self.categories([e for n, e in found if n == "Category"], where, alternative)
        if _LEVEL not in categories:
            raise self.fail(
                f'missing the Category TagName="{_LEVEL}" that names the level id', info, f"{where}/Category"
            )
        level_el, levels = categories.pop(_LEVEL)
        if len(levels) != 1:
            raise self.fail(
                "the level Category must hold exactly one GenericValue", level_el, f"{where}/Category"
            )
        level = Classification(levels[0], marking)
        return policy, level, {tag: values for tag, (_element, values) in categories.items()}

    def categories(
        self, elements: list[Element], where: str, alternative: bool
    ) -> dict[str, tuple[Element, tuple[str, ...]]]:
        allowed = (_LEVEL, _PARTY) if alternative else (_LEVEL, _REL, _CAVEATS)
        out: dict[str, tuple[Element, tuple[str, ...]]] = {}
        for element in elements:
            here = f"{where}/Category"
            self.attrs(element, here, ("TagName", "Type", "URI"))
            tag = element.get("TagName", "")
            if tag not in allowed:
                raise self.fail(
                    f"Category TagName {quoted(tag)} is not one gsomia reads; "
                    f"expected one of {', '.join(allowed)}",
                    element,
                    here,
                )
            if element.get("Type") != _TYPES[tag]:
                raise self.fail(
                    f'Category "{tag}" must have Type="{_TYPES[tag]}", not {quoted(element.get("Type"))}',
                    element,
                    here,
                )
            if tag in out:
                raise self.fail(f'Category "{tag}" appears twice; give it once', element, here)
            values = []
            for name, value_el in self.children(element, here, ("GenericValue",)):
                what = f"a value of the {tag} category"
                values.append(self.value(value_el, f"{here}/{name}", id_value, what))
            out[tag] = (element, tuple(values))
        return out

    def label(self, root: Element) -> Label:
        namespace, name = local(root.tag)
        if namespace != NS or name not in ROOTS:
            shown = f"{{{namespace}}}{name}" if namespace else name
            raise self.fail(f"expected a {ROOTS[0]} element in namespace {NS}, found {shown}", root, name)
        where = name
        found = self.children(root, where, (_INFO, "OriginatorID", "CreationDateTime", _ALT))
        info = self.one(found, _INFO, root, where)
        policy, level, categories = self.information(info, f"{where}/{_INFO}", False)
        origin_el = self.one(found, "OriginatorID", root, where)
        self.attrs(origin_el, f"{where}/OriginatorID", ("IDType",))
        originator = self.value(origin_el, f"{where}/OriginatorID", id_value, "the originator")
        created_el = self.one(found, "CreationDateTime", root, where)
        created = self.value(created_el, f"{where}/CreationDateTime", timestamp_value, "the creation time")
        alternatives = []
        for n, alt_el in found:
            if n == _ALT:
                alt_policy, alt_level, alt_cats = self.information(alt_el, f"{where}/{_ALT}", True)
                party = alt_cats.get(_PARTY)
                if party is None or len(party) != 1:
                    raise self.fail(
                        f'an alternative needs one Category TagName="{_PARTY}" value naming its party',
                        alt_el,
                        f"{where}/{_ALT}",
                    )
                alternatives.append(Alternative(party[0], alt_policy, alt_level))
        try:
            return Label(
                policy,
                level,
                originator,
                created,
                categories.get(_REL),
                categories.get(_CAVEATS, ()),
                tuple(alternatives),
            )
        except LabelError as exc:
            raise exc.at(where=where, line=self.doc.line(root), source=self.doc.source) from None


def from_xml(data: bytes | str, source: str = "") -> Label:
    """Read a label written by :func:`to_xml` (or any document of that shape); ``source`` names it in errors.

    Anything else (a DOCTYPE or entity, bad XML, a wrong namespace, a missing, repeated or unknown element)
    is a LabelError naming the element and its line.
    """
    doc = read_xml(data, "the label", MAX_LABEL_BYTES, source)
    return _Reader(doc).label(doc.root)


# -- the binding (after STANAG 4778) ----------------------------------------------------------------


def payload_digest(payload: bytes) -> str:
    """The SHA-256 digest of ``payload`` as 64 lowercase hex digits, as :func:`bind` takes it."""
    return hashlib.sha256(payload).hexdigest()


def _digest(value: object) -> str:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise LabelError(
            f"the payload digest {quoted(value)} is not a SHA-256 digest; give 64 hex digits "
            "(see payload_digest)"
        )
    return value.lower()


def signed_bytes(label: Label, digest: str, key_id: str) -> bytes:
    """What a binding's signature covers: a fixed header naming the method, the key id and the payload
    digest, then the label's canonical document (:func:`to_xml`). Changing any of them breaks it."""
    head = f"{BINDING_METHOD}\nkey-id:{key_id}\ndata:sha256:{_digest(digest)}\n"
    return head.encode("utf-8") + to_xml(label)


def bind(label_xml: bytes, payload_digest: str, sign: Callable[[bytes], bytes], key_id: str) -> bytes:
    """A binding document tying the label ``label_xml`` to the payload whose SHA-256 is ``payload_digest``.

    The label is read (and so checked) first and carried in its canonical form; ``sign`` gets
    :func:`signed_bytes` and returns the signature, which the document carries in base64 with ``key_id``.
    """
    label = from_xml(label_xml)
    digest = _digest(payload_digest)
    key = id_value(key_id, "the key id")
    signature = sign(signed_bytes(label, digest, key))
    if not isinstance(signature, bytes) or not signature:
        raise LabelError("the signing callable must return the signature as non-empty bytes")
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<mb:MetadataBindingContainer xmlns:mb={quoteattr(BINDING_NS)} xmlns:slab={quoteattr(NS)}>",
        "  <mb:MetadataBinding>",
        "    <mb:Metadata>",
        *_label_lines(label, 3, False),
        "    </mb:Metadata>",
        f'    <mb:DataReference DigestMethod="sha256" DigestValue="{digest}"/>',
        f"    <mb:BindingInformation Method={quoteattr(BINDING_METHOD)} KeyId={quoteattr(key)}>",
        f"      <mb:SignatureValue>{base64.b64encode(signature).decode('ascii')}</mb:SignatureValue>",
        "    </mb:BindingInformation>",
        "  </mb:MetadataBinding>",
        "</mb:MetadataBindingContainer>",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


class _BindingReader(_Reader):
    def only(self, parent: Element, where: str, names: tuple[str, ...]) -> dict[str, Element]:
        found: dict[str, Element] = {}
        for child in parent:
            namespace, name = local(child.tag)
            if namespace != BINDING_NS or name not in names or name in found:
                problem = "repeated" if name in found else "unexpected"
                raise self.fail(
                    f"{problem} element {name}; expected {', '.join(names)} in namespace {BINDING_NS}",
                    child,
                    f"{where}/{name}",
                )
            found[name] = child
        for name in names:
            if name not in found:
                raise self.fail(f"missing element {name}", parent, f"{where}/{name}")
        return found

    def binding(self) -> tuple[Label, str, str, bytes]:
        root = self.doc.root
        if local(root.tag) != (BINDING_NS, "MetadataBindingContainer"):
            raise self.fail(
                f"expected a MetadataBindingContainer element in namespace {BINDING_NS}",
                root,
                local(root.tag)[1],
            )
        where = "MetadataBindingContainer"
        binding = self.only(root, where, ("MetadataBinding",))["MetadataBinding"]
        where += "/MetadataBinding"
        parts = self.only(binding, where, ("Metadata", "DataReference", "BindingInformation"))
        labels = list(parts["Metadata"])
        if len(labels) != 1:
            raise self.fail(
                "Metadata must hold exactly one confidentiality label", parts["Metadata"], f"{where}/Metadata"
            )
        label = self.label(labels[0])
        ref = parts["DataReference"]
        if ref.get("DigestMethod") != "sha256":
            raise self.fail('DataReference must have DigestMethod="sha256"', ref, f"{where}/DataReference")
        digest = self.placed(lambda: _digest(ref.get("DigestValue", "")), ref, f"{where}/DataReference")
        info = parts["BindingInformation"]
        here = f"{where}/BindingInformation"
        if info.get("Method") != BINDING_METHOD:
            raise self.fail(f"BindingInformation Method must be {BINDING_METHOD}", info, here)
        key_id = self.placed(lambda: id_value(info.get("KeyId", ""), "the key id"), info, here)
        value_el = self.only(info, here, ("SignatureValue",))["SignatureValue"]
        try:
            signature = base64.b64decode(text_of(value_el), validate=True)
        except (binascii.Error, ValueError):
            raise self.fail("SignatureValue is not base64", value_el, f"{here}/SignatureValue") from None
        if not signature:
            raise self.fail("SignatureValue is empty", value_el, f"{here}/SignatureValue")
        return label, digest, key_id, signature


def verify_binding(binding: bytes, payload_digest: str, verify: Callable[[str, bytes, bytes], bool]) -> Label:
    """The label of ``binding`` once it is shown to bind that label to the payload with ``payload_digest``.

    ``verify(key_id, signed, signature)`` must return True for a good signature by the key ``key_id``.
    A wrong digest, a signature that does not verify, or a label edited after signing is a LabelError.
    """
    doc = read_xml(binding, "the binding", MAX_BINDING_BYTES)
    label, digest, key_id, signature = _BindingReader(doc).binding()
    expected = _digest(payload_digest)
    if not hmac.compare_digest(digest, expected):
        raise LabelError(
            f"the binding is for the payload with digest {digest}, not {expected}; "
            "it does not label this data",
            where="MetadataBinding/DataReference",
        )
    if verify(key_id, signed_bytes(label, digest, key_id), signature) is not True:
        raise LabelError(
            f"the binding's signature does not verify with key {quoted(key_id)}: the label, the digest or "
            "the signature was changed after signing, or the key is not the signer's",
            where="MetadataBinding/BindingInformation",
        )
    return label
