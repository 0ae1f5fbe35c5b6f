"""The embedded store's one-statement encounter record equals the record the per-type searches gather."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from fhir_ops.data_access.embedded import RepositorySource
from fhir_ops.data_access.record import CLINICAL_TYPES, EncounterRecord
from fhir_ops.data_access.searching import SearchingSource
from fhir_ops.errors import Gone, NotFound
from medqc.bundles import as_transaction, read_resources
from medqc.services import Services, build_services
from medqc.settings import Settings
from tests.conftest import BACKENDS, make_settings

LUNG = "Bundle-lung_cancer_sepsis_CABGhx-129c6ac7-8d06-89de-ad63-0204a93e76c3.json"
SEPSIS = "Bundle-sepsis-a5cb8ce9-cec6-6b23-0990-cbaf753578a4.json"


class PerTypeSearches(RepositorySource):
    """The generic path (read, read, one search per type) over the same repository, for comparison."""

    async def encounter_record(self, encounter_id: str) -> EncounterRecord:
        return await SearchingSource.encounter_record(self, encounter_id)


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return make_settings(str(request.param), tmp_path)


@pytest.fixture
async def services(settings: Settings, shared_data: Path) -> AsyncIterator[Services]:
    built = await build_services(settings, seed=False)
    try:
        for name in (LUNG, SEPSIS):
            await built.repo.transaction(
                as_transaction(read_resources(shared_data / "fhir" / "synthea" / name))
            )
        yield built
    finally:
        await built.close()


def _ids(record: EncounterRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "patient": (record.patient or {}).get("id"),
        "encounter": (record.encounter or {}).get("id"),
        "notes": [(n.reference, n.text) for n in record.notes],
    }
    for attr in CLINICAL_TYPES:
        out[attr] = [r["id"] for r in getattr(record, attr)]
    return out


async def _encounters(services: Services) -> list[str]:
    page = await services.repo.search("Encounter", [("_count", "1000")])
    return [r["id"] for r in page.matches]


async def test_one_statement_record_equals_per_type_searches(services: Services) -> None:
    fast, generic = RepositorySource(services.repo), PerTypeSearches(services.repo)
    encounters = await _encounters(services)
    assert len(encounters) > 20
    gathered = 0
    for encounter_id in encounters:
        record = await fast.encounter_record(encounter_id)
        assert _ids(record) == _ids(await generic.encounter_record(encounter_id))
        assert record.patient is not None
        gathered += len(record.resources())
    assert gathered > 2 * len(encounters)  # records with clinical resources, not just encounter + patient


async def test_deleted_resources_are_left_out_and_missing_encounters_are_errors(services: Services) -> None:
    source = RepositorySource(services.repo)
    found = [
        (record, attr)
        for encounter_id in await _encounters(services)
        for record in [await source.encounter_record(encounter_id)]
        for attr in CLINICAL_TYPES
        if getattr(record, attr)
    ]
    record, attr = found[0]
    assert record.encounter is not None
    linked = getattr(record, attr)
    gone = linked[0]
    await services.repo.delete(gone["resourceType"], gone["id"])
    again = await source.encounter_record(record.encounter["id"])
    assert [r["id"] for r in getattr(again, attr)] == [r["id"] for r in linked[1:]]

    await services.repo.delete("Encounter", record.encounter["id"])
    with pytest.raises(Gone):
        await source.encounter_record(record.encounter["id"])
    with pytest.raises(NotFound):
        await source.encounter_record("no-such-encounter")
    with pytest.raises(NotFound):
        await source.encounter_record("not a valid id!")
