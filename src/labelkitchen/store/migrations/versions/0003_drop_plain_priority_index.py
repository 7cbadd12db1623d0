"""queue: drop the plain priority index (the partial index over open items serves the claim)

Revision ID: 0003_drop_plain_priority_index
Revises: 0002_queue_indexes
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0003_drop_plain_priority_index"
down_revision = "0002_queue_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("queue_items", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_items_project_id_priority")


def downgrade() -> None:
    with op.batch_alter_table("queue_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_queue_items_project_id_priority", ["project_id", "priority"], unique=False
        )
