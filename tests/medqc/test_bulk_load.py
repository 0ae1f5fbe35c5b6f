"""``medqc load`` with worker processes: the same store as the transaction path, bad files named alone."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text

from fhir_ops.store.database import Database
from fhir_ops.store.sql_repository import SqlRepository
from medqc.bundles import as_transaction, read_resources
from medqc.loader import load_paths
from medqc.migrate import upgrade_to_head


async def _repo(path: Path) -> SqlRepository:
    db = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade_to_head(db.engine)
    return SqlRepository(db)


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[SqlRepository]:
    repo = await _repo(tmp_path / "load.sqlite")
    yield repo
    await repo.db.dispose()


async def _contents(repo: SqlRepository) -> dict[tuple[str, str], dict[str, object]]:
    """Every current resource without its meta (the version stamp differs between two loads)."""
    async with repo.db.session() as session:
        rows = (await session.execute(text("SELECT resource_type, id, content FROM fhir_resource"))).all()
    out = {}
    for rtype, rid, content in rows:
        resource = orjson.loads(content)
        resource.pop("meta")
        out[(rtype, rid)] = resource
    return out


async def _index(repo: SqlRepository) -> list[tuple[object, ...]]:
    """Every search-index row."""
    async with repo.db.session() as session:
        query = text("SELECT resource_type, resource_id, param, system, value, lo, hi FROM fhir_search_index")
        return sorted(tuple(r) for r in (await session.execute(query)).all())


async def test_workers_store_what_the_transaction_path_stores(
    shared_data: Path, tmp_path: Path, repo: SqlRepository
) -> None:
    # Synthea Bundles POST under urn:uuid fullUrls and reference each other by them
    files = sorted((shared_data / "fhir" / "synthea").glob("*.json"))[:4]
    folder = tmp_path / "in"
    folder.mkdir()
    for path in files:
        shutil.copy(path, folder / path.name)
    report = await load_paths(repo, [folder], workers=2, chunk=500)
    assert report.errors == []
    reference = await _repo(tmp_path / "reference.sqlite")
    try:
        expected = 0
        for path in sorted(folder.glob("*.json")):
            response = await reference.transaction(as_transaction(read_resources(path)))
            expected += len(response["entry"])
        assert report.resources == expected
        assert await _contents(repo) == await _contents(reference)
        index = await _index(repo)
        assert len(index) > expected
        assert index == await _index(reference)
        stored = await _contents(repo)
        references = [
            str(v) for r in stored.values() for k, v in _items(r) if k == "reference" and isinstance(v, str)
        ]
        assert references
        assert not any(ref.startswith("urn:uuid:") for ref in references)
    finally:
        await reference.db.dispose()


def _items(node: object) -> list[tuple[str, object]]:
    if isinstance(node, dict):
        return [(k, v) for k, v in node.items()] + [i for v in node.values() for i in _items(v)]
    if isinstance(node, list):
        return [i for v in node for i in _items(v)]
    return []


def _bundle(*resources: dict[str, object]) -> bytes:
    entries = [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
        for r in resources
    ]
    return orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})


def _patient(pid: str, family: str) -> dict[str, object]:
    return {"resourceType": "Patient", "id": pid, "name": [{"family": family}]}


@pytest.mark.parametrize("workers", [0, 2])
async def test_a_bad_file_is_reported_alone_and_the_others_are_stored(
    tmp_path: Path, repo: SqlRepository, workers: int
) -> None:
    (tmp_path / "a.json").write_bytes(_bundle(_patient("a1", "Li"), _patient("a2", "Wang")))
    bad = {"resourceType": "Patient", "id": "b1", "birthDate": "not-a-date"}
    (tmp_path / "b.json").write_bytes(_bundle(_patient("b0", "Zhao"), bad))
    (tmp_path / "c.json").write_bytes(_bundle(_patient("c1", "Chen")))
    report = await load_paths(repo, [tmp_path], workers=workers)
    assert report.resources == 3
    assert len(report.errors) == 1
    assert "b.json" in report.errors[0]
    assert "Bundle.entry[1]" in report.errors[0]
    found = await repo.search("Patient", [("_count", "10")])
    assert sorted(r["id"] for r in found.matches) == ["a1", "a2", "c1"]  # b.json is all or nothing


@pytest.mark.parametrize("workers", [0, 2])
async def test_the_same_resource_in_two_files_ends_as_two_versions(
    tmp_path: Path, repo: SqlRepository, workers: int
) -> None:
    (tmp_path / "1.json").write_bytes(_bundle(_patient("p1", "Old"), _patient("p2", "Other")))
    (tmp_path / "2.json").write_bytes(_bundle(_patient("p1", "New")))
    report = await load_paths(repo, [tmp_path], workers=workers)
    assert report.errors == []
    assert report.resources == 3
    patient = await repo.read("Patient", "p1")
    assert patient["name"] == [{"family": "New"}]
    assert patient["meta"]["versionId"] == "2"
    assert (await repo.search("Patient", [("family", "New")])).total == 1
    assert (await repo.search("Patient", [("family", "Old")])).total == 0


async def test_a_conditional_bundle_goes_through_the_transaction_processing(
    tmp_path: Path, repo: SqlRepository
) -> None:
    conditional = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "7"}]},
                "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:mrn|7"},
            }
        ],
    }
    (tmp_path / "1.json").write_bytes(_bundle(_patient("p1", "Li")))
    (tmp_path / "2.json").write_bytes(orjson.dumps(conditional))
    (tmp_path / "3.json").write_bytes(orjson.dumps(conditional))  # matches the one 2.json created
    report = await load_paths(repo, [tmp_path], workers=2)
    assert report.errors == []
    assert (await repo.search("Patient", [("identifier", "urn:mrn|7")])).total == 1
    assert (await repo.read("Patient", "p1"))["name"] == [{"family": "Li"}]


async def test_a_bundle_that_deletes_is_processed_and_counted(tmp_path: Path, repo: SqlRepository) -> None:
    (tmp_path / "1.json").write_bytes(_bundle(_patient("p1", "Li"), _patient("p2", "Wang")))
    deleting = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"request": {"method": "DELETE", "url": "Patient/p2"}},
            {"resource": _patient("p3", "Chen"), "request": {"method": "PUT", "url": "Patient/p3"}},
        ],
    }
    (tmp_path / "2.json").write_bytes(orjson.dumps(deleting))
    report = await load_paths(repo, [tmp_path], workers=0)
    assert report.errors == []
    assert report.by_type == {"Patient": 3}  # p1, p2, then p3: the deletion stores no resource
    found = await repo.search("Patient", [("_count", "10")])
    assert sorted(r["id"] for r in found.matches) == ["p1", "p3"]
