"""The REST API's bodies, in and out, as Pydantic models: what /api/v1/openapi.json describes.

Bodies in forbid unknown keys and bound every string and list, so a mistake is a 422 naming the field
before any use case runs. Shapes the domain already validates (an agreement, an equivalence table) are
typed loosely here and checked by the node exactly as a world file is, with errors naming the key.
Bodies out mirror the services' ``to_dict()`` JSON (the decision JSON of docs/cli.md, and so on).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from gsomia.domain.days import FIRST_DAY, LAST_DAY, day_problem

T = TypeVar("T")


def _day(text: str) -> str:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text[:20]!r} is not a calendar day; write YYYY-MM-DD, like 2019-11-22") from None
    problem = day_problem(day)
    if problem is not None:
        raise ValueError(problem)
    return text


Day = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        description=f"A day, YYYY-MM-DD, from {FIRST_DAY} to {LAST_DAY}.",
        json_schema_extra={"format": "date"},
    ),
    AfterValidator(_day),
]
Id = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=2000)]
Ids = Annotated[list[Id], Field(max_length=1000)]
Row = dict[Id, Id | Ids]  # an equivalence row: party -> level, or levels (the first is the marking)
Table = Annotated[list[Row], Field(max_length=1000)]
Scope = Ids | Literal["any"]


class In(BaseModel):
    """A request body: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Out(BaseModel):
    """A response body."""

    model_config = ConfigDict(populate_by_name=True)


class Page(Out, Generic[T]):
    """One page of a list, in a fixed order; ``next`` (if not null) fetches the following page."""

    items: list[T]
    next: str | None = Field(description="Pass as ?after= for the next page; null on the last page.")


# -- problems -------------------------------------------------------------------------------------------


class FieldProblem(Out):
    field: str = Field(description="Where: body.queries.3.item, query.at, ...")
    message: str


