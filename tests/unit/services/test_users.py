"""The users service over each user store (memory, SQLite): what a password change does to the user's
sessions, and writes of a user's row that race each other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import pytest

from gsomia.crypto.secrets import Argon2Secrets
from gsomia.services.ports import Store
from gsomia.services.users import NewSession, Users, UserStateError, UserStore
from gsomia.store.users import user_store_for

from .conftest import NOW

NEW = "a much longer passphrase"


def clock() -> datetime:
    return NOW


@pytest.fixture
def secrets() -> Argon2Secrets:
    return Argon2Secrets.for_tests()


@pytest.fixture
def users(store: Store, secrets: Argon2Secrets) -> Users:
    return Users(user_store_for(store), secrets, clock)


def meanwhile(monkeypatch: pytest.MonkeyPatch, secrets: Argon2Secrets, write: Callable[[], object]) -> None:
    """Make ``write`` land while the next new password is being hashed (the slow step of a change)."""
    real = secrets.hash_password

    def hash_password(password: str) -> str:
        monkeypatch.setattr(secrets, "hash_password", real)
        write()
        return real(password)

    monkeypatch.setattr(secrets, "hash_password", hash_password)


def session_of(users: Users, name: str, password: str) -> NewSession:
    opened = users.login(name, password)
    assert opened is not None
    return opened


def alive(users: Users, session: NewSession) -> bool:
    return users.by_session(session.cookie) is not None


def test_a_password_change_ends_every_other_session_and_keeps_the_one_that_made_it(users: Users) -> None:
    issued = users.add("olga", "officer")
    mine, other, third = (session_of(users, "olga", issued.password) for _ in range(3))
    users.change_password("olga", issued.password, NEW, session=mine.principal.session)
    assert [alive(users, s) for s in (mine, other, third)] == [True, False, False]
    assert users.by_token(issued.token) is not None  # the API token is not a session: reset revokes it
    assert alive(users, session_of(users, "olga", NEW))


def test_a_password_change_made_without_a_session_ends_them_all(users: Users) -> None:
    issued = users.add("olga", "officer")
    sessions = [session_of(users, "olga", issued.password) for _ in range(2)]
    users.change_password("olga", issued.password, NEW)
    assert [alive(users, s) for s in sessions] == [False, False]


def test_another_users_sessions_outlive_the_change(users: Users) -> None:
    olga, ivan = users.add("olga", "officer"), users.add("ivan", "legal")
    his = session_of(users, "ivan", ivan.password)
    users.change_password("olga", olga.password, NEW)
    assert alive(users, his)


# -- writes of one user's row that race --------------------------------------------------------------------


def test_a_disable_landing_during_a_password_change_stands_and_the_change_is_refused(
    users: Users, secrets: Argon2Secrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = users.add("olga", "officer")
    users.add("root", "admin")
    meanwhile(monkeypatch, secrets, lambda: users.disable("olga"))
    with pytest.raises(UserStateError, match="while the password was being changed"):
        users.change_password("olga", issued.password, NEW)
    assert users.get("olga").disabled
    assert users.login("olga", NEW) is None
    assert users.login("olga", issued.password) is None


def test_a_role_change_landing_during_a_password_change_is_kept_and_so_is_the_new_password(
    users: Users, secrets: Argon2Secrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = users.add("olga", "officer")
    meanwhile(monkeypatch, secrets, lambda: users.set_role("olga", "auditor"))
    users.change_password("olga", issued.password, NEW)
    assert users.get("olga").role == "auditor"
    opened = users.login("olga", NEW)
    assert opened is not None
    assert (opened.principal.role, opened.principal.must_change_password) == ("auditor", False)


def test_a_reset_landing_during_a_password_change_stands_and_the_change_is_refused(
    users: Users, secrets: Argon2Secrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = users.add("olga", "officer")
    again: list[str] = []
    meanwhile(monkeypatch, secrets, lambda: again.append(users.reset("olga").password))
    with pytest.raises(UserStateError, match="while the password was being changed"):
        users.change_password("olga", issued.password, NEW)
    assert users.login("olga", NEW) is None
    assert users.login("olga", again[0]) is not None


def test_the_store_writes_a_users_row_only_over_the_row_it_was_read_as(store: Store) -> None:
    rows: UserStore = user_store_for(store)
    users = Users(rows, Argon2Secrets.for_tests(), clock)
    users.add("olga", "officer")
    read = rows.user("olga")
    assert read is not None
    first = replace(read, role="legal", seal="first")
    assert rows.replace(first, was=read.seal)
    assert not rows.replace(replace(read, disabled=True, seal="second"), was=read.seal)  # stale
    assert rows.user("olga") == first
    assert not rows.replace(replace(read, name="nobody"), was=read.seal)  # no such row
