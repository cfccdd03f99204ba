"""Long bodies a segment per row: a body is written and read a bounded piece at a time.

A body over one segment (1 MiB of plaintext, see gsomia.crypto.seal) was kept as one value, so storing or
reading it held its whole ciphertext in memory, more than once. Its sealed segments now go one per row of
``body_segments`` (item, n, data), and its ``bodies`` row keeps its wrapped key and nonce with an empty
ciphertext. Bodies stored before stay as they are and read as before. The table is append-only, refused
UPDATE and DELETE by the database itself, as migration 0001 made the log's tables.

Revision ID: 0008_body_segments
Revises: 0007_world_records_index
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_body_segments"
down_revision: str | None = "0007_world_records_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFUSAL = "gsomia: history is append-only"  # as migration 0001's triggers refuse


def upgrade() -> None:
    """Create body_segments and the triggers that keep it append-only."""
    op.create_table(
        "body_segments",
        sa.Column("item", sa.Text, nullable=False),
        sa.Column("n", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("item", "n", name="pk_body_segments"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER body_segments_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON body_segments "
            "FOR EACH STATEMENT EXECUTE FUNCTION gsomia_append_only()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER body_segments_no_{verb.lower()} BEFORE {verb} ON body_segments "
            f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}: {verb} on body_segments refused'); END"
        )


def downgrade() -> None:
    """Drop body_segments (its triggers go with it)."""
    op.drop_table("body_segments")
