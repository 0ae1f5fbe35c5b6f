"""Extract the index entries of a resource for every search parameter of its type."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fhir_ops.search.dates import parse_range, period_range
from fhir_ops.search.parameters import SearchParam, indexed_params_for

MAX_TEXT = 512  # the index's value and system columns hold at most this many characters


@dataclass(frozen=True, slots=True)
class IndexEntry:
    param: str
    system: str | None = None
    value: str | None = None
    lo: float | None = None
    hi: float | None = None


def _walk(node: Any, segments: list[str]) -> Iterator[tuple[str, Any]]:
    """Yield ``(last element name, value)`` for a dotted path, flattening lists and choice types."""
    if not segments:
        return
    head, rest = segments[0], segments[1:]
    nodes = node if isinstance(node, list) else [node]
    for item in nodes:
        if not isinstance(item, dict):
            continue
        if head.endswith("[x]"):
            stem = head[:-3]
            matches = [
                (k, v)
                for k, v in item.items()
                if k.startswith(stem) and k[len(stem) : len(stem) + 1].isupper()
            ]
        else:
            matches = [(head, item[head])] if head in item else []
        for key, value in matches:
            if rest:
                yield from _walk(value, rest)
            elif isinstance(value, list):
                for v in value:
                    yield key, v
            else:
                yield key, value


def normalise_reference(reference: str) -> tuple[str | None, str]:
    """``(type, id)`` of a literal reference, dropping any base URL and version.

    >>> normalise_reference("http://x/fhir/Patient/7/_history/2")
    ('Patient', '7')
    >>> normalise_reference("urn:uuid:abc")
    (None, 'urn:uuid:abc')
    """
    if reference.startswith(("urn:uuid:", "urn:oid:", "#")):
        return None, reference
    parts = reference.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2:
        return parts[-2], parts[-1]
    return None, reference


def fold_string(value: str) -> str:
    return " ".join(value.lower().split())


def _text(value: str | None) -> str | None:
    return value[:MAX_TEXT] if value is not None else None


def _strings(value: Any) -> Iterator[str]:
    """The strings a string parameter matches in ``value``: a string, or the string parts of a complex
    type (HumanName family/given/prefix/suffix/text, Address line/city/district/state/postalCode/
    country/text, ...)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for part in value.values():
            if isinstance(part, str):
                yield part
            elif isinstance(part, list):
                yield from (p for p in part if isinstance(p, str))


def _quantity_entries(name: str, value: Any) -> Iterator[IndexEntry]:
    """A Quantity (or number) as ``lo == hi == value``, with its ``system`` and ``code`` (or unit)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield IndexEntry(name, lo=float(value), hi=float(value))
    elif isinstance(value, dict) and isinstance(value.get("value"), int | float):
        number = float(value["value"])
        yield IndexEntry(
            name, _text(value.get("system")), _text(value.get("code") or value.get("unit")), number, number
        )


def _reference_entries(name: str, value: Any) -> Iterator[IndexEntry]:
    """A Reference by its (type, id); a canonical (a bare URL, as ``MeasureReport.measure``) by the
    type and id its URL ends in, without the version."""
    reference = value.get("reference") if isinstance(value, dict) else value
    if isinstance(reference, str) and reference:
        ref_type, ref_id = normalise_reference(reference.split("|", 1)[0])
        yield IndexEntry(name, _text(ref_type), _text(ref_id))


def _token_entries(name: str, key: str, value: Any) -> Iterator[IndexEntry]:
    if isinstance(value, dict):
        if "coding" in value or "text" in value:  # CodeableConcept
            for coding in value.get("coding") or []:
                yield IndexEntry(name, _text(coding.get("system")), _text(coding.get("code")))
        elif "value" in value and ("system" in value or key.endswith("dentifier")):  # Identifier
            yield IndexEntry(name, _text(value.get("system")), _text(str(value["value"])))
        elif "code" in value:  # Coding
            yield IndexEntry(name, _text(value.get("system")), _text(value.get("code")))
    elif isinstance(value, bool):
        yield IndexEntry(name, None, "true" if value else "false")
    elif isinstance(value, str | int | float):
        yield IndexEntry(name, None, _text(str(value)))


def _date_entries(name: str, value: Any) -> Iterator[IndexEntry]:
    try:
        if isinstance(value, str):
            lo, hi = parse_range(value)
        elif isinstance(value, dict) and ("start" in value or "end" in value):
            lo, hi = period_range(value)
        else:
            return
    except ValueError:
        return
    yield IndexEntry(name, lo=lo, hi=hi)


def _entries_for(param: SearchParam, resource: dict[str, Any]) -> Iterator[IndexEntry]:
    for path in param.paths:
        for key, value in _walk(resource, path.split(".")):
            if param.type == "token":
                yield from _token_entries(param.name, key, value)
            elif param.type == "reference":
                yield from _reference_entries(param.name, value)
            elif param.type == "date":
                yield from _date_entries(param.name, value)
            elif param.type == "string":
                for text in _strings(value):
                    yield IndexEntry(param.name, None, _text(fold_string(text)))
            elif param.type in ("quantity", "number"):
                yield from _quantity_entries(param.name, value)
            elif param.type == "uri" and isinstance(value, str):
                yield IndexEntry(param.name, None, _text(value))
                if "|" in value:  # a versioned canonical also matches its unversioned url
                    yield IndexEntry(param.name, None, _text(value.split("|", 1)[0]))


def index_resource(resource: dict[str, Any]) -> list[IndexEntry]:
    """Every index entry of ``resource`` (deduplicated, in a stable order)."""
    entries: dict[IndexEntry, None] = {}
    for param in indexed_params_for(str(resource.get("resourceType"))).values():
        for entry in _entries_for(param, resource):
            entries.setdefault(entry, None)
    return list(entries)
