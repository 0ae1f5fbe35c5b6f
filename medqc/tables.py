"""Import every module that defines tables, so ``Base.metadata`` is complete (Alembic, tests)."""

from __future__ import annotations

import importlib

TABLE_MODULES = (
    "fhir_ops.store.tables",
    "cds_services.tables",
    "cds_services.shared_cache",
    "measures.reporting.ledger",
    "agents.orchestration.audit",
)


def import_all_tables() -> None:
    for module in TABLE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a module of a capability not installed yet
            if exc.name != module:
                raise
