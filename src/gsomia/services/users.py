"""People on a node: users with one role each, their secrets, their sessions, and what each role may do.

A user is created by an admin (``gsomia user add NAME --role R``), which shows a one-time password and an
API token exactly once: only their argon2id hashes are stored (:class:`Secrets`, implemented in
:mod:`gsomia.crypto.secrets`). The one-time password must be changed at the first login before the session
may do anything else. Programs use the token (``Authorization: Bearer gsomia_<id>_<secret>``); browsers
log in for a session (a signed cookie, see :mod:`gsomia.web.auth`).

Every stored user, token and session row carries a seal (an HMAC under a key derived from the node's
signing key): a row written by anyone without the node's keys is refused as tampering, never trusted.

:data:`ROLE_PERMISSIONS` is the role table; the web layer asks :meth:`Principal.may` before every use case,
so no role ever sees or does more than its row allows.

Two things make a request cheap without keeping any state another worker's write can make stale:

- **Verified secrets.** The token or session row, and its user's row, are read from the database on every
  request (so a revoked token, a disabled user, a new role or a logout take effect at once in every
  worker); only the argon2id check is skipped when this process has already seen this exact (stored
  hash, presented secret) pair pass. The memo (:class:`VerifiedSecrets`) is a bounded LRU keyed on the
  stored hash and a keyed BLAKE2b digest of the secret (never the secret itself), holding successes only:
  a changed stored hash misses, and a wrong secret is checked with argon2id every time, never remembered.
- **Rate counts.** Counters stay in the database (``rate_counts``), shared by every worker, but a worker
  need not write one row per request. :class:`RateCounter` counts hits in memory and adds them to the
  database row in one upsert once ``batch`` hits have gathered or ``flush_ms`` have passed, whichever
  comes first (checked at each hit); the count a request is judged by is the database's count as of this
  worker's last flush plus the hits it has not flushed yet. ``batch`` comes from the limit (1 for the
  login limit and any limit under 40: every hit is written, as before; at most 5% of a larger limit, and
  never more than 100), so the staleness is bounded and stated: another worker's hits are seen by this
  one at most ``flush_ms`` (250 ms) or one flush late, and a worker that goes quiet holds back fewer than
  ``batch`` hits per key, so the limit can be passed by at most ``batch - 1`` hits per worker. Writing
  fewer rows was chosen over making each write cheaper (``synchronous_commit = off``, an fsync-free
  SQLite commit): a counter write still takes the database's write lock, and on SQLite every worker of the
  node queues on that one lock; a flush every ``batch`` hits takes it ``batch`` times less often. (The
  flush on PostgreSQL also skips the wait for the WAL flush: a counter is not worth an fsync.)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, Protocol, TypeVar, get_args

from .errors import ServiceError, TamperError

Role = Literal["officer", "legal", "auditor", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
Clock = Callable[[], datetime]
TOKEN_PREFIX = "gsomia"
MIN_PASSWORD = 12
MAX_SECRET = 1024  # characters in any password or token accepted for checking
UPDATE_ATTEMPTS = 3  # reads of a user's row a change makes while other writes keep changing it
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_TIME = "%Y-%m-%dT%H:%M:%SZ"


class Permission(StrEnum):
    """One thing a role may do; the web layer checks exactly one (or none) per operation."""

    WORLD_READ = "world:read"  # parties, agreements, events, states, timelines, item metadata
    WORLD_WRITE = "world:write"  # add parties, agreements and lifecycle events
    ITEM_BODY = "item:body"  # read an item's body in the clear
    DECIDE = "decide"  # ask for decisions (nothing is recorded)
    IMPACT = "impact"  # what-if analysis (nothing is recorded)
    RELEASE = "release"  # decide and record a release
    RELEASE_READ = "release:read"  # the releases recorded
    CONSENT_READ = "consent:read"
    CONSENT_REQUEST = "consent:request"
    CONSENT_DECIDE = "consent:decide"  # grant, deny, revoke
    LOG_READ = "log:read"  # heads, proofs, verification
    USERS = "users"  # add, list, reset and disable users


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    "officer": frozenset(
        {
            P.WORLD_READ,
            P.ITEM_BODY,
            P.DECIDE,
            P.IMPACT,
            P.RELEASE,
            P.RELEASE_READ,
            P.CONSENT_READ,
            P.CONSENT_REQUEST,
        }
    ),
    "legal": frozenset({P.WORLD_READ, P.WORLD_WRITE, P.IMPACT, P.CONSENT_READ, P.CONSENT_DECIDE}),
    "auditor": frozenset({P.WORLD_READ, P.RELEASE_READ, P.CONSENT_READ, P.LOG_READ}),  # reads, no bodies
    "admin": frozenset({P.USERS}),
}


# -- errors ---------------------------------------------------------------------------------------------


class UserError(ServiceError):
    """A user name, role or password that cannot be used (bad input); nothing was written."""


class UnknownUserError(UserError):
    """No user has that name on this node."""


class UserStateError(UserError):
    """The change conflicts with the node's users (a name taken, the last admin removed)."""


