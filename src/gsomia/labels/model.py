"""A confidentiality label as a value: whose policy, which level and marking, who may receive, what caveats.

A :class:`Label` is what travels with a released item: the originator's policy, level and marking (never
changed after it is made), who it may go to, its caveats, when it was made, and the recipients' equivalent
markings as :class:`Alternative` labels beside it. Every text is checked when the label is made, so that
every encoding (STANAG 4774 XML, STIX 2.1) can carry it and read it back unchanged.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from gsomia.domain.ids import id_problem, quoted
from gsomia.domain.model import Item, Party

from .errors import LabelError

MAX_MARKING = 1000
"""The longest marking text a label carries (a world file's limit too)."""
_BIDI = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def xml_char_problem(value: str) -> str | None:
    """What stops ``value`` being carried as XML 1.0 text, or None."""
    for char in value:
        code = ord(char)
        if code in (0xFFFE, 0xFFFF) or 0xD800 <= code <= 0xDFFF:
            return f"holds U+{code:04X}, which XML cannot carry; remove it"
    return None


def id_value(value: object, what: str) -> str:
    """``value`` as an id (a party, policy, level or caveat), or a LabelError saying what is wrong."""
    if not isinstance(value, str):
        raise LabelError(f"{what} must be text, got {type(value).__name__}")
    problem = id_problem(value) or xml_char_problem(value)
    if problem is not None:
        raise LabelError(f"{what} {quoted(value)} {problem}")
    return value


def marking_value(value: object, what: str = "the marking") -> str:
    """``value`` as a marking text: visible, at most :data:`MAX_MARKING` characters, no surrounding spaces."""
    if not isinstance(value, str):
        raise LabelError(f"{what} must be text, got {type(value).__name__}")
    if not value.strip():
        raise LabelError(f"{what} is empty; give the marking text, like 極秘")
    if len(value) > MAX_MARKING:
        raise LabelError(f"{what} is {len(value)} characters long; a marking has at most {MAX_MARKING}")
    if value != value.strip():
        raise LabelError(f"{what} {quoted(value)} starts or ends with whitespace; remove it")
    for char in value:
        if char in _BIDI or unicodedata.category(char) in ("Cc", "Cs"):
            raise LabelError(
                f"{what} {quoted(value)} holds the control character U+{ord(char):04X}, which could hide "
                "or garble what is shown; remove it"
            )
    problem = xml_char_problem(value)
    if problem is not None:
        raise LabelError(f"{what} {quoted(value)} {problem}")
    return value


def timestamp_value(value: object, what: str = "the creation time") -> str:
    """``value`` as a UTC instant written ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (any ISO 8601 offset is converted).

    Millisecond precision is what STIX 2.1 keeps, so a finer time is refused rather than cut.
    """
    if not isinstance(value, str):
        raise LabelError(f"{what} must be text, got {type(value).__name__}")
    advice = "write an ISO 8601 time with its offset, like 2019-08-23T09:30:00Z"
    if not value.isascii() or "T" not in value.upper():
        raise LabelError(f"{what} {quoted(value)} is not a date and time; {advice}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise LabelError(f"{what} {quoted(value)} is not a date and time; {advice}") from None
    if moment.tzinfo is None:
        raise LabelError(f"{what} {quoted(value)} has no UTC offset; {advice}")
    if moment.microsecond % 1000:
        raise LabelError(f"{what} {quoted(value)} is finer than a millisecond; round it to milliseconds")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise LabelError(f"{what} {quoted(value)} is outside the calendar; {advice}") from None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _ids(values: object, what: str) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, tuple | list):
        raise LabelError(f"{what} must be a list of ids, got {type(values).__name__}")
    found = tuple(id_value(v, f"an entry of {what}") for v in values)
    seen: set[str] = set()
    for value in found:
        if value in seen:
            raise LabelError(f"{what} lists {quoted(value)} twice; list each once")
        seen.add(value)
    return found


@dataclass(frozen=True, slots=True)
class Classification:
    """A level of one party's scheme: its id (``KR-II``) and the marking it is shown as (``군사II급비밀``)."""

    level: str
    marking: str

    def __post_init__(self) -> None:
        id_value(self.level, "the level id")
        marking_value(self.marking)


@dataclass(frozen=True, slots=True)
class Alternative:
    """A recipient's equivalent of the originator's classification: its party, its policy and its level.

    It stands beside the originator's classification and never replaces it.
    """

    party: str
    policy: str
    classification: Classification

    def __post_init__(self) -> None:
        id_value(self.party, "the alternative's party")
        id_value(self.policy, "the alternative's policy")
        if not isinstance(self.classification, Classification):
            raise LabelError("an alternative's classification must be a Classification")


@dataclass(frozen=True, slots=True)
class Label:
    """The confidentiality label of one item, as its originator made it, with recipients' equivalents.

    ``releasable_to`` None means the label does not restrict recipients; an empty tuple means nobody but
    the originator. ``created`` is given by the caller (labels never read a clock) and kept normalised to
    ``YYYY-MM-DDTHH:MM:SS.mmmZ``.
    """

    policy: str
    classification: Classification
    originator: str
    created: str
    releasable_to: tuple[str, ...] | None = None
    caveats: tuple[str, ...] = ()
    alternatives: tuple[Alternative, ...] = ()

    def __post_init__(self) -> None:
        id_value(self.policy, "the policy identifier")
        id_value(self.originator, "the originator")
        if not isinstance(self.classification, Classification):
            raise LabelError("a label's classification must be a Classification")
        object.__setattr__(self, "created", timestamp_value(self.created))
        if self.releasable_to is not None:
            object.__setattr__(self, "releasable_to", _ids(self.releasable_to, "releasable_to"))
        object.__setattr__(self, "caveats", _ids(self.caveats, "caveats"))
        if isinstance(self.alternatives, str) or not isinstance(self.alternatives, tuple | list):
            raise LabelError("alternatives must be a list of Alternative labels")
        object.__setattr__(self, "alternatives", tuple(self.alternatives))
        parties: set[str] = set()
        for alternative in self.alternatives:
            if not isinstance(alternative, Alternative):
                raise LabelError("alternatives must be a list of Alternative labels")
            if alternative.party == self.originator:
                raise LabelError(
                    f"an alternative label for the originator {quoted(self.originator)} would overwrite "
                    "its own classification; alternatives are for recipients"
                )
            if alternative.party in parties:
                raise LabelError(
                    f"two alternative labels for {quoted(alternative.party)}; give one per party"
                )
            parties.add(alternative.party)

    def alternative_for(self, party: str) -> Alternative | None:
        """The alternative label of ``party``, or None."""
        return next((a for a in self.alternatives if a.party == party), None)

    def with_alternative(self, alternative: Alternative) -> Label:
        """This label with ``alternative`` added; the same one again changes nothing, a different one for a
        party that already has one is refused (an equivalent is stated once, never overwritten)."""
        existing = self.alternative_for(alternative.party)
        if existing == alternative:
            return self
        if existing is not None:
            raise LabelError(
                f"the label already gives {quoted(alternative.party)} the equivalent "
                f"{quoted(existing.classification.level)}; an equivalent is never overwritten"
            )
        return replace(self, alternatives=(*self.alternatives, alternative))


def label_for_item(item: Item, party: Party, created: str, *, policy: str | None = None) -> Label:
    """The originator's label of ``item``: ``party`` must be its originator and hold its level.

    ``policy`` defaults to the party id (one national policy per party).
    """
    if party.id != item.originator:
        raise LabelError(f"item {quoted(item.id)} is {quoted(item.originator)}'s, not {quoted(party.id)}'s")
    level = next((lv for lv in party.levels if lv.id == item.level), None)
    if level is None:
        raise LabelError(
            f"party {quoted(party.id)} has no level {quoted(item.level)} (item {quoted(item.id)})"
        )
    return Label(
        policy=party.id if policy is None else policy,
        classification=Classification(level.id, level.marking),
        originator=party.id,
        created=created,
        releasable_to=item.releasable_to,
        caveats=item.caveats,
    )
