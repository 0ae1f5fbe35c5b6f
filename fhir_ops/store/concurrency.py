"""Concurrency control of store writes: advisory locks in one order, bounded retry, errors mapped.

On PostgreSQL every unit of work first takes transaction-scoped advisory locks on the keys it will
write — ``Type/id`` of each target and ``Type?criteria`` of each conditional create/update/delete — in
ascending key order, so two writers of the same key run one after the other and two transactions
touching the same keys in different orders cannot deadlock on them. What still conflicts
(serialisation failures, deadlocks on rows, a unique key hit by a parallel insert) is retried a few
times with jittered backoff; a conflict that outlives the retries is a 409, never a 500. SQLite has a
single writer (the repository's lock), so the locks are a no-op there.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar
from urllib.parse import urlencode

from sqlalchemy import BigInteger, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from fhir_ops.errors import BadRequest, Conflict, FhirError, ServiceUnavailable

T = TypeVar("T")

#: SQLSTATEs worth another attempt: serialization_failure, deadlock_detected, unique_violation.
RETRYABLE_STATES = frozenset({"40001", "40P01", "23505"})
#: Statement timeout / cancel (57014), server shutting down or starting (57P01-57P03), connection (08…).
_UNAVAILABLE_PREFIXES = ("08", "57P", "53")

_LOCK_SQL = text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(:keys) AS k").bindparams(
    bindparam("keys", type_=ARRAY(BigInteger))
)


def resource_key(resource_type: str, resource_id: str) -> str:
    return f"{resource_type}/{resource_id}"


def criteria_key(resource_type: str, params: Iterable[tuple[str, str]]) -> str:
    """The lock key of a conditional interaction: the type and its sorted search parameters.

    >>> criteria_key("Patient", [("identifier", "urn:x|1"), ("active", "true")])
    'Patient?active=true&identifier=urn%3Ax%7C1'
    """
    return f"{resource_type}?{urlencode(sorted(params))}"


def _lock_id(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


async def lock_keys(session: AsyncSession, keys: Iterable[str]) -> None:
    """Take the advisory locks of ``keys`` (PostgreSQL only), lowest id first, until the commit."""
    if session.get_bind().dialect.name != "postgresql":
        return
    ids = sorted({_lock_id(k) for k in keys})
    if ids:
        await session.execute(_LOCK_SQL, {"keys": ids})


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (asyncpg keeps it on the driver error or its cause)."""
    orig = getattr(exc, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None)
        if isinstance(code, str):
            return code
    return None


def is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    if sqlstate(exc) in RETRYABLE_STATES:
        return True
    return "database is locked" in str(exc.orig)  # SQLite shared by several processes


def database_error(exc: BaseException) -> FhirError | None:
    """The FHIR error a database failure means for the client, or None (a server bug: 500).

    Messages name the error class only: driver messages can quote the values being written.
    """
    if isinstance(exc, OSError | ConnectionError | TimeoutError):
        return _unavailable(f"The database is unreachable ({type(exc).__name__})")
    if not isinstance(exc, DBAPIError):
        return None
    state = sqlstate(exc)
    if state in RETRYABLE_STATES or is_retryable(exc):
        return Conflict("The write conflicted with concurrent writes and was not applied; retry it")
    if state == "57014":
        return _unavailable("The query ran past the database statement timeout and was cancelled")
    if state and state.startswith(_UNAVAILABLE_PREFIXES):
        return _unavailable(f"The database is unavailable (SQLSTATE {state})")
    if state and state.startswith("22"):
        return BadRequest(f"A value cannot be stored or compared by the database (SQLSTATE {state})")
    if exc.connection_invalidated or "closed" in str(exc.orig).lower():
        return _unavailable("The database connection was lost")
    return None


def _unavailable(text_: str) -> ServiceUnavailable:
    return ServiceUnavailable(text_, headers={"Retry-After": "5"})


@contextmanager
def translated() -> Iterator[None]:
    """Re-raise database failures as the FHIR errors :func:`database_error` gives."""
    try:
        yield
    except (DBAPIError, OSError) as exc:
        mapped = database_error(exc)
        if mapped is None:
            raise
        raise mapped from exc


async def with_retry(work: Callable[[], Awaitable[T]], *, attempts: int, backoff_s: float = 0.02) -> T:
    """Run ``work`` up to ``attempts`` times while it fails with a retryable database error."""
    for attempt in range(1, attempts + 1):
        try:
            with translated():
                return await work()
        except Conflict as exc:
            if attempt == attempts or not is_retryable(exc.__cause__ or exc):
                raise
        await asyncio.sleep(random.uniform(0, backoff_s * 2**attempt))  # jitter, not crypto
    raise AssertionError("unreachable")
