"""Search indexes that keep a search's cost flat as the store grows (issue 18).

``ix_fhir_search_value`` gains the ``system`` column, so a token or reference lookup (``patient=``,
``code=system|code``) is answered from the index without visiting the table; ``ix_fhir_search_owner``
(resource type + id) becomes ``ix_fhir_search_resource`` (resource type + id + parameter + ``lo``), so a
sort key (the lowest ``lo`` of one parameter of one resource) is a single index probe instead of a walk
over every date row of the type.

Revision ID: 0006_search_indexes
Revises: 0005_audit
"""

from __future__ import annotations

from alembic import op

revision = "0006_search_indexes"
down_revision = "0005_audit"
branch_labels = None
depends_on = None

TABLE = "fhir_search_index"


def upgrade() -> None:
    op.drop_index("ix_fhir_search_value", table_name=TABLE)
    op.create_index(
        "ix_fhir_search_value", TABLE, ["resource_type", "param", "value", "system", "resource_id"]
    )
    op.create_index("ix_fhir_search_resource", TABLE, ["resource_type", "resource_id", "param", "lo"])
    op.drop_index("ix_fhir_search_owner", table_name=TABLE)


def downgrade() -> None:
    op.create_index("ix_fhir_search_owner", TABLE, ["resource_type", "resource_id"])
    op.drop_index("ix_fhir_search_resource", table_name=TABLE)
    op.drop_index("ix_fhir_search_value", table_name=TABLE)
    op.create_index("ix_fhir_search_value", TABLE, ["resource_type", "param", "value", "resource_id"])