class SlowCheckError(UserError):
    """A credential check asked to be quick would need argon2id (tens of milliseconds): ask again without
    ``quick`` where waiting is fine. Never shown: the one asking quickly catches it."""


class CredentialsError(UserError):
    """A password given to confirm a change does not match."""


# -- stored rows ----------------------------------------------------------------------------------------


def _sealed_bytes(kind: str, fields: dict[str, Any]) -> bytes:
    body = {k: v for k, v in fields.items() if k != "seal"}
    return (kind + "|" + json.dumps(body, sort_keys=True, separators=(",", ":"))).encode("utf-8")


@dataclass(frozen=True, slots=True)
class UserRow:
    name: str
    role: str
    password_hash: str
    temporary: bool  # the password is the one-time one: it must be changed at the first login
    disabled: bool
    created: str
    seal: str = ""

    def sealed_bytes(self) -> bytes:
        return _sealed_bytes("user", asdict(self))


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: str
    user: str
    secret_hash: str
    created: str
    seal: str = ""

    def sealed_bytes(self) -> bytes:
        return _sealed_bytes("token", asdict(self))


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: str
    user: str
    secret_hash: str
    csrf: str
    created: str
    expires: str
    seal: str = ""

    def sealed_bytes(self) -> bytes:
        return _sealed_bytes("session", asdict(self))


@dataclass(frozen=True, slots=True)
class VerificationRow:
    """The node's record of one whole-log verification: when, by whom, the leaves it covered, whether
    it found no fault, how many, its report (JSON text) and how long it took. Kept in the database so every
    worker, and the node after a restart, shows the same "last verified"."""

    at: str
    user: str
    size: int
    ok: bool
    faults: int
    report: str
    millis: int
    seal: str = ""

    def sealed_bytes(self) -> bytes:
        return _sealed_bytes("verification", asdict(self))


Row = UserRow | TokenRow | SessionRow | VerificationRow
R = TypeVar("R", UserRow, TokenRow, SessionRow, VerificationRow)


# -- ports ----------------------------------------------------------------------------------------------


class UserStore(Protocol):
    """Where users, tokens, sessions and rate counters live (the node's database, beside its log).

    Unlike the node's records these rows change: a password is replaced, a session ends. Each method is
    one transaction."""

    def create(self, user: UserRow, token: TokenRow) -> bool: ...  # False: the name is taken
    def user(self, name: str) -> UserRow | None: ...
    def users(self, after: str, limit: int) -> Sequence[UserRow]: ...  # names > after, in name order
    # replace the user's row, if it is still the row sealed ``was`` (compare and swap; False, and nothing
    # written, if another write changed it since it was read or it is gone); with ``tokens``, replace all
    # its tokens; with end_sessions, end its sessions (all but the session ``keep``, if given)
    def replace(
        self,
        user: UserRow,
        *,
        was: str,
        tokens: Sequence[TokenRow] | None = None,
        end_sessions: bool = False,
        keep: str | None = None,
    ) -> bool: ...
    def token(self, id: str) -> TokenRow | None: ...
    def add_session(self, session: SessionRow) -> None: ...
    def session(self, id: str) -> SessionRow | None: ...
    def end_session(self, id: str) -> None: ...
    def purge_sessions(self, before: str) -> int: ...  # end sessions that expired before this time
    # count ``count`` more hits in ``window``; the new count (every worker's flushed hits)
    def hit(self, key: str, window: int, count: int = 1) -> int: ...
    # the token and its user's row in one read (the user None if the row is gone)
    def token_with_user(self, id: str) -> tuple[TokenRow, UserRow | None] | None: ...
    # -- the node's last whole-log verification (not a user's row, but as mutable and outside the log)
    def add_verification(self, row: VerificationRow) -> None: ...
    def last_verification(self) -> VerificationRow | None: ...  # the newest added


