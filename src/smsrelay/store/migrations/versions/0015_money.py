"""Prices and balances: price lists, a ledger, an account's balance and a message's price.

``price_rows`` holds one price list per account (what it pays) or connector (what it costs),
per country and prefix, in micro-units. ``accounts`` gets ``balance_micros`` (NULL: no prepaid
balance, as every existing account keeps), ``credit_limit_micros`` and ``currency``;
``messages`` gets the ``price_micros`` and ``currency`` it was charged and ``refunded_at`` (set
once, when the price is credited back). ``ledger`` records every balance movement; one refund
per message (unique ``message_id, kind``).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("balance_micros", sa.BigInteger()))
    op.add_column(
        "accounts",
        sa.Column(
            "credit_limit_micros", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
    )
    op.add_column("accounts", sa.Column("currency", sa.String(3)))
    op.add_column("messages", sa.Column("price_micros", sa.BigInteger()))
    op.add_column("messages", sa.Column("currency", sa.String(3)))
    op.add_column("messages", sa.Column("refunded_at", sa.Float()))
    op.create_table(
        "price_rows",
        sa.Column("owner_kind", sa.String(10), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("country", sa.String(7), nullable=False),
        sa.Column("prefix", sa.String(15), nullable=False),
        sa.Column("price_micros", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("owner_kind", "owner", "country", "prefix", name="pk_price_rows"),
    )
    op.create_table(
        "ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("message_id", sa.String(40)),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("messages", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_ledger_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ledger"),
    )
    op.create_index("ix_ledger_account_id_at", "ledger", ["account_id", "at"])
    op.create_index("uq_ledger_message_id_kind", "ledger", ["message_id", "kind"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_ledger_message_id_kind", table_name="ledger")
    op.drop_index("ix_ledger_account_id_at", table_name="ledger")
    op.drop_table("ledger")
    op.drop_table("price_rows")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("refunded_at")
        batch.drop_column("currency")
        batch.drop_column("price_micros")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("currency")
        batch.drop_column("credit_limit_micros")
        batch.drop_column("balance_micros")
