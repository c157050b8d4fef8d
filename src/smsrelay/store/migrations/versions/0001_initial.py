"""Initial schema: accounts, API keys, messages and their parts and events, receipts kept for
later matching, the webhook outbox, idempotency keys.

Written out in full rather than generated from ``schema.metadata`` at run time, so that later
changes to schema.py need their own revision; tests/store/test_migrations.py checks that head
and schema.py agree on SQLite and PostgreSQL.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# waiting rows only: must match schema.WAITING_STATUSES and store._status.waiting()
_WAITING = sa.text("status IN ('queued', 'scheduled')")


def _partial() -> dict[str, Any]:
    return {"sqlite_where": _WAITING, "postgresql_where": _WAITING}


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("webhook_url", sa.Text()),
        sa.Column("webhook_secret", sa.String(100), nullable=False),
        sa.Column("inbound_webhook_url", sa.Text()),
        sa.Column("rate_limit", sa.Float()),
        sa.Column("rate_burst", sa.Integer()),
        sa.Column("disabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("name", name="uq_accounts_name"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(200), nullable=False),
        sa.Column("name", sa.String(100)),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_used_at", sa.Float()),
        sa.Column("revoked_at", sa.Float()),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_api_keys_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
    )
    op.create_index("ix_api_keys_account_id", "api_keys", ["account_id"])

    op.create_table(
        "messages",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("to_number", sa.String(20), nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("sender", sa.String(20)),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("encoding", sa.String(8), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("variant", sa.String(200)),
        sa.Column("client_ref", sa.String(200)),
        sa.Column("callback_url", sa.Text()),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("not_before", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float()),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("lease_until", sa.Float()),
        sa.Column("worker", sa.String(64)),
        sa.Column("connector", sa.String(64)),
        sa.Column("submitted_at", sa.Float()),
        sa.Column("dlr_deadline", sa.Float()),
        sa.Column("final_at", sa.Float()),
        sa.Column("error_code", sa.String(40)),
        sa.Column("error_message", sa.Text()),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_messages_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
    )
    op.create_index("ix_messages_queue", "messages", ["status", "priority", "id"])
    op.create_index("ix_messages_account_id_id", "messages", ["account_id", "id"])
    op.create_index("ix_messages_account_id_client_ref", "messages", ["account_id", "client_ref"])
    op.create_index("ix_messages_account_id_to_number", "messages", ["account_id", "to_number"])
    op.create_index("ix_messages_status_lease_until", "messages", ["status", "lease_until"])
    op.create_index("ix_messages_status_dlr_deadline", "messages", ["status", "dlr_deadline"])
    op.create_index("ix_messages_due", "messages", [sa.text("priority DESC"), "id"], **_partial())
    op.create_index("ix_messages_waiting_not_before", "messages", ["not_before"], **_partial())
    op.create_index("ix_messages_waiting_expires_at", "messages", ["expires_at"], **_partial())

    op.create_table(
        "message_parts",
        sa.Column("message_id", sa.String(40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("carrier_id", sa.String(80), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.String(40)),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_message_parts_message_id_messages"
        ),
        sa.PrimaryKeyConstraint("message_id", "seq", name="pk_message_parts"),
    )
    op.create_index(
        "ix_message_parts_connector_carrier_id", "message_parts", ["connector", "carrier_id"]
    )

    op.create_table(
        "message_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("error_code", sa.String(40)),
        sa.Column("detail", sa.Text()),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_message_events_message_id_messages"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_message_events"),
    )
    op.create_index("ix_message_events_message_id", "message_events", ["message_id"])

    op.create_table(
        "pending_receipts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("carrier_id", sa.String(80), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.String(40)),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pending_receipts"),
    )
    op.create_index(
        "ix_pending_receipts_connector_carrier_id", "pending_receipts", ["connector", "carrier_id"]
    )
    op.create_index("ix_pending_receipts_received_at", "pending_receipts", ["received_at"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("message_id", sa.String(40), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("lease_until", sa.Float()),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("delivered_at", sa.Float()),
        sa.Column("last_status_code", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_webhook_deliveries_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
    )
    op.create_index(
        "ix_webhook_deliveries_state_next_attempt_at",
        "webhook_deliveries",
        ["state", "next_attempt_at"],
    )
    op.create_index(
        "ix_webhook_deliveries_message_id_id", "webhook_deliveries", ["message_id", "id"]
    )

    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("status_code", sa.Integer()),
        sa.Column("error", sa.Text()),
        sa.Column("duration_ms", sa.Float()),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name="fk_webhook_attempts_delivery_id_webhook_deliveries",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"])

    op.create_table(
        "idempotency_keys",
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_idempotency_keys_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("account_id", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])


def downgrade() -> None:
    # children before parents; dropping a table drops its indexes on both databases
    for table in (
        "idempotency_keys",
        "webhook_attempts",
        "webhook_deliveries",
        "pending_receipts",
        "message_events",
        "message_parts",
        "messages",
        "api_keys",
        "accounts",
    ):
        op.drop_table(table)
