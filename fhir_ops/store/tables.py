"""Database tables of the embedded FHIR store: current resources, their history and the search index."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fhir_ops.store.database import Base


class ResourceRow(Base):
    """The current version of each resource (deleted ones kept as tombstones)."""

    __tablename__ = "fhir_resource"

    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)
    last_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (Index("ix_fhir_resource_type_updated", "resource_type", "last_updated"),)


class ResourceVersionRow(Base):
    """Every version ever written (vread and audit)."""

    __tablename__ = "fhir_resource_version"

    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)


class SearchIndexRow(Base):
    """One search-parameter value of one resource.

    token: (system, value=code); reference: (system=target type, value=target id); string: value folded;
    uri: value; date: [lo, hi) epoch seconds.
    """

    __tablename__ = "fhir_search_index"

    #: BIGINT on PostgreSQL (migration 0003); SQLite keeps INTEGER, its 64-bit rowid alias.
    pk: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    resource_type: Mapped[str] = mapped_column(String(64), nullable=False)
    resource_id: Mapped[str] = mapped_column(String(64), nullable=False)
    param: Mapped[str] = mapped_column(String(64), nullable=False)
    system: Mapped[str | None] = mapped_column(String(512))
    value: Mapped[str | None] = mapped_column(String(512))
    lo: Mapped[float | None] = mapped_column(Float)
    hi: Mapped[float | None] = mapped_column(Float)

    # Migration 0006 gave the index its search shape (issue 18): a value lookup (patient, code, id list)
    # is answered by ``ix_fhir_search_value`` alone, its system included (no table visit); a sort key
    # (``_sort=-date``: the resource's lowest ``lo`` of a parameter) and a resource's own rows (delete,
    # reindex, ``_include``) by ``ix_fhir_search_resource``, so their cost follows the matches, not the
    # number of rows of the type.
    __table_args__ = (
        Index("ix_fhir_search_value", "resource_type", "param", "value", "system", "resource_id"),
        Index("ix_fhir_search_date", "resource_type", "param", "lo", "hi"),
        Index("ix_fhir_search_resource", "resource_type", "resource_id", "param", "lo"),
    )
