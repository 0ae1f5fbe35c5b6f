"""bench.datasets: sized, deterministic copies of the Synthea records with fresh, consistent ids."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from bench import datasets

_REF = re.compile(r'"reference":"([A-Za-z]+)/([0-9a-f-]{36})"')


def _source(shared: Path) -> tuple[set[str], set[str]]:
    """The ids of the shipped resources, and the ids their records point at but do not contain."""
    ids, pointed = set(), set()
    for path in (shared / "fhir" / "synthea").glob("*.json"):
        raw = path.read_bytes()
        for entry in orjson.loads(raw)["entry"]:
            ids.add(entry["resource"].get("id") or entry["fullUrl"].removeprefix("urn:uuid:"))
        pointed |= {i for _, i in _REF.findall(raw.decode().replace('": "', '":"'))}
    return ids, pointed - ids


def test_size_fresh_ids_and_references_resolve(shared_data: Path) -> None:
    out = list(datasets.resources(6000, seed=3))
    assert len(out) == 6000
    keys = {(r["resourceType"], r["id"]) for r in out}
    assert len(keys) == 6000
    original, dangling_in_source = _source(shared_data)
    assert not {r["id"] for r in out} & original
    text = b"\n".join(orjson.dumps(r) for r in out)
    assert b'"reference":"urn:uuid:' not in text
    refs = _REF.findall(text.decode())
    assert len(refs) > 5000
    # every reference points into the dataset, but those the shipped records already left dangling
    assert {i for t, i in refs if (t, i) not in keys} <= dangling_in_source


def test_copies_are_new_patients() -> None:
    patients = [r for r in datasets.resources(7000, seed=0) if r["resourceType"] == "Patient"]
    assert len(patients) >= 3
    names = Counter(p["name"][0]["family"] for p in patients)
    mrns = Counter(
        i["value"]
        for p in patients
        for i in p["identifier"]
        if i.get("system") == "http://hospital.smarthealthit.org"
    )
    assert max(names.values()) == 1
    assert max(mrns.values()) == 1


def test_deterministic_by_seed() -> None:
    def first_ids(seed: int) -> list[str]:
        return [r["id"] for r in datasets.resources(300, seed=seed)]

    assert first_ids(1) == first_ids(1)
    assert first_ids(1) != first_ids(2)


def test_transaction_bundles() -> None:
    bundles = list(datasets.transaction_bundles(1000, seed=0, size=300))
    assert [len(b["entry"]) for b in bundles] == [300, 300, 300, 100]
    entry: dict[str, Any] = bundles[0]["entry"][0]
    assert entry["request"] == {"method": "PUT", "url": f"Patient/{entry['resource']['id']}"}
    per_patient = list(datasets.transaction_bundles(2000, seed=0))
    assert sum(len(b["entry"]) for b in per_patient) == 2000
    assert all(b["entry"][0]["resource"]["resourceType"] == "Patient" for b in per_patient)
    with pytest.raises(ValueError, match="size"):
        next(datasets.transaction_bundles(10, size=0))