class Problem(Out):
    """An RFC 9457 problem document (application/problem+json)."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None


# -- the world ------------------------------------------------------------------------------------------


class Level(In):
    id: Id
    marking: Annotated[str, Field(min_length=1, max_length=1000)]


class PartyIn(In):
    id: Id
    name: Text | None = None
    levels: Annotated[list[Level], Field(min_length=1, max_length=100)]


class Party(Out):
    seq: int
    id: str
    name: str | None = None
    levels: list[Level]


class AgreementIn(In):
    """One agreement, written as an entry of a world file's ``agreements`` (docs/world-file.md)."""

    id: Id
    name: Text | None = None
    kind: Literal["treaty", "arrangement"]
    parties: Annotated[list[Id], Field(min_length=1, max_length=100)]
    entry_into_force: Day
    term: Annotated[str, Field(max_length=20)] | None = None
    renewal: Literal["automatic", "none"] | None = None
    notice_period: Annotated[str, Field(max_length=20)] | None = None
    scope: Scope | None = None
    equivalence: Table | None = None
    conduit: Id | None = None
    hops: Ids | None = None

    def entry(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class Agreement(Out):
    seq: int
    id: str
    name: str | None = None
    kind: str
    parties: list[str]
    entry_into_force: str
    term: str | None = None
    renewal: str | None = None
    notice_period: str | None = None
    scope: list[str] | str
    equivalence: list[dict[str, list[str]]] | None = None
    conduit: str | None = None
    hops: list[str] | None = None


EventKind = Literal["notice", "suspend-notice", "resume-notice", "withdraw-notice", "terminate", "amend"]


class EventIn(In):
    """A lifecycle event of the agreement in the path; ``amend`` gives ``scope`` and/or ``equivalence``."""

    kind: EventKind
    date: Day
    by: Id | None = None
    scope: Scope | None = None
    equivalence: Table | None = None


class Event(Out):
    seq: int
    date: str
    agreement: str
    kind: str
    by: str | None = None
    scope: list[str] | str | None = None
    equivalence: list[dict[str, list[str]]] | None = None


class AgreementState(Out):
    agreement: str
    at: str
    state: str
    in_force: bool
    disputed: bool = Field(description="A suspended notice: the parties disagree on where it stands.")
    ends: str | None = Field(description="The first day not in force, as known from the events on record.")


class Segment(Out):
    start: str
    state: str
    cause: str
    ends: str | None


class Version(Out):
    start: str
    scope: list[str] | str
    equivalence: list[dict[str, list[str]]]


class Timeline(Out):
    agreement: str
    segments: list[Segment]
    end: str | None
    versions: list[Version]


class Item(Out):
    seq: int
    id: str
    originator: str
    level: str
    topics: list[str] = []
    releasable_to: list[str] | None = None
    caveats: list[str] = []
    has_body: bool


# -- decisions ------------------------------------------------------------------------------------------


class Query(In):
    item: Id
    to: Id
    at: Day
    holder: Id | None = None


class Batch(In):
    """At most 10,000 queries (``gsomia.web.api.fast.MAX_BATCH``), answered in order."""

    queries: Annotated[list[Query], Field(min_length=1, max_length=10_000)]


class Reason(Out):
    rule: str
    ok: bool
    detail: str


class Alternative(Out):
    route: list[str]
    agreements: list[str]
    reasons: list[Reason]


class Decision(Out):
    """The decision JSON (docs/cli.md): verdict, route, agreements, marking, every rule's reason."""

    item: str
    recipient: str
    holder: str
    at: str
    allowed: bool
    route: list[str]
    agreements: list[str]
    marking: str | None
    reasons: list[Reason]
    alternatives: list[Alternative]


class Decisions(Out):
    decisions: list[Decision]


class ChangeIn(In):
    """A what-if change: ``terminate`` or ``amend`` an agreement on a day, or ``add`` a new one."""

    kind: Literal["terminate", "amend", "add"]
    on: Day
    agreement: Id | None = Field(None, description="The agreement to terminate or amend.")
    scope: Scope | None = Field(None, description="amend: the new scope, topics or 'any'.")
    equivalence: Table | None = Field(None, description="amend: the new equivalence table.")
    new: AgreementIn | None = Field(None, description="add: the agreement, as in a world file.")


class ImpactIn(In):
    change: ChangeIn
    at: Day | None = Field(None, description="The day whose flows are compared (default: the change's).")
    limit: int = Field(20, ge=0, le=100_000, description="Item ids listed per group; 0: all.")


class Verdict(Out):
    allowed: bool
    route: list[str]
    agreements: list[str]
    marking: str | None


class FlowGroup(Out):
    outcome: str
    recipient: str
    originator: str
    level: str
    topics: list[str]
    count: int
    items: list[str]
    items_truncated: bool
    before: Verdict
    after: Verdict


class Impact(Out):
    change: str
    at: str
    pairs: int
    counts: dict[str, int]
    by_agreement: dict[str, dict[str, int]]
    by_topic: dict[str, dict[str, int]]
    by_level: dict[str, dict[str, int]]
    flows: dict[str, list[FlowGroup]]


# -- releases and consents ------------------------------------------------------------------------------


class ReleaseIn(In):
    item: Id
    to: Id
    at: Day | None = Field(None, description="The day of the release (default: today, UTC).")
    holder: Id | None = None


class ReleaseOutcome(Decision):
    release: int
    recorded: str
    outbox: bool
    leaf: int


class Release(Out):
    seq: int
    item: str
    recipient: str
    holder: str
    at: str
    allowed: bool
    decision: Decision
    recorded: str


class ConsentIn(In):
    """A holder's request: an item, or a topic of an originator, from holder to recipient."""

    holder: Id
    recipient: Id
    item: Id | None = None
    topic: Id | None = None
    originator: Id | None = None
    from_: Day | None = Field(None, alias="from")
    until: Day | None = None
    id: Id | None = None


class GrantIn(In):
    from_: Day | None = Field(None, alias="from")
    until: Day | None = None
    by: Id | None = None


class DenyIn(In):
    by: Id | None = None
    note: Text = ""


class RevokeIn(In):
    on: Day | None = Field(None, description="From this day the consent covers nothing (default: today).")
    by: Id | None = None
    note: Text = ""


class Consent(Out):
    id: str
    holder: str
    recipient: str
    item: str | None = None
    topic: str | None = None
    originator: str | None = None
    from_: str | None = Field(None, alias="from")
    until: str | None = None
    status: str
    revoked_on: str | None
    history: list[dict[str, Any]]


# -- the log --------------------------------------------------------------------------------------------


class Head(Out):
    """A signed tree head, as ``gsomia log head`` prints it."""

    model_config = ConfigDict(extra="allow")
    v: int
    size: int
    root: str
    key_id: str
    signature: str


class Inclusion(Out):
    leaf: int
    size: int
    kind: str
    ref: str
    leaf_hash: str
    root: str
    proof: list[str]


class Consistency(Out):
    old: int
    new: int
    old_root: str
    new_root: str
    proof: list[str]


class VerifyIn(In):
    from_head: dict[str, Any] | None = Field(None, description="A head kept earlier (GET /log/head).")


class Fault(Out):
    leaf: int | None
    what: str


class VerifyReport(Out):
    ok: bool
    leaves: int
    heads: int
    first_bad_leaf: int | None
    faults: list[Fault]


class LastVerification(Out):
    """The node's newest whole-log verification, by whichever worker ran it (none yet: all null)."""

    at: str | None = Field(description="When it finished (UTC), or null if the log was never verified.")
    user: str | None
    leaves: int | None = Field(description="The leaves it checked.")
    ok: bool | None
    faults: int | None = Field(description="How many faults it found.")
    seconds: float | None
    report: VerifyReport | None


# -- sessions and users ---------------------------------------------------------------------------------

Role = Literal["officer", "legal", "auditor", "admin"]
Name = Annotated[str, Field(min_length=1, max_length=64)]
Secret = Annotated[str, Field(min_length=1, max_length=1024)]


class LoginIn(In):
    name: Name
    password: Secret


class PasswordIn(In):
    current: Secret
    new: Secret


class Session(Out):
    """Who is calling: the user, their role and permissions, and (for a browser session) its CSRF token."""

    user: str
    role: Role
    via: Literal["token", "session"]
    permissions: list[str]
    must_change_password: bool
    csrf_token: str | None = Field(description="Send as X-CSRF-Token with every change made by session.")
    expires: str | None


class UserIn(In):
    name: Name
    role: Role


class RoleIn(In):
    role: Role


class User(Out):
    name: str
    role: Role
    must_change_password: bool
    disabled: bool
    created: str


class Credentials(Out):
    """A user's new credentials, shown this once: a one-time password and an API token."""

    user: User
    password: str
    token: str
