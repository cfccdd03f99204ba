"""Where each consent decision joined a partner's collection, kept: the note_places table.

A signed consent decision joins a partner's TAXII collection when a server first serves it, after
everything already there, and every release shipped to that partner afterwards is added after it. That
place was kept in the memory of the server process, so after a restart (or by another server process of
the node) the decision was placed again and a release could be shipped behind a place a partner's pull
had already passed. A row now holds the place (partner, decision id, ``added``, the partner's note
number); like the shipments it is outside the log, derived from what the log holds.

Revision ID: 0009_note_places
Revises: 0008_body_segments
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_note_places"
down_revision: str | None = "0008_body_segments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create note_places."""
    op.create_table(
        "note_places",
        sa.Column("next_hop", sa.String(200), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("added", sa.String(32), nullable=False),
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, autoincrement=False
        ),
        sa.PrimaryKeyConstraint("next_hop", "note", name="pk_note_places"),
    )


def downgrade() -> None:
    """Drop what 0009 created."""
    op.drop_table("note_places")
