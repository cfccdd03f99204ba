"""STANAG 4774 labels and the 4778-style binding: round-trips, refusals with element and line, hostile XML."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gsomia.domain.errors import GsomiaError
from gsomia.domain.model import Item, Level, Party
from gsomia.labels import (
    Alternative,
    Classification,
    Label,
    LabelError,
    bind,
    from_xml,
    label_for_item,
    payload_digest,
    signed_bytes,
    to_xml,
    verify_binding,
)
from gsomia.labels.stanag import MAX_LABEL_BYTES, NS

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies -------------------------------------------------------------------------------------

# Visible characters of every script (letters, marks, numbers, punctuation, symbols) plus inner spaces:
# what a national marking may hold. Controls, format characters and surrogates are refused by design.
_VISIBLE = st.characters(categories=("L", "M", "N", "P", "S"), exclude_characters="\ufffe\uffff")
_INNER = st.one_of(_VISIBLE, st.sampled_from(" \u3000"))


def _text(max_size: int = 24) -> st.SearchStrategy[str]:
    return st.text(_INNER, min_size=1, max_size=max_size).map(lambda t: t.strip(" \u3000")).filter(bool)


ids = _text(12)
markings = st.one_of(st.sampled_from(["極秘", "秘", "軍事II級秘密", "군사II급비밀", "SECRET"]), _text(40))
times = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000).isoformat() + "Z"
)


@st.composite
def labels(draw: st.DrawFn) -> Label:
    """Any valid label: unicode ids and markings, optional releasability, caveats and alternatives."""
    originator = draw(ids)
    others = draw(st.lists(ids.filter(lambda p: p != originator), unique=True, max_size=3))
    alternatives = tuple(
        Alternative(party, draw(ids), Classification(draw(ids), draw(markings))) for party in others
    )
    return Label(
        policy=draw(ids),
        classification=Classification(draw(ids), draw(markings)),
        originator=originator,
        created=draw(times),
        releasable_to=draw(st.none() | st.lists(ids, unique=True, max_size=4).map(tuple)),
        caveats=tuple(draw(st.lists(ids, unique=True, max_size=3))),
        alternatives=alternatives,
    )


def _kor_label(**changes: object) -> Label:
    fields: dict[str, object] = {
        "policy": "KOR",
        "classification": Classification("KR-II", "군사II급비밀"),
        "originator": "KOR",
        "created": "2019-08-23T09:30:00+09:00",
        "releasable_to": ("KOR", "JPN"),
        "caveats": ("ORCON",),
        "alternatives": (Alternative("JPN", "JPN", Classification("JP-GOKUHI", "極秘")),),
    }
    fields.update(changes)
    return Label(**fields)  # type: ignore[arg-type]


KEY = b"test-key-not-secret"


def _sign(message: bytes) -> bytes:
    return hmac.new(KEY, message, hashlib.sha256).digest()


def _verify(key_id: str, message: bytes, signature: bytes) -> bool:
    return key_id == "kor-1" and hmac.compare_digest(_sign(message), signature)


# -- the label value --------------------------------------------------------------------------------


def test_created_is_normalised_to_utc_milliseconds():
    assert _kor_label().created == "2019-08-23T00:30:00.000Z"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"created": "2019-08-23"}, "not a date and time"),
        ({"created": "2019-08-23T00:00:00"}, "no UTC offset"),
        ({"created": "2019-08-23T00:00:00.0001Z"}, "finer than a millisecond"),
        ({"policy": " KOR"}, "whitespace"),
        ({"classification": Classification("KR-II", "秘")}, None),
        ({"caveats": ("NOFORN", "NOFORN")}, "twice"),
        ({"releasable_to": "JPN"}, "list of ids"),
        ({"alternatives": (Alternative("KOR", "KOR", Classification("KR-I", "I")),)}, "overwrite"),
    ],
)
def test_bad_label_values_are_refused_with_the_reason(change, needle):
    if needle is None:
        assert _kor_label(**change).classification.marking == "秘"
        return
    with pytest.raises(LabelError, match=needle):
        _kor_label(**change)


@pytest.mark.parametrize("marking", ["", "  ", "a\u202eb", "a\x00b", "x\ufffe", " 秘", "a" * 1001])
def test_markings_that_would_hide_or_garble_text_are_refused(marking):
    with pytest.raises(LabelError):
        Classification("L", marking)


def test_an_alternative_is_added_once_and_never_overwritten():
    label = _kor_label(alternatives=())
    jpn = Alternative("JPN", "JPN", Classification("JP-GOKUHI", "極秘"))
    once = label.with_alternative(jpn)
    assert once.with_alternative(jpn) is once
    assert once.alternative_for("JPN") == jpn
    assert once.classification == label.classification
    with pytest.raises(LabelError, match="never overwritten"):
        once.with_alternative(Alternative("JPN", "JPN", Classification("JP-HI", "秘")))


def test_label_for_item_takes_the_level_marking_from_the_party():
    kor = Party(
        "KOR", "Korea", (Level("KR-III", "KOR", "군사III급비밀", 0), Level("KR-II", "KOR", "군사II급비밀", 1))
    )
    item = Item("K-1", "KOR", "KR-II", ("dprk-missile",), ("JPN",), ("NOFORN",))
    label = label_for_item(item, kor, "2019-08-23T00:00:00Z")
    assert (label.classification, label.releasable_to, label.caveats) == (
        Classification("KR-II", "군사II급비밀"),
        ("JPN",),
        ("NOFORN",),
    )
    with pytest.raises(LabelError, match="no level"):
        label_for_item(Item("K-2", "KOR", "KR-I"), kor, "2019-08-23T00:00:00Z")


# -- STANAG 4774 XML --------------------------------------------------------------------------------


@SETTINGS
@given(labels())
def test_any_label_round_trips_through_4774_xml(label):
    document = to_xml(label)
    assert from_xml(document) == label
    assert to_xml(from_xml(document)) == document


def test_the_document_is_4774_shaped():
    text = to_xml(_kor_label()).decode("utf-8")
    assert f'xmlns:slab="{NS}"' in text
    assert "<slab:Classification>군사II급비밀</slab:Classification>" in text
    assert re.search(r'TagName="releasable-to" Type="PERMISSIVE"', text)
    assert re.search(r'TagName="caveats" Type="RESTRICTIVE"', text)
    assert "<slab:CreationDateTime>2019-08-23T00:30:00.000Z</slab:CreationDateTime>" in text
    assert text.count("<slab:AlternativeConfidentialityInformation>") == 1


def test_no_releasability_and_releasable_to_nobody_differ():
    unrestricted = from_xml(to_xml(_kor_label(releasable_to=None)))
    nobody = from_xml(to_xml(_kor_label(releasable_to=())))
    assert unrestricted.releasable_to is None
    assert nobody.releasable_to == ()


def test_a_label_written_by_hand_with_a_default_namespace_and_no_prefix_reads():
    document = f"""<ConfidentialityLabel xmlns="{NS}">
      <ConfidentialityInformation>
        <PolicyIdentifier> JPN </PolicyIdentifier>
        <Classification>極秘</Classification>
        <Category Type="INFORMATIVE" TagName="level"><GenericValue>JP-GOKUHI</GenericValue></Category>
      </ConfidentialityInformation>
      <CreationDateTime>2020-01-01T00:00:00Z</CreationDateTime>
      <OriginatorID>JPN</OriginatorID>
    </ConfidentialityLabel>"""
    label = from_xml(document)
    assert (label.policy, label.classification.marking, label.releasable_to) == ("JPN", "極秘", None)


def _edit(old: str, new: str) -> bytes:
    text = to_xml(_kor_label()).decode("utf-8")
    assert old in text
    return text.replace(old, new, 1).encode("utf-8")


@pytest.mark.parametrize(
    ("document", "where", "line"),
    [
        (_edit("<slab:OriginatorID", "<slab:Bogus/><slab:OriginatorID"), "ConfidentialityLabel/Bogus", 17),
        (
            _edit('<slab:OriginatorID IDType="party">KOR</slab:OriginatorID>', ""),
            "ConfidentialityLabel/OriginatorID",
            2,
        ),
        (_edit("<slab:Classification>군사II급비밀</slab:Classification>", ""), "Classification", 3),
        (_edit("2019-08-23T00:30:00.000Z", "someday"), "ConfidentialityLabel/CreationDateTime", 18),
        (_edit('Type="PERMISSIVE"', 'Type="RESTRICTIVE"'), "Category", 9),
        (
            _edit("<slab:GenericValue>JPN</slab:GenericValue>", "<slab:GenericValue></slab:GenericValue>"),
            "GenericValue",
            11,
        ),
        (
            _edit(
                "<slab:PolicyIdentifier>KOR",
                "<slab:PolicyIdentifier>KOR</slab:PolicyIdentifier><slab:PolicyIdentifier>KOR",
            ),
            "PolicyIdentifier",
            4,
        ),
        (_edit('TagName="party"', 'TagName="releasable-to"'), "Category", 25),
    ],
)
def test_a_malformed_label_names_the_element_and_its_line(document, where, line):
    with pytest.raises(LabelError) as caught:
        from_xml(document, "label.xml")
    assert where in caught.value.where
    assert caught.value.line == line
    assert str(caught.value).startswith(f"label.xml:{line}: ")


def test_the_wrong_namespace_is_refused_naming_it():
    document = to_xml(_kor_label()).replace(NS.encode(), b"urn:example:not-4774")
    with pytest.raises(LabelError, match="namespace urn:nato:stanag:4774"):
        from_xml(document)


# -- hostile XML ------------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<ConfidentialityLabel>&lol9;</ConfidentialityLabel>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ConfidentialityLabel>&xxe;</ConfidentialityLabel>"""
PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]><x/>"""
DOCTYPE_ONLY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE ConfidentialityLabel SYSTEM "label.dtd">\n<ConfidentialityLabel/>'
)


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        (BILLION_LAUGHS, "DOCTYPE"),
        (EXTERNAL, "DOCTYPE"),
        (PARAMETER, "DOCTYPE"),
        (DOCTYPE_ONLY, "DOCTYPE"),
        (b"<ConfidentialityLabel>&lol;</ConfidentialityLabel>", "not well-formed"),
        (to_xml(_kor_label())[:-40], "not well-formed"),
        (b"", "empty"),
        (b"\xff\xfe\x00garbage", "not well-formed"),
        (b"<a/><b/>", "not well-formed"),
    ],
)
def test_hostile_or_broken_xml_is_refused_and_never_expanded(document, needle):
    with pytest.raises(LabelError, match=needle) as caught:
        from_xml(document)
    assert "lollol" not in str(caught.value)
    assert "root:" not in str(caught.value)


def test_a_truncated_label_names_the_line():
    document = to_xml(_kor_label())
    cut = document[: document.index(b"<slab:CreationDateTime>")]
    with pytest.raises(LabelError) as caught:
        from_xml(cut)
    assert caught.value.line is not None
    assert caught.value.line >= 17


def test_fifty_megabytes_are_refused_unread():
    huge = b"<ConfidentialityLabel>" + b"A" * (50 * 1024 * 1024) + b"</ConfidentialityLabel>"
    with pytest.raises(LabelError, match=f"at most {MAX_LABEL_BYTES}"):
        from_xml(huge)
    with pytest.raises(LabelError, match="at most"):
        from_xml(huge.decode("ascii"))


@pytest.mark.parametrize("value", [None, 42, ["<x/>"], {"a": 1}])
def test_wrong_types_are_a_label_error(value):
    with pytest.raises(GsomiaError):
        from_xml(value)


# -- the binding ------------------------------------------------------------------------------------

PAYLOAD = b"radar tracks"


def _binding() -> bytes:
    return bind(to_xml(_kor_label()), payload_digest(PAYLOAD), _sign, "kor-1")


def test_a_binding_verifies_and_gives_the_label_back():
    assert verify_binding(_binding(), payload_digest(PAYLOAD), _verify) == _kor_label()


def test_the_signature_covers_the_label_digest_and_key():
    seen: list[bytes] = []
    bind(to_xml(_kor_label()), payload_digest(PAYLOAD), lambda m: seen.append(m) or b"s", "kor-1")
    assert seen == [signed_bytes(_kor_label(), payload_digest(PAYLOAD), "kor-1")]
    assert payload_digest(PAYLOAD).encode() in seen[0]
    assert to_xml(_kor_label()) in seen[0]


def test_a_binding_for_other_data_is_refused():
    with pytest.raises(LabelError, match="does not label this data"):
        verify_binding(_binding(), payload_digest(b"other data"), _verify)


def test_an_edited_label_in_the_binding_is_refused():
    edited = _binding().replace("極秘".encode(), "秘".encode())
    with pytest.raises(LabelError, match="does not verify"):
        verify_binding(edited, payload_digest(PAYLOAD), _verify)


def test_an_edited_digest_or_key_id_is_refused():
    binding = _binding()
    other = payload_digest(b"other data")
    swapped = binding.replace(payload_digest(PAYLOAD).encode(), other.encode())
    with pytest.raises(LabelError, match="does not verify"):
        verify_binding(swapped, other, _verify)
    with pytest.raises(LabelError, match="does not verify"):
        verify_binding(binding.replace(b'KeyId="kor-1"', b'KeyId="kor-2"'), payload_digest(PAYLOAD), _verify)


def test_a_bad_signature_is_refused():
    forged = bind(to_xml(_kor_label()), payload_digest(PAYLOAD), lambda m: b"\x00" * 32, "kor-1")
    with pytest.raises(LabelError, match="does not verify"):
        verify_binding(forged, payload_digest(PAYLOAD), _verify)


def test_a_verifier_returning_a_truthy_non_bool_does_not_pass():
    with pytest.raises(LabelError, match="does not verify"):
        verify_binding(_binding(), payload_digest(PAYLOAD), lambda k, m, s: "yes")  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        (b"<mb:SignatureValue>", b"<mb:SignatureValue>!!", "not base64"),
        (b'DigestMethod="sha256"', b'DigestMethod="md5"', "sha256"),
        (b"<mb:Metadata>", b"<mb:Metadata><mb:Extra/>", "exactly one"),
        (b"</mb:MetadataBinding>", b"<mb:Extra/></mb:MetadataBinding>", "unexpected element Extra"),
    ],
)
def test_a_malformed_binding_names_what_is_wrong(old, new, needle):
    with pytest.raises(LabelError, match=needle):
        verify_binding(_binding().replace(old, new, 1), payload_digest(PAYLOAD), _verify)


def test_bind_refuses_a_bad_digest_and_hostile_label():
    with pytest.raises(LabelError, match="SHA-256"):
        bind(to_xml(_kor_label()), "abc", _sign, "kor-1")
    with pytest.raises(LabelError, match="DOCTYPE"):
        bind(BILLION_LAUGHS, payload_digest(PAYLOAD), _sign, "kor-1")


def test_a_hostile_binding_is_refused():
    with pytest.raises(LabelError, match="DOCTYPE"):
        verify_binding(BILLION_LAUGHS, payload_digest(PAYLOAD), _verify)
