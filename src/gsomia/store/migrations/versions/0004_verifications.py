"""The node's whole-log verifications: when, by whom, and what each found, for every worker to show.

Until now "last verified" lived in one server process's memory; several workers of one node, or the
node after a restart, each showed their own. One row per verification (``gsomia.services.users``
``Users.record_verification``), sealed like the users' rows; the newest is the node's "last verified".
The user name is kept as written, not as a foreign key: a verification stays on record after its user
is gone.

Revision ID: 0004_verifications
Revises: 0003_users
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_verifications"
down_revision: str | None = "0003_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the verifications table."""
    op.create_table(
        "verifications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("faults", sa.Integer, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        sa.Column("millis", sa.BigInteger, nullable=False),
        sa.Column("seal", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_verifications"),
    )


def downgrade() -> None:
    """Drop what 0004 created."""
    op.drop_table("verifications")
