"""The part of ``medqc load`` that runs in worker processes: read, parse, check and index one
transaction's worth of input, so the loading process only writes rows.

Everything here is a pure function of its input (no database, no event loop), picklable both ways.
A transaction of plain ``PUT Type/id`` entries (what :func:`medqc.bundles.as_transaction` makes of
Synthea-style Bundles and ndjson) comes back checked exactly as the store's transaction processing
checks it (:func:`fhir_ops.store.transaction.plain_writes`: every resource validated, references to
``urn:`` fullUrls rewritten) and with each resource's search-index entries; anything else comes back
as the Bundle itself, for the store's full transaction processing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from fhir_ops.errors import FhirError
from fhir_ops.store.protocol import Resource
from fhir_ops.store.sql_repository import IndexRow, search_rows
from fhir_ops.store.transaction import plain_writes
from medqc.bundles import as_transaction, read_resources


@dataclass(frozen=True, slots=True)
class Batch:
    """One transaction's input: a whole ``.json`` file (read by the worker), or ndjson ``lines``."""

    where: str
    file_no: int
    path: str | None = None
    lines: tuple[bytes, ...] = ()
    #: the last transaction of its file
    ends_file: bool = True


@dataclass(frozen=True, slots=True)
class Prepared:
    """What a worker made of a :class:`Batch`: the checked ``resources`` (a JSON array: it crosses
    between processes faster than pickled dicts) with their search-index ``rows``, or a ``bundle`` that
    needs the full transaction processing, or an ``error``."""

    batch: Batch
    resources: bytes | None = None
    rows: list[IndexRow] | None = None
    bundle: Resource | None = None
    error: str | None = None
    #: the error ends its file (a ``.json`` file is one transaction; an ndjson line that is not JSON
    #: leaves the rest of the file unread, as it always did)
    stops_file: bool = False


def prepare_batches(batches: list[Batch]) -> list[Prepared]:
    """:func:`prepare` each batch (a worker process's unit of work: several small files at once)."""
    return [prepare(batch) for batch in batches]


def prepare(batch: Batch) -> Prepared:
    try:
        if batch.path is not None:
            resources = read_resources(Path(batch.path))
        else:
            resources = [orjson.loads(line) for line in batch.lines]
        bundle = as_transaction(resources)
        checked = plain_writes(bundle)
    except orjson.JSONDecodeError as exc:
        return Prepared(batch, error=f"{batch.where}: {exc}", stops_file=True)
    except (FhirError, ValueError) as exc:
        return Prepared(
            batch,
            error=f"{batch.where}: {getattr(exc, 'diagnostics', None) or exc}",
            stops_file=batch.path is not None,
        )
    if checked is None:
        return Prepared(batch, bundle=bundle)
    rows = [row for resource in checked for row in search_rows(resource)]
    return Prepared(batch, resources=orjson.dumps(checked), rows=rows)
