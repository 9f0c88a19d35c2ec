"""History read by event name over a time range (the door log, the day book's replay at start-up).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_twin_history_name_at", "twin_history", ["station", "name", "at"])


def downgrade() -> None:
    op.drop_index("ix_twin_history_name_at", table_name="twin_history")
