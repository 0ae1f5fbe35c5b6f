"""Shared fixtures for the measure tests: a store seeded with the built-in catalog and test patients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from measures.builtin import builtin_resources
from measures.engine import CqlEngine
from tests.measures.memory_repo import MemoryRepository

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def indicator_cases() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(FIXTURES.glob("*/*.json"))]


@pytest.fixture(scope="session")
def seeded_repo() -> MemoryRepository:
    repo = MemoryRepository(builtin_resources())
    for case in indicator_cases():
        for resource in case["resources"]:
            repo.put(resource)
    return repo


@pytest.fixture(scope="session")
def cql() -> CqlEngine:
    """Two worker processes; ELM cached under ``var/elm-cache`` like the app's default."""
    return CqlEngine(node=None, timeout_s=300, elm_cache_dir="var/elm-cache", processes=2)
