"""The adapters of :class:`gsomia.services.users.UserStore`: the node's SQL database, or memory.

:func:`user_store_for` picks the one beside a node's store: a SQLite or PostgreSQL node keeps its users in
the same database (tables of migration 0003), so every server worker of one node shares them; a memory
node keeps them in memory. Each method is one short transaction of its own, independent of the node's
writer lock (users are not part of the log). A user's row is replaced only if it is still the row the
change was made from (compare and swap on its seal). The rate counter is one atomic upsert, which adds a
worker's gathered hits at once (see ``RateCounter`` in gsomia.services.users). On PostgreSQL that
transaction sets ``synchronous_commit = off``: a counter is not worth waiting for the WAL to reach the
disk (a crash may forget the last fraction of a second of counts, never a user, token or session row).

The same adapters keep the node's whole-log verifications (migration 0004), the newest of which is the
"last verified" every worker shows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Row, bindparam, delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from ..services.ports import Store
from ..services.users import SessionRow, TokenRow, UserRow, UserStore, VerificationRow
from . import schema as s
from .beside import Beside, write_transaction

_NO_WAL_WAIT = text("SET LOCAL synchronous_commit = off")


def user_store_for(store: Store) -> UserStore:
    """The user store beside ``store`` (a node's store, or the store a LoggedStore wraps)."""
    return _BESIDE(store)


# -- SQL ----------------------------------------------------------------------------------------------


def _user(row: Row[Any]) -> UserRow:
    return UserRow(
        row.name, row.role, row.password_hash, bool(row.temporary), bool(row.disabled), row.created, row.seal
    )


def _user_values(user: UserRow) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role,
        "password_hash": user.password_hash,
        "temporary": user.temporary,
        "disabled": user.disabled,
        "created": user.created,
        "seal": user.seal,
    }


def _token_values(token: TokenRow) -> dict[str, Any]:
    return {
        "id": token.id,
        "user_name": token.user,
        "secret_hash": token.secret_hash,
        "created": token.created,
        "seal": token.seal,
    }


# a token with its user's row, built once (every request runs it; building it each time costs more than
# the query)
_TOKEN_WITH_USER = (
    select(s.api_tokens, *(c.label(f"u_{c.name}") for c in s.users.c))
    .select_from(s.api_tokens.outerjoin(s.users, s.users.c.name == s.api_tokens.c.user_name))
    .where(s.api_tokens.c.id == bindparam("id"))
)


