"""The built-in indicator catalog: fact/rule specs per disease, their loader and Measure generation."""

from measures.catalog.loader import CatalogError, indicator_specs, load_catalog, spec_for
from measures.catalog.schema import DiseaseSpec, FactSpec, IndicatorSpec, StructuredMapping

__all__ = [
    "CatalogError",
    "DiseaseSpec",
    "FactSpec",
    "IndicatorSpec",
    "StructuredMapping",
    "indicator_specs",
    "load_catalog",
    "spec_for",
]
