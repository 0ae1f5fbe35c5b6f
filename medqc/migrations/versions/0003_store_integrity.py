"""Store integrity: a 64-bit search-index key and room for long token systems on PostgreSQL.

The search index gains a row per indexed value and never reuses keys, so a 32-bit key runs out on a
busy server; token systems (URIs) longer than 255 characters made PostgreSQL refuse the whole write.
SQLite neither bounds VARCHAR nor narrows INTEGER keys, so there is nothing to change there.

Revision ID: 0003_store_integrity
Revises: 0002_cds
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_store_integrity"
down_revision = "0002_cds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.alter_column("fhir_search_index", "pk", type_=sa.BigInteger(), existing_type=sa.Integer())
    op.alter_column(
        "fhir_search_index", "system", type_=sa.String(length=512), existing_type=sa.String(length=255)
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.alter_column(
        "fhir_search_index", "system", type_=sa.String(length=255), existing_type=sa.String(length=512)
    )
    op.alter_column("fhir_search_index", "pk", type_=sa.Integer(), existing_type=sa.BigInteger())
