"""The door terminal's template id for a member's face (never the face): kept while the consent holds.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("member") as table:
        table.add_column(sa.Column("face_template", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member") as table:
        table.drop_column("face_template")
