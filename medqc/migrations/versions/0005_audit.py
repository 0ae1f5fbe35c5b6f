"""Audit of runs: runs and steps (append-only, enforced by triggers), and the outbox of durable work.

Revision ID: 0005_audit
Revises: 0004_reporting
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_audit"
down_revision = "0004_reporting"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_runs", "audit_steps")


def upgrade() -> None:
    op.create_table(
        "audit_runs",
        sa.Column("run_id", sa.String(length=80), primary_key=True),
        sa.Column("trace_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_runs_trace_id", "audit_runs", ["trace_id"])
    op.create_table(
        "audit_steps",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(length=80), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ok_key", sa.String(length=128), nullable=True, unique=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("input_digest", sa.String(length=32), nullable=False),
        sa.Column("output_digest", sa.String(length=32), nullable=True),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("prompt_version", sa.String(length=200), nullable=True),
        sa.Column("kb_version", sa.String(length=64), nullable=False),
        sa.Column("code_version", sa.String(length=64), nullable=False),
        sa.Column("where", sa.String(length=16), nullable=False),
    )
    op.create_index("ix_audit_steps_run", "audit_steps", ["run_id", "id"])
    op.create_table(
        "run_outbox",
        sa.Column("run_id", sa.String(length=80), primary_key=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
    )
    op.create_index("ix_run_outbox_next_attempt_at", "run_outbox", ["next_attempt_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION medqc_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'the audit is append-only (%)', TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION medqc_append_only()"
            )
    else:
        for table in APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'the audit is append-only'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS medqc_append_only()")
    op.drop_index("ix_run_outbox_next_attempt_at", table_name="run_outbox")
    op.drop_table("run_outbox")
    op.drop_index("ix_audit_steps_run", table_name="audit_steps")
    op.drop_table("audit_steps")
    op.drop_index("ix_audit_runs_trace_id", table_name="audit_runs")
    op.drop_table("audit_runs")
