"""CDS JWT caches shared by every replica through the database (PostgreSQL in production, SQLite alone).

- :class:`DbReplayCache`: a ``jti`` is claimed by inserting its key; the primary key makes the claim
  atomic across replicas, so a token replayed to another pod is refused as it is on the same pod.
- :class:`DbJwksStore`: fetched key sets with their fetch time, so one replica's fetch serves the others
  and the "at most one refresh per ``min_refresh_s``" limit holds for the whole deployment.

Schema changes go through Alembic (``medqc/migrations/versions/0004_reporting.py``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, Float, String, Text, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from fhir_ops.store.database import Base, Database

#: Expired ``jti`` rows are deleted on every this-many-th claim (cheap, by the expiry index).
PURGE_EVERY = 200


class JtiReplayRow(Base):
    __tablename__ = "cds_jti_replay"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class JwksCacheRow(Base):
    __tablename__ = "cds_jwks_cache"

    location_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    location: Mapped[str] = mapped_column(Text)
    jwks: Mapped[dict[str, Any]] = mapped_column(JSON)
    fetched_at: Mapped[float] = mapped_column(Float)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class DbReplayCache:
    """``jti`` values seen and not yet expired, in the shared database."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        self._claims = 0

    async def claim(self, key: str, *, until: float) -> bool:
        """Record ``key`` as used until ``until`` (epoch seconds); False if any replica already did."""
        now = self._clock()
        self._claims += 1
        async with self._db.writer() as session:
            if self._claims % PURGE_EVERY == 1:
                await session.execute(delete(JtiReplayRow).where(JtiReplayRow.expires_at < now))
                await session.commit()
            digest = _hash(key)
            existing = await session.get(JtiReplayRow, digest)
            if existing is not None:
                if existing.expires_at >= now:
                    return False
                await session.delete(existing)  # expired: the key may be used again
                await session.flush()
            session.add(JtiReplayRow(key=digest, expires_at=until))
            try:
                await session.commit()
            except IntegrityError:  # another replica claimed it between our read and our insert
                await session.rollback()
                return False
        return True


class DbJwksStore:
    """Key sets by location with the wall-clock time they were fetched."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, location: str) -> tuple[dict[str, Any], float] | None:
        async with self._db.session() as session:
            row = await session.get(JwksCacheRow, _hash(location))
            return (row.jwks, row.fetched_at) if row is not None else None

    async def put(self, location: str, jwks: dict[str, Any], fetched_at: float) -> None:
        digest = _hash(location)
        async with self._db.writer() as session:
            row = await session.get(JwksCacheRow, digest)
            if row is None:
                session.add(
                    JwksCacheRow(location_hash=digest, location=location, jwks=jwks, fetched_at=fetched_at)
                )
            elif row.fetched_at < fetched_at:
                row.jwks, row.fetched_at = jwks, fetched_at
            try:
                await session.commit()
            except IntegrityError:  # another replica stored it first: theirs is as good
                await session.rollback()
