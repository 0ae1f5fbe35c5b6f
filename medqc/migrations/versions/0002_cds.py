"""CDS Hooks: cards issued and feedback received.

Revision ID: 0002_cds
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_cds"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_cards",
        sa.Column("uuid", sa.String(length=64), primary_key=True),
        sa.Column("service_id", sa.String(length=128), nullable=False),
        sa.Column("hook_instance", sa.String(length=128), nullable=False),
        sa.Column("encounter_id", sa.String(length=256), nullable=True),
        sa.Column("patient_id", sa.String(length=256), nullable=True),
        sa.Column("indicator_key", sa.String(length=256), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=256), nullable=False),
        sa.Column("suggestion_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_cds_cards_encounter", "cds_cards", ["encounter_id", "service_id", "superseded_at"])
    op.create_index("ix_cds_cards_patient", "cds_cards", ["patient_id"])
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("card_uuid", sa.String(length=64), sa.ForeignKey("cds_cards.uuid"), nullable=False),
        sa.Column("service_id", sa.String(length=128), nullable=False),
        sa.Column("indicator_key", sa.String(length=256), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("override_reason", sa.JSON(), nullable=True),
        sa.Column("accepted_suggestions", sa.JSON(), nullable=True),
        sa.Column("outcome_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("card_uuid", "outcome", "outcome_timestamp", name="uq_cds_feedback_entry"),
    )
    op.create_index("ix_cds_feedback_card_uuid", "cds_feedback", ["card_uuid"])


def downgrade() -> None:
    op.drop_index("ix_cds_feedback_card_uuid", table_name="cds_feedback")
    op.drop_table("cds_feedback")
    op.drop_index("ix_cds_cards_patient", table_name="cds_cards")
    op.drop_index("ix_cds_cards_encounter", table_name="cds_cards")
    op.drop_table("cds_cards")
