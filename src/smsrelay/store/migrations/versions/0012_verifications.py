"""Verifications (one-time codes), their sealed texts, conversions and the fraud guard.

``verifications`` keeps a keyed hash of the code, never the code; ``verification_sends`` the
SMS text sealed until the verification ends. ``conversions`` records messages that did what
they were sent for. ``verify_settings``, ``verify_traffic``, ``fraud_blocks`` and
``verify_refusals`` hold the fraud guard's settings, counts, blocks and refusals.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verifications",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("to_number", sa.String(20), nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("code_length", sa.Integer(), nullable=False),
        sa.Column("checks", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("sends", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("max_checks", sa.Integer(), nullable=False),
        sa.Column("max_sends", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(40), nullable=False),
        sa.Column("device_ip", sa.String(45)),
        sa.Column("app_name", sa.String(40)),
        sa.Column("web_domain", sa.String(253)),
        sa.Column("app_hash", sa.String(11)),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("approved_at", sa.Float()),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_verifications_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_verifications"),
    )
    op.create_index(
        "ix_verifications_account_id_created_at", "verifications", ["account_id", "created_at"]
    )
    op.create_index("ix_verifications_status_expires_at", "verifications", ["status", "expires_at"])
    op.create_table(
        "verification_sends",
        sa.Column("message_id", sa.String(40), nullable=False),
        sa.Column("verification_id", sa.String(40), nullable=False),
        sa.Column("sealed_text", sa.Text()),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_verification_sends"),
    )
    op.create_index(
        "ix_verification_sends_verification_id", "verification_sends", ["verification_id"]
    )
    op.create_table(
        "conversions",
        sa.Column("message_id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("converted_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_conversions_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("message_id", name="pk_conversions"),
    )
    op.create_index(
        "ix_conversions_account_id_converted_at", "conversions", ["account_id", "converted_at"]
    )
    op.create_table(
        "verify_settings",
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("app_name", sa.String(40)),
        sa.Column("allowed_countries", sa.Text()),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_verify_settings_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("account_id", name="pk_verify_settings"),
    )
    op.create_table(
        "verify_traffic",
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bucket", sa.Float(), nullable=False),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.Column("approvals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "scope", "key", "width", "bucket", name="pk_verify_traffic"
        ),
    )
    op.create_table(
        "fraud_blocks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("until", sa.Float(), nullable=False),
        sa.Column("lifted_at", sa.Float()),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_fraud_blocks_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_fraud_blocks"),
    )
    op.create_index(
        "ix_fraud_blocks_account_id_scope_key", "fraud_blocks", ["account_id", "scope", "key"]
    )
    op.create_table(
        "verify_refusals",
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "reason", name="pk_verify_refusals"),
    )


def downgrade() -> None:
    op.drop_table("verify_refusals")
    op.drop_index("ix_fraud_blocks_account_id_scope_key", table_name="fraud_blocks")
    op.drop_table("fraud_blocks")
    op.drop_table("verify_traffic")
    op.drop_table("verify_settings")
    op.drop_index("ix_conversions_account_id_converted_at", table_name="conversions")
    op.drop_table("conversions")
    op.drop_index("ix_verification_sends_verification_id", table_name="verification_sends")
    op.drop_table("verification_sends")
    op.drop_index("ix_verifications_status_expires_at", table_name="verifications")
    op.drop_index("ix_verifications_account_id_created_at", table_name="verifications")
    op.drop_table("verifications")
