"""Measured delivery: per-minute counters per connector and destination country.

``connector_stats`` holds, for each minute, connector and country, the submits a carrier
accepted and refused, the final receipts (delivered or not) with a histogram of their latency
(accepted submit → final receipt), and the cost of the accepted submits. The adaptive routing
strategy and ``smsrelay connectors stats`` read windows of these minutes; housekeeping
deletes old ones.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LATENCY = [f"latency_{i:02d}" for i in range(16)]


def _counter(name: str, kind: Any) -> sa.Column[Any]:
    return sa.Column(name, kind, server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "connector_stats",
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        _counter("submitted", sa.Integer()),
        _counter("submit_errors", sa.Integer()),
        _counter("delivered", sa.Integer()),
        _counter("failed", sa.Integer()),
        _counter("cost", sa.Float()),
        *(_counter(name, sa.Integer()) for name in _LATENCY),
        sa.PrimaryKeyConstraint("connector", "country", "bucket", name="pk_connector_stats"),
    )
    op.create_index("ix_connector_stats_bucket", "connector_stats", ["bucket"])


def downgrade() -> None:
    op.drop_index("ix_connector_stats_bucket", table_name="connector_stats")
    op.drop_table("connector_stats")
