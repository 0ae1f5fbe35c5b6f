"""Load the catalog: every ``specs/<slug>.yaml`` shipped inside the package."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from measures.catalog.schema import DiseaseSpec, IndicatorSpec

SPEC_DIR = Path(__file__).parent / "specs"


class CatalogError(ValueError):
    """A spec file does not load or validate; the message names the file."""


def load_disease(path: Path) -> DiseaseSpec:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec = DiseaseSpec.model_validate(raw)
    except (yaml.YAMLError, ValueError) as exc:
        raise CatalogError(f"{path.name}: {exc}") from exc
    if spec.slug != path.stem:
        raise CatalogError(f"{path.name}: slug {spec.slug!r} does not match the file name")
    return spec


@lru_cache(maxsize=4)
def load_catalog(directory: Path = SPEC_DIR) -> tuple[DiseaseSpec, ...]:
    """Every disease spec, sorted by slug; raises :class:`CatalogError` on the first bad file."""
    diseases = tuple(load_disease(p) for p in sorted(directory.glob("*.yaml")))
    seen: dict[str, str] = {}
    for disease in diseases:
        for ind in disease.indicators:
            for name in (ind.key, ind.id):
                if name in seen:
                    raise CatalogError(f"{disease.slug}: {name!r} already defined in {seen[name]}")
                seen[name] = disease.slug
    return diseases


def indicator_specs(directory: Path = SPEC_DIR) -> list[IndicatorSpec]:
    return [ind for disease in load_catalog(directory) for ind in disease.indicators]


def spec_for(key_or_id: str, directory: Path = SPEC_DIR) -> IndicatorSpec | None:
    """The indicator whose key, Measure id or canonical url is ``key_or_id``."""
    name = key_or_id.rsplit("/", 1)[-1] if key_or_id.startswith(("http", "Measure/")) else key_or_id
    for ind in indicator_specs(directory):
        if name in (ind.key, ind.id):
            return ind
    return None
