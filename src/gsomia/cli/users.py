"""``gsomia user add|list|reset|role|disable``: the people who may use the node's web API and pages.

``user add NAME --role R`` prints the user's one-time password and API token: shown this once, stored
only as argon2id hashes. Roles: officer (decide, release, request consent), legal (agreements, events,
consents), auditor (read everything and the log, never a body), admin (users).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .shared import JsonOpt, NodeOpt, add, emit, new_group, open_node, option, table

if TYPE_CHECKING:
    from ..services.users import Issued, Users, UserView

UserArg = Annotated[str, typer.Argument(help="The user's name.", metavar="NAME", show_default=False)]
RoleOpt = Annotated[str, option("officer, legal, auditor or admin.", "ROLE", "--role")]


def register(app: typer.Typer) -> None:
    """Add ``gsomia user ...`` to ``app``."""
    group = new_group("The node's users: who may use its web API, with which role.")
    for name, command in (
        ("add", user_add),
        ("list", user_list),
        ("reset", user_reset),
        ("role", user_role),
        ("disable", user_disable),
    ):
        add(group, name, command)
    app.add_typer(group, name="user")


@contextmanager
def node_users(node: Path | None) -> Iterator[Users]:
    """The users of the node at ``node`` (same composition as the web app's)."""
    from ..bootstrap import utc_now  # deferred for start-up speed: the node's stack
    from ..crypto.secrets import ROW_SEAL_LABEL, Argon2Secrets, derived_key
    from ..services.users import Users
    from ..store.users import user_store_for

    with open_node(node) as services:
        secrets = Argon2Secrets(derived_key(services.keys, ROW_SEAL_LABEL))
        yield Users(user_store_for(services.store), secrets, utc_now)


def _issued(issued: Issued, verb: str) -> str:
    """The new credentials, echoed plainly (never wrapped: a wrapped token cannot be copied)."""
    return (
        f"{verb} user {issued.user.name} ({issued.user.role}). Shown this once; hand them over safely:\n"
        f"  one-time password: {issued.password}  (to be changed at the first login)\n"
        f"  API token:         {issued.token}"
    )


def _issued_dict(issued: Issued) -> dict[str, object]:
    return {**issued.user.to_dict(), "password": issued.password, "token": issued.token}


def user_add(name: UserArg, role: RoleOpt, node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """Add a user with a role; prints its one-time password and API token (shown only now)."""
    with node_users(node) as users:
        issued = users.add(name, role)
    emit(as_json, _issued_dict(issued), lambda: typer.echo(_issued(issued, "added")))


def user_list(node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """Every user, in name order."""
    found: list[UserView] = []
    with node_users(node) as users:
        while page := users.page(found[-1].name if found else "", 500):
            found += page
    rows = [
        [
            u.name,
            u.role,
            "disabled" if u.disabled else "active",
            "yes" if u.must_change_password else "",
            u.created,
        ]
        for u in found
    ]
    emit(
        as_json,
        [u.to_dict() for u in found],
        lambda: table("Users", ["name", "role", "state", "must change password", "created"], rows),
    )


def user_reset(name: UserArg, node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """New one-time password and API token (the old ones and every session stop working)."""
    with node_users(node) as users:
        issued = users.reset(name)
    emit(as_json, _issued_dict(issued), lambda: typer.echo(_issued(issued, "reset")))


def user_role(name: UserArg, role: RoleOpt, node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """Give a user another role (its sessions end)."""
    with node_users(node) as users:
        view = users.set_role(name, role)
    emit(as_json, view.to_dict(), lambda: f"user {view.name} is now {view.role}")


def user_disable(name: UserArg, node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """Disable a user: its token and sessions stop working at once (reset enables it again)."""
    with node_users(node) as users:
        view = users.disable(name)
    emit(as_json, view.to_dict(), lambda: f"user {view.name} is disabled")