class Secrets(Protocol):
    """Hashing, checking and making secrets, and sealing rows (see :mod:`gsomia.crypto.secrets`)."""

    def hash_password(self, password: str) -> str: ...
    def hash_token(self, secret: str) -> str: ...
    def verify(self, stored: str, secret: str) -> bool: ...
    def new_id(self) -> str: ...
    def new_secret(self) -> str: ...
    def new_password(self) -> str: ...
    def seal(self, data: bytes) -> str: ...
    def sealed(self, data: bytes, seal: str) -> bool: ...
    def same(self, a: str, b: str) -> bool: ...


# -- the verified-secret memo and the rate counter ---------------------------------------------------------

VERIFIED_LIMIT = 4096  # (stored hash, secret) pairs remembered per process
FLUSH_MS = 250  # a worker's unflushed hits reach the database at most this late (at its next hit)
MAX_BATCH = 100  # hits a worker may gather before it writes them


class VerifiedSecrets:
    """A bounded LRU of (stored hash, presented secret) pairs that passed argon2id in this process.

    The key is the stored hash and a BLAKE2b digest of the secret under a random per-process key: the
    plaintext is never kept, and a digest found in a memory dump cannot be checked offline without that
    key. Only successes are remembered; a changed stored hash (a reset, a new token) misses."""

    def __init__(self, check: Callable[[str, str], bool], limit: int = VERIFIED_LIMIT) -> None:
        self._check = check
        self._limit = limit
        self._key = os.urandom(32)
        self._seen: OrderedDict[tuple[str, bytes], None] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def verify(self, stored: str, secret: str, *, quick: bool = False) -> bool:
        """Whether ``secret`` matches ``stored``: from the memo if this pair passed before, else argon2id
        (``quick``: SlowCheckError instead, for a caller that must not wait for argon2id where it runs)."""
        key = (stored, hashlib.blake2b(secret.encode("utf-8", "surrogatepass"), key=self._key).digest())
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return True
        if quick:
            raise SlowCheckError("this secret needs argon2id")
        if not self._check(stored, secret):
            return False
        with self._lock:
            self._seen[key] = None
            while len(self._seen) > self._limit:
                self._seen.popitem(last=False)
        return True


