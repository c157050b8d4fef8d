"""SMPP client binds, inbound messages and opt-out.

New tables: ``smpp_users`` (per-account SMPP credentials), ``smpp_outbox`` (receipts and MO
messages waiting for a client's receiver bind), ``numbers`` (which account owns a number),
``inbound_messages`` and ``suppressions``. New columns: ``messages.origin``,
``messages.smpp_user_id``, ``messages.receipt_requested`` and ``accounts.optout_exempt_otp``,
all with server defaults so existing rows need no rewrite.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column(
            "optout_exempt_otp", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
    )
    op.add_column(
        "messages",
        sa.Column("origin", sa.String(8), server_default=sa.text("'api'"), nullable=False),
    )
    op.add_column("messages", sa.Column("smpp_user_id", sa.String(40)))
    op.add_column(
        "messages",
        sa.Column("receipt_requested", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )

    op.create_table(
        "smpp_users",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("system_id", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("allowed_ips", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("max_binds", sa.Integer(), server_default=sa.text("4"), nullable=False),
        sa.Column("throughput", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_smpp_users_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_smpp_users"),
        sa.UniqueConstraint("system_id", name="uq_smpp_users_system_id"),
    )
    op.create_index("ix_smpp_users_account_id", "smpp_users", ["account_id"])

    op.create_table(
        "smpp_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("smpp_user_id", sa.String(40)),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("ref_id", sa.String(40), nullable=False),
        sa.Column("source_addr", sa.String(21), nullable=False),
        sa.Column("destination_addr", sa.String(21), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16)),
        sa.Column("error_code", sa.String(40)),
        sa.Column("submitted_at", sa.Float()),
        sa.Column("done_at", sa.Float()),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("lease_until", sa.Float()),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float()),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_smpp_outbox_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_smpp_outbox"),
    )
    op.create_index(
        "ix_smpp_outbox_state_account_id_id", "smpp_outbox", ["state", "account_id", "id"]
    )

    op.create_table(
        "numbers",
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_numbers_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("number", name="pk_numbers"),
    )
    op.create_index("ix_numbers_account_id", "numbers", ["account_id"])

    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40)),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("from_number", sa.String(21), nullable=False),
        sa.Column("to_number", sa.String(21), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("carrier_id", sa.String(80)),
        sa.Column("keyword", sa.String(16)),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_inbound_messages_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_messages"),
    )
    op.create_index("ix_inbound_messages_account_id_id", "inbound_messages", ["account_id", "id"])

    op.create_table(
        "suppressions",
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("number", sa.String(21), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_suppressions_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("account_id", "number", name="pk_suppressions"),
    )


def downgrade() -> None:
    for table in ("suppressions", "inbound_messages", "numbers", "smpp_outbox", "smpp_users"):
        op.drop_table(table)
    # batch mode: SQLite rebuilds the table where it cannot drop a column in place
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("receipt_requested")
        batch.drop_column("smpp_user_id")
        batch.drop_column("origin")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("optout_exempt_otp")
