"""The database plumbing lives in the FHIR core (:mod:`fhir_ops.store.database`); the app's name for it."""

from fhir_ops.store.database import Base, Database

__all__ = ["Base", "Database"]
