"""``_summary`` and ``_elements``: the subset of each resource a read or search returns.

``_summary=true`` keeps the elements R4 marks ``isSummary`` (read from the ``fhir.resources`` models'
field metadata), ``text`` keeps the narrative and the mandatory elements, ``data`` drops the narrative;
``_elements`` keeps the named top-level elements. A subsetted resource is tagged ``SUBSETTED`` (the
FHIR rule: a client must not write it back as if it were whole). ``_summary=count`` is the search's
own business (no entries at all).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from fhir_ops.errors import BadRequest

SUMMARY_MODES = frozenset({"true", "false", "text", "data", "count"})
MAX_ELEMENTS = 100
_ALWAYS = frozenset({"resourceType", "id", "meta"})
_SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "subsetted",
}


@dataclass(frozen=True, slots=True)
class Subset:
    summary: str | None = None
    elements: frozenset[str] | None = None

    @property
    def active(self) -> bool:
        return self.elements is not None or self.summary in {"true", "text", "data"}


def parse_summary(raw: str) -> str:
    if raw not in SUMMARY_MODES:
        modes = ", ".join(sorted(SUMMARY_MODES))
        raise BadRequest(f"_summary must be one of {modes}", expression=["_summary"])
    return raw


def parse_elements(raw: str) -> frozenset[str]:
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if len(names) > MAX_ELEMENTS:
        raise BadRequest(f"_elements takes at most {MAX_ELEMENTS} names", expression=["_elements"])
    # "Patient.name" is accepted for "name" (the spec allows the type prefix)
    return frozenset(n.split(".", 1)[1] if "." in n else n for n in names)


def subset_from(params: list[tuple[str, str]]) -> Subset:
    summary: str | None = None
    elements: frozenset[str] | None = None
    for key, raw in params:
        if key == "_summary":
            summary = parse_summary(raw)
        elif key == "_elements":
            elements = (elements or frozenset()) | parse_elements(raw)
    return Subset(summary=summary, elements=elements)


@cache
def _summary_elements(resource_type: str) -> frozenset[str] | None:
    """The top-level element names (JSON keys) R4 marks as summary for a type; None if unknown."""
    from fhir_ops.validation import model_class

    try:
        cls = model_class(resource_type)
    except Exception:  # an unknown type has no model: the resource is returned whole
        return None
    names: set[str] = set()
    for field in cls.model_fields.values():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if extra.get("summary_element_property") or extra.get("element_required"):
            names.add(str(field.alias))
    return frozenset(names)


@cache
def _mandatory_elements(resource_type: str) -> frozenset[str]:
    from fhir_ops.validation import model_class

    try:
        cls = model_class(resource_type)
    except Exception:
        return frozenset()
    return frozenset(
        str(f.alias)
        for f in cls.model_fields.values()
        if f.is_required()
        or (isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("element_required"))
    )


def apply_subset(resource: dict[str, Any], subset: Subset) -> dict[str, Any]:
    """``resource`` reduced to ``subset`` (the same object when nothing is removed)."""
    if not subset.active:
        return resource
    rtype = str(resource.get("resourceType"))
    keep: frozenset[str] | None
    if subset.elements is not None:
        keep = subset.elements | _mandatory_elements(rtype)
    elif subset.summary == "true":
        keep = _summary_elements(rtype)
    elif subset.summary == "text":
        keep = frozenset({"text"}) | _mandatory_elements(rtype)
    else:  # data
        keep = frozenset(k for k in resource if k != "text")
    if keep is None:
        return resource
    kept = {
        key: value
        for key, value in resource.items()
        if key in _ALWAYS or key in keep or (key.startswith("_") and key[1:] in keep)
    }
    if len(kept) == len(resource):
        return resource
    meta = dict(kept.get("meta") or {})
    meta["tag"] = [*(meta.get("tag") or []), _SUBSETTED]
    kept["meta"] = meta
    return kept
