from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from measures.catalog import indicator_specs

CMQCIC = Path(
    os.environ.get("MEDQC_CMQCIC_DIR", Path(__file__).resolve().parents[2] / "../shared/data/cmqcic")
)


@pytest.fixture(scope="session")
def indicators_json() -> dict[str, Any]:
    path = CMQCIC / "indicators.json"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def known_keys() -> frozenset[str]:
    """The indicator keys a dataset row may name: the catalog's, and indicators.json's where it is available."""
    path = CMQCIC / "indicators.json"
    cmqcic = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return frozenset(cmqcic) | {ind.key for ind in indicator_specs()}
