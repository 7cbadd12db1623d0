"""queue: an index over open items, and reservations by expiry

Revision ID: 0002_queue_indexes
Revises: 0001_initial
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_queue_indexes"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("queue_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_queue_items_open",
            ["project_id", "priority"],
            unique=False,
            sqlite_where=sa.text("slots_left > 0"),
            postgresql_where=sa.text("slots_left > 0"),
        )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assignments_project_id_reserved_until",
            ["project_id", "reserved_until"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_assignments_project_id_reserved_until")
    with op.batch_alter_table("queue_items", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_queue_items_open",
            sqlite_where=sa.text("slots_left > 0"),
            postgresql_where=sa.text("slots_left > 0"),
        )
