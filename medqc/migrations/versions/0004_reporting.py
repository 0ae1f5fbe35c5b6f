"""Regional reporting: the submission ledger; CDS JWT replay and JWKS caches shared by every replica.

Revision ID: 0004_reporting
Revises: 0003_store_integrity
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_reporting"
down_revision = "0003_store_integrity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_submissions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("platform", sa.String(length=512), nullable=False),
        sa.Column("measure_id", sa.String(length=64), nullable=False),
        sa.Column("report_key", sa.String(length=1024), nullable=False),
        sa.Column("report_id", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.String(length=40), nullable=False),
        sa.Column("period_end", sa.String(length=40), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("platform_result", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.String(length=128), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
    )
    op.create_index(
        "ix_report_submissions_key", "report_submissions", ["platform", "report_id", "submitted_at"]
    )
    op.create_table(
        "cds_jti_replay",
        sa.Column("key", sa.String(length=64), primary_key=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_cds_jti_replay_expires_at", "cds_jti_replay", ["expires_at"])
    op.create_table(
        "cds_jwks_cache",
        sa.Column("location_hash", sa.String(length=64), primary_key=True),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=False),
        sa.Column("fetched_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cds_jwks_cache")
    op.drop_index("ix_cds_jti_replay_expires_at", table_name="cds_jti_replay")
    op.drop_table("cds_jti_replay")
    op.drop_index("ix_report_submissions_key", table_name="report_submissions")
    op.drop_table("report_submissions")
