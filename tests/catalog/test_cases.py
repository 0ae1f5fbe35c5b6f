"""The hand-written cases of every disease spec (``case_data/<slug>.yaml``): the indicators without or with
few dev rows, positive and negative phrasings, negated or merely planned acts. One test, data-driven."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.catalog.cases import numerator

CASE_DATA = Path(__file__).parent / "case_data"


def _cases() -> list[object]:
    params: list[object] = []
    for path in sorted(CASE_DATA.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec = data.get("spec")
        for index, case in enumerate(data["cases"]):
            params.append(
                pytest.param(
                    case["indicator"],
                    case["text"],
                    case["numerator"],
                    spec,
                    id=f"{path.stem}-{case['indicator']}-{index}",
                )
            )
    return params


CASES = _cases()


def test_case_files_are_well_formed() -> None:
    """Every case names an indicator, a note and a boolean expectation (a typo must not skip a case)."""
    assert len(CASES) >= 263
    for path in CASE_DATA.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(data) <= {"spec", "cases"}, path
        for case in data["cases"]:
            assert set(case) == {"indicator", "numerator", "text"}, (path, case)
            assert isinstance(case["numerator"], bool), (path, case)


@pytest.mark.parametrize(("measure_id", "text", "expected", "spec"), CASES)
async def test_case(measure_id: str, text: str, expected: bool, spec: str | None) -> None:
    assert await numerator(measure_id, text, slug=spec) is expected