class SqlUserStore:
    """Users, tokens, sessions and rate counters in the node's SQLite or PostgreSQL database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _write(self) -> AbstractContextManager[Connection]:
        return write_transaction(self._engine)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _look(self) -> Iterator[Connection]:
        """A connection for a read of one statement (every request's token or session row): on a database
        server outside any transaction, the statement being its own snapshot (one round trip, not a
        BEGIN, the read and a COMMIT); on SQLite as :meth:`_read` (a local file: nothing to save)."""
        if self._engine.dialect.name == "sqlite":
            with self._read() as conn:
                yield conn
            return
        with self._engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    def create(self, user: UserRow, token: TokenRow) -> bool:
        try:
            with self._write() as conn:
                if conn.execute(select(s.users.c.name).where(s.users.c.name == user.name)).first():
                    return False
                conn.execute(insert(s.users), _user_values(user))
                conn.execute(insert(s.api_tokens), _token_values(token))
        except IntegrityError:  # another worker created the same name first
            return False
        return True

    def user(self, name: str) -> UserRow | None:
        with self._read() as conn:
            row = conn.execute(select(s.users).where(s.users.c.name == name)).first()
        return None if row is None else _user(row)

    def users(self, after: str, limit: int) -> Sequence[UserRow]:
        t = s.users.c
        with self._read() as conn:
            rows = conn.execute(select(s.users).where(t.name > after).order_by(t.name).limit(limit)).all()
        return [_user(r) for r in rows]

    def replace(
        self,
        user: UserRow,
        *,
        was: str,
        tokens: Sequence[TokenRow] | None = None,
        end_sessions: bool = False,
        keep: str | None = None,
    ) -> bool:
        t = s.users.c
        with self._write() as conn:
            # compare and swap: a row another write changed since it was read (its seal differs) stays
            changing = update(s.users).where(t.name == user.name, t.seal == was).values(_user_values(user))
            if conn.execute(changing).rowcount != 1:
                return False
            if tokens is not None:
                conn.execute(delete(s.api_tokens).where(s.api_tokens.c.user_name == user.name))
                for token in tokens:
                    conn.execute(insert(s.api_tokens), _token_values(token))
            if end_sessions:
                ending = delete(s.sessions).where(s.sessions.c.user_name == user.name)
                if keep is not None:
                    ending = ending.where(s.sessions.c.id != keep)
                conn.execute(ending)
        return True

    def token(self, id: str) -> TokenRow | None:
        t = s.api_tokens.c
        with self._read() as conn:
            row = conn.execute(select(s.api_tokens).where(t.id == id)).first()
        return (
            None if row is None else TokenRow(row.id, row.user_name, row.secret_hash, row.created, row.seal)
        )

    def add_session(self, session: SessionRow) -> None:
        with self._write() as conn:
            conn.execute(
                insert(s.sessions),
                {
                    "id": session.id,
                    "user_name": session.user,
                    "secret_hash": session.secret_hash,
                    "csrf": session.csrf,
                    "created": session.created,
                    "expires": session.expires,
                    "seal": session.seal,
                },
            )

    def session(self, id: str) -> SessionRow | None:
        with self._look() as conn:
            row = conn.execute(select(s.sessions).where(s.sessions.c.id == id)).first()
        if row is None:
            return None
        return SessionRow(
            row.id, row.user_name, row.secret_hash, row.csrf, row.created, row.expires, row.seal
        )

    def end_session(self, id: str) -> None:
        with self._write() as conn:
            conn.execute(delete(s.sessions).where(s.sessions.c.id == id))

    def purge_sessions(self, before: str) -> int:
        with self._write() as conn:
            return conn.execute(delete(s.sessions).where(s.sessions.c.expires <= before)).rowcount

    def token_with_user(self, id: str) -> tuple[TokenRow, UserRow | None] | None:
        with self._look() as conn:
            row = conn.execute(_TOKEN_WITH_USER, {"id": id}).first()
        if row is None:
            return None
        token = TokenRow(row.id, row.user_name, row.secret_hash, row.created, row.seal)
        if row.u_name is None:
            return token, None
        user = UserRow(
            row.u_name,
            row.u_role,
            row.u_password_hash,
            bool(row.u_temporary),
            bool(row.u_disabled),
            row.u_created,
            row.u_seal,
        )
        return token, user

    def add_verification(self, row: VerificationRow) -> None:
        with self._write() as conn:
            conn.execute(
                insert(s.verifications),
                {
                    "at": row.at,
                    "user_name": row.user,
                    "size": row.size,
                    "ok": row.ok,
                    "faults": row.faults,
                    "report": row.report,
                    "millis": row.millis,
                    "seal": row.seal,
                },
            )

    def last_verification(self) -> VerificationRow | None:
        v = s.verifications
        with self._read() as conn:
            row = conn.execute(select(v).order_by(v.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        return VerificationRow(
            row.at,
            row.user_name,
            int(row.size),
            bool(row.ok),
            int(row.faults),
            row.report,
            int(row.millis),
            row.seal,
        )

    def hit(self, key: str, window: int, count: int = 1) -> int:
        t = s.rate_counts
        with self._write() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                conn.execute(_NO_WAL_WAIT)
            maker = pg_insert if postgres else sqlite_insert
            statement = maker(t).values(principal=key[:200], window_start=window, hits=count)
            statement = statement.on_conflict_do_update(
                index_elements=[t.c.principal, t.c.window_start], set_={"hits": t.c.hits + count}
            )
            total = conn.execute(statement.returning(t.c.hits)).scalar_one()
            if total == count:  # a new window for this key: forget its old ones
                conn.execute(delete(t).where(t.c.principal == key[:200], t.c.window_start < window))
        return int(total)


# -- memory -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class MemoryUserStore:
    """The same contract in dictionaries, for memory nodes and tests; one lock makes each call atomic."""

    users_: dict[str, UserRow] = field(default_factory=dict)
    tokens: dict[str, TokenRow] = field(default_factory=dict)
    sessions: dict[str, SessionRow] = field(default_factory=dict)
    counts: dict[tuple[str, int], int] = field(default_factory=dict)
    verifications: list[VerificationRow] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, user: UserRow, token: TokenRow) -> bool:
        with self.lock:
            if user.name in self.users_:
                return False
            self.users_[user.name] = user
            self.tokens[token.id] = token
            return True

    def user(self, name: str) -> UserRow | None:
        return self.users_.get(name)

    def users(self, after: str, limit: int) -> Sequence[UserRow]:
        with self.lock:
            return [self.users_[n] for n in sorted(self.users_) if n > after][:limit]

    def replace(
        self,
        user: UserRow,
        *,
        was: str,
        tokens: Sequence[TokenRow] | None = None,
        end_sessions: bool = False,
        keep: str | None = None,
    ) -> bool:
        with self.lock:
            stored = self.users_.get(user.name)
            if stored is None or stored.seal != was:
                return False
            self.users_[user.name] = user
            if tokens is not None:
                self.tokens = {k: t for k, t in self.tokens.items() if t.user != user.name}
                self.tokens.update({t.id: t for t in tokens})
            if end_sessions:
                self.sessions = {k: v for k, v in self.sessions.items() if v.user != user.name or k == keep}
            return True

    def token(self, id: str) -> TokenRow | None:
        return self.tokens.get(id)

    def add_session(self, session: SessionRow) -> None:
        with self.lock:
            self.sessions[session.id] = session

    def session(self, id: str) -> SessionRow | None:
        return self.sessions.get(id)

    def end_session(self, id: str) -> None:
        with self.lock:
            self.sessions.pop(id, None)

    def purge_sessions(self, before: str) -> int:
        with self.lock:
            old = [k for k, v in self.sessions.items() if v.expires <= before]
            for k in old:
                del self.sessions[k]
            return len(old)

    def token_with_user(self, id: str) -> tuple[TokenRow, UserRow | None] | None:
        with self.lock:
            token = self.tokens.get(id)
            return None if token is None else (token, self.users_.get(token.user))

    def add_verification(self, row: VerificationRow) -> None:
        with self.lock:
            self.verifications.append(row)

    def last_verification(self) -> VerificationRow | None:
        with self.lock:
            return self.verifications[-1] if self.verifications else None

    def hit(self, key: str, window: int, count: int = 1) -> int:
        with self.lock:
            total = self.counts.get((key, window), 0) + count
            if total == count:
                self.counts = {k: v for k, v in self.counts.items() if k[0] != key or k[1] >= window}
            self.counts[(key, window)] = total
            return total


_BESIDE: Beside[UserStore] = Beside("user", SqlUserStore, MemoryUserStore)
