"""The union's books: accounts, journal entries with their lines, and months closed; append-only and hash-chained.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KEPT = "an account keeps its code and kind once made: what was booked to it would change meaning"
_PG_ACCOUNT_GUARD = f"""
CREATE FUNCTION ledger_account_is_kept() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{_KEPT}';
END;
$$ LANGUAGE plpgsql;
"""
_GUARDED = ("ledger_entry", "ledger_line", "ledger_close")
_PG_GUARD = """
CREATE FUNCTION ledger_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: correct an entry by a reversing entry';
END;
$$ LANGUAGE plpgsql;
"""


def upgrade() -> None:
    op.create_table(
        "ledger_account",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name_zh", sa.String(64), nullable=False),
        sa.Column("name_en", sa.String(64), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "ledger_entry",
        sa.Column("id", _BIG, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False, index=True),
        sa.Column("memo", sa.String(200), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("reverses", _BIG, sa.ForeignKey("ledger_entry.id"), nullable=True, unique=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.CheckConstraint("id >= 1", name="ck_ledger_entry_id"),
    )
    op.create_table(
        "ledger_line",
        sa.Column("id", _BIG, primary_key=True, autoincrement=True),
        sa.Column("entry_id", _BIG, sa.ForeignKey("ledger_entry.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(32), sa.ForeignKey("ledger_account.code"), nullable=False),
        sa.Column("debit_fen", sa.BigInteger(), nullable=False),
        sa.Column("credit_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("debit_fen >= 0 AND credit_fen >= 0 AND (debit_fen = 0) <> (credit_fen = 0)", name="ck_ledger_line_one_side"),
        sa.UniqueConstraint("entry_id", "position", name="uq_ledger_line_position"),
    )
    op.create_index("ix_ledger_line_account", "ledger_line", ["account"])
    op.create_table(
        "ledger_close",
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("head_entry", _BIG, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_GUARD)
        op.execute(_PG_ACCOUNT_GUARD)
        op.execute(
            "CREATE TRIGGER ledger_account_kept BEFORE UPDATE OF code, kind OR DELETE ON ledger_account "
            "FOR EACH ROW EXECUTE FUNCTION ledger_account_is_kept()"
        )
        for table in _GUARDED:
            op.execute(
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only()"
            )
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} EXECUTE FUNCTION ledger_is_append_only()")
    else:
        for change, when in (("update", "UPDATE OF code, kind"), ("delete", "DELETE")):
            op.execute(
                f"CREATE TRIGGER ledger_account_no_{change} BEFORE {when} ON ledger_account BEGIN SELECT RAISE(ABORT, '{_KEPT}'); END"
            )
        for table in _GUARDED:
            for change in ("update", "delete"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{change} BEFORE {change.upper()} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: correct an entry by a reversing entry'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _GUARDED:
            op.execute(f"DROP TRIGGER {table}_no_change ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute("DROP TRIGGER ledger_account_kept ON ledger_account")
        op.execute("DROP FUNCTION ledger_is_append_only()")
        op.execute("DROP FUNCTION ledger_account_is_kept()")
    op.drop_table("ledger_close")
    op.drop_index("ix_ledger_line_account", "ledger_line")
    op.drop_table("ledger_line")
    op.drop_table("ledger_entry")
    op.drop_table("ledger_account")
