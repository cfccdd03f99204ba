"""People on the node: users, their API tokens, browser sessions, and per-principal rate counters.

These rows change (a password is replaced, a session ends, a counter grows), so they sit outside the
append-only log and carry no triggers; each user, token and session row holds a seal instead (an HMAC
under a key derived from the node's signing key, see gsomia.services.users).

Revision ID: 0003_users
Revises: 0002_lookups
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_users"
down_revision: str | None = "0002_lookups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stamp(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(32), nullable=False)


def _owner(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"], name=f"fk_{table}_user_name_users"),
    ]


def upgrade() -> None:
    """Create the users, api_tokens, sessions and rate_counts tables."""
    op.create_table(
        "users",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("temporary", sa.Boolean, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        _stamp("created"),
        sa.Column("seal", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_users"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), nullable=False),
        *_owner("api_tokens"),
        sa.Column("secret_hash", sa.Text, nullable=False),
        _stamp("created"),
        sa.Column("seal", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
    )
    op.create_index("ix_api_tokens_user_name", "api_tokens", ["user_name"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(32), nullable=False),
        *_owner("sessions"),
        sa.Column("secret_hash", sa.Text, nullable=False),
        sa.Column("csrf", sa.Text, nullable=False),
        _stamp("created"),
        _stamp("expires"),
        sa.Column("seal", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
    )
    op.create_index("ix_sessions_user_name", "sessions", ["user_name"])
    op.create_index("ix_sessions_expires", "sessions", ["expires"])
    op.create_table(
        "rate_counts",
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("hits", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("principal", "window_start", name="pk_rate_counts"),
    )


def downgrade() -> None:
    """Drop what 0003 created."""
    for table in ("rate_counts", "sessions", "api_tokens", "users"):
        op.drop_table(table)
