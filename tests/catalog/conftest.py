from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

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