def batch_for(limit: int) -> int:
    """How many hits a worker may gather before writing them, for a limit of ``limit`` per window: 1 (each
    hit written) under 40, else 5% of the limit, at most :data:`MAX_BATCH`."""
    return 1 if limit < 40 else min(MAX_BATCH, limit // 20)


@dataclass(slots=True)
class _Tally:
    window: int
    base: int = 0  # the database's count at this worker's last flush (its own flushed hits included)
    pending: int = 0  # this worker's hits not yet written
    flushed: float = float("-inf")  # monotonic seconds of the last flush (a new tally flushes at once)


class RateCounter:
    """Hits per key and fixed window, written to the database in batches (see the module docstring)."""

    def __init__(
        self,
        store: UserStore,
        flush_ms: int = FLUSH_MS,
        max_keys: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._monotonic = monotonic
        self._flush_s = flush_ms / 1000
        self._max_keys = max_keys
        self._tallies: dict[str, _Tally] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window: int, batch: int = 1) -> int:
        """Count one hit of ``key`` in ``window``; the count to judge it by (every worker's flushed hits
        plus this worker's unflushed ones). ``batch`` 1 writes this hit before answering."""
        now = self._monotonic()
        stale: tuple[int, int] | None = None
        with self._lock:
            tally = self._tallies.get(key)
            if tally is None or tally.window != window:
                if tally is not None and tally.pending and tally.window < window:
                    stale = (tally.window, tally.pending)  # an old window's hits: written, then forgotten
                if len(self._tallies) >= self._max_keys:
                    self._tallies.clear()  # unflushed hits of other keys are lost: a bounded undercount
                tally = self._tallies[key] = _Tally(window)
            tally.pending += 1
            if tally.pending < batch and now - tally.flushed < self._flush_s:
                return tally.base + tally.pending
            count, tally.pending, tally.flushed = tally.pending, 0, now
            tally.base += count
        if stale is not None:
            self._store.hit(key, stale[0], stale[1])
        total = self._store.hit(key, window, count)
        with self._lock:
            if tally.window == window:
                tally.base = max(tally.base, total)
                return tally.base + tally.pending
        return total


# -- what callers see -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserView:
    name: str
    role: Role
    must_change_password: bool
    disabled: bool
    created: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Issued:
    """A user's new credentials, shown once: the one-time password and the API token."""

    user: UserView
    password: str
    token: str


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, and how: by API ``token`` or by browser ``session`` (with its CSRF token)."""

    user: str
    role: Role
    via: Literal["token", "session"]
    session: str | None = None
    csrf: str | None = None
    expires: str | None = None
    must_change_password: bool = False

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLE_PERMISSIONS[self.role]

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just opened: ``cookie`` is what the browser keeps (``id.secret``), shown once."""

    principal: Principal
    cookie: str


def stamp(moment: datetime) -> str:
    """A UTC timestamp as stored (fixed width, so stored stamps compare as text)."""
    return moment.astimezone(UTC).strftime(_TIME)


def check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UserError(
            "a user name is 1 to 64 characters: lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_role(role: object) -> Role:
    if role not in ROLES:
        raise UserError(f"unknown role {str(role)[:40]!r}; roles are {', '.join(ROLES)}")
    return role


def check_new_password(password: object) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_SECRET:
        raise UserError(f"a new password is {MIN_PASSWORD} to {MAX_SECRET} characters long")
    if password.strip() != password or not password.isprintable():
        raise UserError("a new password has no control characters and no spaces at either end")
    return password


# -- the use cases --------------------------------------------------------------------------------------


class Users:
    """Add, find, reset and disable users; check tokens and sessions; count requests."""

    def __init__(
        self,
        store: UserStore,
        secrets: Secrets,
        clock: Clock,
        *,
        session_ttl: timedelta = timedelta(hours=8),
        flush_ms: int = FLUSH_MS,
    ) -> None:
        self._store = store
        self._secrets = secrets
        self._clock = clock
        self._ttl = session_ttl
        self._decoy = secrets.hash_password(secrets.new_password())  # unknown names cost a check too
        self._verified = VerifiedSecrets(secrets.verify)  # tokens and sessions: argon2id once per pair
        self._counter = RateCounter(store, flush_ms)

    # -- admin -------------------------------------------------------------------------------------
    def add(self, name: str, role: str) -> Issued:
        """A new user with ``role``: its one-time password and API token, shown this once."""
        name, chosen = check_name(name), check_role(role)
        password, token, token_row = self._credentials(name)
        digest = self._secrets.hash_password(password)
        user = self._seal(UserRow(name, chosen, digest, True, False, self._now()))
        if not self._store.create(user, token_row):
            raise UserStateError(f"user {name!r} already exists; choose another name or reset that user")
        return Issued(_view(user), password, token)

    def get(self, name: str) -> UserView:
        return _view(self._user(name))

    def page(self, after: str = "", limit: int = 100) -> list[UserView]:
        """Users in name order, those after ``after``, at most ``limit``."""
        return [_view(self._checked(u)) for u in self._store.users(after, limit)]

    def reset(self, name: str) -> Issued:
        """New one-time password and token for ``name``; its old token and sessions stop working."""
        user = self._user(name)
        password, token, token_row = self._credentials(user.name)
        digest = self._secrets.hash_password(password)

        def reset_row(now: UserRow) -> UserRow:
            return replace(now, password_hash=digest, temporary=True, disabled=False)

        changed = self._update(user, reset_row, tokens=[token_row], end_sessions=True)
        return Issued(_view(changed), password, token)

    def set_role(self, name: str, role: str) -> UserView:
        """Give ``name`` another role; its sessions end (a browser logs in again under the new role)."""
        chosen = check_role(role)

        def new_role(now: UserRow) -> UserRow:
            if now.role == "admin" and chosen != "admin":
                self._keep_an_admin(now.name)
            return replace(now, role=chosen)

        return _view(self._update(self._user(name), new_role, end_sessions=True))

    def disable(self, name: str) -> UserView:
        """Disable ``name``: its token and sessions stop working; ``reset`` enables it again."""

        def disabled(now: UserRow) -> UserRow:
            if now.role == "admin":
                self._keep_an_admin(now.name)
            return replace(now, disabled=True)

        return _view(self._update(self._user(name), disabled, tokens=[], end_sessions=True))

    # -- the user themselves -----------------------------------------------------------------------
    def change_password(self, name: str, current: str, new: str, *, session: str | None = None) -> UserView:
        """Replace the user's password (the one-time one included) after checking the current one. Every
        session of the user ends but ``session``, the one making the change (if made with a session): a
        session opened with the old password, perhaps by someone who learnt it, does not outlive it.

        A role change landing meanwhile is kept; a reset or a disable landing meanwhile stands, and the
        change is refused (UserStateError) rather than undo it."""
        user = self._user(name)
        if user.disabled or not self._secrets.verify(user.password_hash, current[:MAX_SECRET]):
            raise CredentialsError("the current password does not match; nothing was changed")
        new = check_new_password(new)
        if new == current:
            raise UserError("the new password must differ from the current one")
        digest = self._secrets.hash_password(new)

        def new_password(now: UserRow) -> UserRow:
            if now.disabled or now.password_hash != user.password_hash:
                raise UserStateError(
                    f"user {name!r} was disabled or had its password reset while the password was being "
                    "changed; nothing was changed: log in again (or ask an admin) and try again"
                )
            return replace(now, password_hash=digest, temporary=False)

        return _view(self._update(user, new_password, end_sessions=True, keep=session))

    # -- authentication ----------------------------------------------------------------------------
    def by_token(self, text: str, *, quick: bool = False) -> Principal | None:
        """The user an API token belongs to, or None (unknown, malformed, disabled or revoked); ``quick``:
        SlowCheckError if that needs argon2id (a token this process has not checked before)."""
        parts = text.split("_", 2) if len(text) <= MAX_SECRET else []
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
            return None
        found = self._store.token_with_user(parts[1])  # read on every request: revocation is immediate
        if found is None:
            return None
        row, user = found
        self._check_seal(row, f"token {row.id}")
        if not self._verified.verify(row.secret_hash, parts[2], quick=quick):
            return None
        if user is None or user.name != row.user:
            return None
        user = self._checked(user)
        return None if user.disabled else Principal(user.name, check_role(user.role), "token")

    def login(self, name: str, password: str) -> NewSession | None:
        """A new session for ``name`` if ``password`` is theirs, else None (the same cost either way)."""
        found = self._store.user(name) if isinstance(name, str) and _NAME.fullmatch(name) else None
        user = self._checked(found) if found is not None else None
        stored = user.password_hash if user is not None else self._decoy
        matches = self._secrets.verify(stored, password[:MAX_SECRET])
        if user is None or user.disabled or not matches:
            return None
        now = self._clock()
        self._store.purge_sessions(stamp(now))
        secret = self._secrets.new_secret()
        row = SessionRow(
            self._secrets.new_id(),
            user.name,
            self._secrets.hash_token(secret),
            self._secrets.new_secret(),
            stamp(now),
            stamp(now + self._ttl),
        )
        row = self._seal(row)
        self._store.add_session(row)
        return NewSession(self._session_principal(user, row), f"{row.id}.{secret}")

    def by_session(self, cookie: str, *, quick: bool = False) -> Principal | None:
        """The user a session cookie's ``id.secret`` belongs to, while the session lasts; else None
        (``quick``: as :meth:`by_token`)."""
        sid, dot, secret = cookie.partition(".") if len(cookie) <= MAX_SECRET else ("", "", "")
        if not dot or not sid or not secret:
            return None
        row = self._store.session(sid)
        if row is None:
            return None
        self._check_seal(row, f"session {row.id}")
        if row.expires <= stamp(self._clock()):
            return None
        if not self._verified.verify(row.secret_hash, secret, quick=quick):
            return None
        user = self._store.user(row.user)
        if user is None:
            return None
        user = self._checked(user)
        return None if user.disabled else self._session_principal(user, row)

    def logout(self, session: str) -> None:
        self._store.end_session(session)

    def same(self, a: str, b: str) -> bool:
        """Constant-time comparison, for CSRF tokens."""
        return self._secrets.same(a, b)

    def hit(self, key: str, window_seconds: int, batch: int = 1) -> int:
        """Count a request by ``key`` in the current fixed window; the count so far in that window, as this
        worker knows it (``batch`` > 1: written with up to ``batch - 1`` others, see :class:`RateCounter`)."""
        window = int(self._clock().timestamp()) // max(1, window_seconds)
        return self._counter.hit(key, window, batch)

    # -- the node's last whole-log verification ----------------------------------------------------
    def record_verification(self, user: str, report: dict[str, Any], seconds: float) -> VerificationRow:
        """Keep the result of a whole-log verification ``user`` just ran (``report``: the audit's
        ``to_dict()``), sealed, for every worker's dashboard and the API's log routes."""
        faults = report.get("faults", [])
        row = VerificationRow(
            self._now(),
            user,
            int(report.get("leaves", 0)),
            bool(report.get("ok")),
            len(faults) if isinstance(faults, list) else 0,
            json.dumps(report, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str),
            max(0, round(seconds * 1000)),
        )
        row = self._seal(row)
        self._store.add_verification(row)
        return row

    def last_verification(self) -> VerificationRow | None:
        """The newest whole-log verification recorded on this node (by any worker), or None."""
        row = self._store.last_verification()
        if row is not None:
            self._check_seal(row, f"the verification of {row.at}")
        return row

    # -- helpers -----------------------------------------------------------------------------------
    def _now(self) -> str:
        return stamp(self._clock())

    def _credentials(self, name: str) -> tuple[str, str, TokenRow]:
        password, tid = self._secrets.new_password(), self._secrets.new_id()
        secret = self._secrets.new_secret()
        row = self._seal(TokenRow(tid, name, self._secrets.hash_token(secret), self._now()))
        return password, f"{TOKEN_PREFIX}_{tid}_{secret}", row

    def _session_principal(self, user: UserRow, row: SessionRow) -> Principal:
        role = check_role(user.role)
        return Principal(user.name, role, "session", row.id, row.csrf, row.expires, user.temporary)

    def _user(self, name: str) -> UserRow:
        found = self._store.user(name) if isinstance(name, str) and _NAME.fullmatch(name) else None
        if found is None:
            raise UnknownUserError(f"no user {str(name)[:64]!r} on this node; see the list of users")
        return self._checked(found)

    def _update(
        self,
        user: UserRow,
        change: Callable[[UserRow], UserRow],
        *,
        tokens: Sequence[TokenRow] | None = None,
        end_sessions: bool = False,
        keep: str | None = None,
    ) -> UserRow:
        """``change`` applied to ``user`` (the row as read) and written, sealed, only over that very row: if
        another write changed it meanwhile, the row is read again and ``change`` applied to it afresh (it
        may refuse by raising), so no write undoes another it never saw. UserStateError after
        :data:`UPDATE_ATTEMPTS` tries."""
        for _ in range(UPDATE_ATTEMPTS):
            changed = self._seal(change(user))
            if self._store.replace(
                changed, was=user.seal, tokens=tokens, end_sessions=end_sessions, keep=keep
            ):
                return changed
            user = self._user(user.name)
        raise UserStateError(
            f"user {user.name!r} changed while this change was being made, {UPDATE_ATTEMPTS} times over; "
            "nothing was changed: try again"
        )

    def _keep_an_admin(self, leaving: str) -> None:
        after = ""
        while page := self._store.users(after, 500):
            if any(u.role == "admin" and not u.disabled and u.name != leaving for u in page):
                return
            after = page[-1].name
        raise UserStateError(f"{leaving!r} is the last active admin; add another admin first")

    def _seal(self, row: R) -> R:
        return replace(row, seal=self._secrets.seal(row.sealed_bytes()))

    def _check_seal(self, row: Row, what: str) -> None:
        if not self._secrets.sealed(row.sealed_bytes(), row.seal):
            raise TamperError(
                f"{what} is stored without a valid seal: it was written by someone without the node's "
                "keys; remove it and reset the users concerned"
            )

    def _checked(self, user: UserRow) -> UserRow:
        self._check_seal(user, f"user {user.name!r}")
        if user.role not in ROLES:
            raise TamperError(f"user {user.name!r} has an unknown role {user.role!r}")
        return user


def _view(user: UserRow) -> UserView:
    return UserView(user.name, check_role(user.role), user.temporary, user.disabled, user.created)
