"""The embedded FHIR store: resources, versions, search index.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fhir_resource",
        sa.Column("resource_type", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
    )
    op.create_index("ix_fhir_resource_type_updated", "fhir_resource", ["resource_type", "last_updated"])
    op.create_table(
        "fhir_resource_version",
        sa.Column("resource_type", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("version_id", sa.Integer, primary_key=True),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
    )
    op.create_table(
        "fhir_search_index",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("param", sa.String(64), nullable=False),
        sa.Column("system", sa.String(255)),
        sa.Column("value", sa.String(512)),
        sa.Column("lo", sa.Float),
        sa.Column("hi", sa.Float),
    )
    op.create_index(
        "ix_fhir_search_value", "fhir_search_index", ["resource_type", "param", "value", "resource_id"]
    )
    op.create_index("ix_fhir_search_date", "fhir_search_index", ["resource_type", "param", "lo", "hi"])
    op.create_index("ix_fhir_search_owner", "fhir_search_index", ["resource_type", "resource_id"])


def downgrade() -> None:
    op.drop_table("fhir_search_index")
    op.drop_table("fhir_resource_version")
    op.drop_table("fhir_resource")
