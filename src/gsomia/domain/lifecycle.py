"""An agreement's state on any day: terms, renewal, notice, suspension, withdrawal, termination, amendment.

Term ends are ``E_k = eif + k * term`` (k >= 1, calendar arithmetic from entry into force, so month ends
clamp without drift). A notice given on day ``d`` ends the agreement at the first term end ``E`` with
``(d + 1 day) + notice_period <= E``; without a term it ends on ``(d + 1 day) + notice_period``. Every date
named as an end is the *first day not in force*. An agreement, once ended, never comes back: its in-force
days are the single interval ``[entry_into_force, end)``. A term end or a notice's end past the calendar's
last day (9999-12-31) is no end: the agreement outlives the calendar.

Renewal none: the agreement ends at ``E_1`` whatever happens to a notice; it is ``terminated`` if a notice
was pending (not suspended, not withdrawn) the day before, else ``expired``.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from .errors import LifecycleError
from .model import Agreement, Event, Table

State = Literal["not-yet-in-force", "in-force", "notice-pending", "notice-suspended", "terminated", "expired"]
IN_FORCE_STATES: frozenset[State] = frozenset({"in-force", "notice-pending", "notice-suspended"})
_LONGEST_DAYS = {"y": 366, "m": 31, "d": 1}


@dataclass(frozen=True, slots=True)
class Segment:
    """From ``start`` until the next segment the agreement is in ``state``; ``cause`` says why.
    ``ends``: for a pending notice, the day it takes effect (None: not within the calendar)."""

    start: date
    state: State
    cause: str
    ends: date | None = None


@dataclass(frozen=True, slots=True)
class Version:
    """Scope and equivalence table in effect from ``start`` (entry into force, or an amendment)."""

    start: date
    scope: tuple[str, ...] | None
    equivalence: Table


@dataclass(frozen=True, slots=True)
class AgreementState:
    """An agreement's state on one day; ``str()`` gives the state's name, e.g. ``notice-pending``."""

    agreement: str
    at: date
    state: State
    disputed: bool
    ends: date | None  # first day not in force, when known as of the events on record

    @property
    def in_force(self) -> bool:
        return self.state in IN_FORCE_STATES

    def __str__(self) -> str:
        return self.state


@dataclass(frozen=True, slots=True)
class Timeline:
    """One agreement's whole life: dated states, the first day not in force (None: none within the
    calendar) and the versions of its terms."""

    agreement: Agreement
    segments: tuple[Segment, ...]
    end: date | None
    versions: tuple[Version, ...]

    def in_force(self, at: date) -> bool:
        return self.agreement.entry_into_force <= at and (self.end is None or at < self.end)

    def state(self, at: date) -> AgreementState:
        i = bisect_right([s.start for s in self.segments], at) - 1
        if i < 0:
            return AgreementState(self.agreement.id, at, "not-yet-in-force", False, self.end)
        state = self.segments[i].state
        return AgreementState(self.agreement.id, at, state, state == "notice-suspended", self.end)

    def segment(self, at: date) -> Segment | None:
        """The dated state ``at`` falls in (None: before entry into force)."""
        i = bisect_right([s.start for s in self.segments], at) - 1
        return self.segments[i] if i >= 0 else None

    def version(self, at: date) -> Version:
        """The terms in effect on ``at``; before entry into force, the original ones."""
        i = bisect_right([v.start for v in self.versions], at) - 1
        return self.versions[max(i, 0)]


def term_end(agreement: Agreement, k: int) -> date | None:
    """``E_k``, the end of term ``k`` (None: past the calendar's last day, or no term at all)."""
    if agreement.term is None:
        return None
    return agreement.term.times(k).after(agreement.entry_into_force)


def _notice_takes_effect(agreement: Agreement, given: date) -> date | None:
    """``(given + 1 day) + notice_period``: the earliest day a notice given on ``given`` can end it."""
    if given == date.max:
        return None
    return agreement.notice_period.after(given + timedelta(days=1))


def notice_end(agreement: Agreement, given: date, where: tuple[str | int, ...]) -> date | None:
    """First day not in force after a notice given on ``given`` (None: not within the calendar)."""
    threshold = _notice_takes_effect(agreement, given)
    term = agreement.term
    if term is None or threshold is None:
        if term is not None and not agreement.renewal and term_end(agreement, 1) is not None:
            _too_late(agreement, given, where)
        return threshold
    if not agreement.renewal:
        first = term_end(agreement, 1)
        if first is not None and threshold > first:
            _too_late(agreement, given, where)
        return first
    k = max(1, (threshold - agreement.entry_into_force).days // (_LONGEST_DAYS[term.unit] * term.amount))
    while True:
        end = term_end(agreement, k)
        if end is None or end >= threshold:
            return end
        k += 1


def _too_late(agreement: Agreement, given: date, where: tuple[str | int, ...]) -> None:
    first = term_end(agreement, 1)
    assert first is not None
    last = _last_notice_day(agreement, first)
    hint = f"the last valid notice day was {last}" if last else "no notice day before it was early enough"
    raise LifecycleError(
        f"a notice on {given} cannot take effect: {agreement.id} does not renew and its term ends on "
        f"{first}, but notice needs {agreement.notice_period} from the next day; {hint}",
        where,
    )


def _last_notice_day(agreement: Agreement, end: date) -> date | None:
    """The last day a notice could be given and still end the agreement by ``end`` (None: no such day)."""

    def timely(ordinal: int) -> bool:
        reach = _notice_takes_effect(agreement, date.fromordinal(ordinal))
        return reach is not None and reach <= end

    lo, hi = agreement.entry_into_force.toordinal(), end.toordinal()  # timely is monotone: search it
    if not timely(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if timely(mid) else (lo, mid - 1)
    return date.fromordinal(lo)


def _ends(day: date | None) -> str:
    return f"ends on {day}" if day is not None else "no end within the calendar"


class _Run:
    """Replays one agreement's events in order, refusing any that cannot apply."""

    def __init__(self, agreement: Agreement) -> None:
        self.agreement = agreement
        eif = agreement.entry_into_force
        self.segments = [Segment(eif, "in-force", "entry into force")]
        self.versions = [Version(eif, agreement.scope, agreement.equivalence)]
        self.noticed = False  # a notice is pending or suspended
        self.pending: date | None = None  # the day it takes effect (None: past the calendar)
        self.suspended = False
        self.terminated: date | None = None
        self.hard_end = term_end(agreement, 1) if not agreement.renewal else None

    def end(self) -> date | None:
        ends = [d for d in (self.terminated, self.hard_end) if d is not None]
        if self.noticed and not self.suspended and self.pending is not None:
            ends.append(self.pending)
        return min(ends) if ends else None

    def mark(self, day: date, state: State, cause: str) -> None:
        if self.segments[-1].start == day:
            self.segments.pop()
        ends = self.pending if state == "notice-pending" else None
        self.segments.append(Segment(day, state, cause, ends))

    def apply(self, ev: Event) -> None:
        where: tuple[str | int, ...] = ("events", ev.index)
        a = self.agreement
        if ev.date < a.entry_into_force:
            raise LifecycleError(
                f"{ev.kind} on {ev.date} is before {a.id} entered into force ({a.entry_into_force})",
                (*where, "date"),
            )
        end = self.end()
        if end is not None and ev.date >= end:
            raise LifecycleError(
                f"{ev.kind} on {ev.date}: {a.id} is no longer in force (it ended on {end})", (*where, "date")
            )
        getattr(self, "_" + ev.kind.replace("-", "_"))(ev, where)

    def _notice(self, ev: Event, where: tuple[str | int, ...]) -> None:
        if self.noticed:
            state = "suspended" if self.suspended else "pending"
            raise LifecycleError(
                f"a notice is already {state}; withdraw or resume it instead", (*where, "kind")
            )
        self.pending = notice_end(self.agreement, ev.date, (*where, "date"))
        self.noticed = True
        self.mark(ev.date, "notice-pending", f"notice by {ev.by or 'a party'}; {_ends(self.pending)}")

    def _suspend_notice(self, ev: Event, where: tuple[str | int, ...]) -> None:
        if self.suspended:
            raise LifecycleError(
                "suspend-notice: the notice is already suspended; resume or withdraw it instead",
                (*where, "kind"),
            )
        if not self.noticed:
            raise LifecycleError("suspend-notice needs a pending notice, and there is none", (*where, "kind"))
        self.suspended = True
        self.mark(ev.date, "notice-suspended", f"notice suspended by {ev.by or 'a party'} (disputed)")

    def _resume_notice(self, ev: Event, where: tuple[str | int, ...]) -> None:
        if not self.suspended:
            raise LifecycleError(
                "resume-notice needs a suspended notice, and there is none", (*where, "kind")
            )
        self.pending = notice_end(self.agreement, ev.date, (*where, "date"))
        self.suspended = False
        self.mark(ev.date, "notice-pending", f"notice resumed by {ev.by or 'a party'}; {_ends(self.pending)}")

    def _withdraw_notice(self, ev: Event, where: tuple[str | int, ...]) -> None:
        if not self.noticed:
            raise LifecycleError(
                "withdraw-notice needs a pending or suspended notice, and there is none", (*where, "kind")
            )
        self.noticed, self.pending, self.suspended = False, None, False
        self.mark(ev.date, "in-force", f"notice withdrawn by {ev.by or 'a party'}")

    def _terminate(self, ev: Event, where: tuple[str | int, ...]) -> None:
        self.terminated = ev.date

    def _amend(self, ev: Event, where: tuple[str | int, ...]) -> None:
        if ev.scope is None and not ev.scope_any and ev.equivalence is None:
            raise LifecycleError(
                "an amend must give a new scope or a new equivalence table", (*where, "kind")
            )
        last = self.versions[-1]
        scope = None if ev.scope_any else (ev.scope if ev.scope is not None else last.scope)
        table = ev.equivalence if ev.equivalence is not None else last.equivalence
        if last.start == ev.date:
            self.versions.pop()
        self.versions.append(Version(ev.date, scope, table))

    def finish(self) -> Timeline:
        """Close the run. The state from the end on: ``terminated`` by a terminate event or by a notice
        pending (not suspended) the day before; otherwise (the term ran out) ``expired``."""
        end = self.end()
        if end is not None:
            if end == self.terminated:
                self.mark(end, "terminated", "terminated by mutual decision")
            elif self.noticed and not self.suspended:
                self.mark(end, "terminated", "notice took effect")
            else:
                self.mark(end, "expired", "term ended without renewal")
        return Timeline(self.agreement, tuple(self.segments), end, tuple(self.versions))


def compile_timeline(agreement: Agreement, events: tuple[Event, ...]) -> Timeline:
    """Apply ``events`` (this agreement's) in date order, same-day ones in file order."""
    run = _Run(agreement)
    for ev in sorted(events, key=lambda e: (e.date, e.index)):
        run.apply(ev)
    return run.finish()
