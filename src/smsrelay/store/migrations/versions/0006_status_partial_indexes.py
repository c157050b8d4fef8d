"""Partial indexes for the lease and receipt sweeps instead of indexes that start with status.

Every status change rewrote an entry in each of the three indexes beginning with ``status``
(four changes per message). The queue's claim has had its own partial index since 0001, so
``ix_messages_queue`` served no query; the two sweeps read one status each and get partial
indexes over just those rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SENDING = sa.text("status = 'sending'")
_SENT = sa.text("status = 'sent'")


def upgrade() -> None:
    op.drop_index("ix_messages_queue", table_name="messages")
    op.drop_index("ix_messages_status_lease_until", table_name="messages")
    op.drop_index("ix_messages_status_dlr_deadline", table_name="messages")
    op.create_index(
        "ix_messages_sending_lease_until",
        "messages",
        ["lease_until", "id"],
        sqlite_where=_SENDING,
        postgresql_where=_SENDING,
    )
    op.create_index(
        "ix_messages_sent_dlr_deadline",
        "messages",
        ["dlr_deadline", "id"],
        sqlite_where=_SENT,
        postgresql_where=_SENT,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_sent_dlr_deadline", table_name="messages")
    op.drop_index("ix_messages_sending_lease_until", table_name="messages")
    op.create_index("ix_messages_status_dlr_deadline", "messages", ["status", "dlr_deadline"])
    op.create_index("ix_messages_status_lease_until", "messages", ["status", "lease_until"])
    op.create_index("ix_messages_queue", "messages", ["status", "priority", "id"])
