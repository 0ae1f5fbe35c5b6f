"""Patches of a stored resource: JSON Patch (RFC 6902, ``application/json-patch+json``) with the
``jsonpatch`` library, and JSON Merge Patch (RFC 7386, ``application/merge-patch+json``, or a JSON
object sent as ``application/(fhir+)json``, which is how fhirpy patches). A patch may not change the
resource's type or id; the result is validated like any write."""

from __future__ import annotations

from typing import Any

import jsonpatch
import jsonpointer

from fhir_ops.errors import BadRequest, BusinessRuleViolation
from fhir_ops.store.protocol import Resource

#: Operations in one patch document (a bound like the search limits).
MAX_OPERATIONS = 1000


def apply_patch(resource: Resource, document: Any) -> Resource:
    """A JSON array is a JSON Patch, a JSON object a Merge Patch."""
    if isinstance(document, dict):
        return apply_merge_patch(resource, document)
    return apply_json_patch(resource, document)


def _merged(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, ``null`` removes, anything else replaces.

    >>> _merged({"a": 1, "b": {"c": 2, "d": 3}}, {"a": None, "b": {"c": 4}, "e": [1]})
    {'b': {'c': 4, 'd': 3}, 'e': [1]}
    """
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merged(out.get(key), value)
    return out


def apply_merge_patch(resource: Resource, patch: dict[str, Any]) -> Resource:
    """``resource`` with a JSON Merge Patch applied (a new dict)."""
    merged = _merged(resource, {k: v for k, v in patch.items() if k != "meta"})
    for key in ("resourceType", "id"):
        if merged.get(key) != resource.get(key):
            raise BusinessRuleViolation(f"A patch may not change {key}", expression=[key])
    return dict(merged)


def apply_json_patch(resource: Resource, operations: Any) -> Resource:
    """``resource`` with ``operations`` applied (a new dict; ``meta`` versioning is the store's).

    A malformed patch document is a 400; a patch that cannot apply (a ``test`` that fails, a path
    that does not exist) or that changes ``resourceType`` or ``id`` is a 422.
    """
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise BadRequest("A JSON Patch body is an array of operation objects")
    if len(operations) > MAX_OPERATIONS:
        raise BadRequest(f"A JSON Patch takes at most {MAX_OPERATIONS} operations")
    try:
        patch = jsonpatch.JsonPatch(operations)
        patched = patch.apply(resource)
    except jsonpatch.InvalidJsonPatch as exc:
        raise BadRequest(f"Invalid JSON Patch: {exc}") from exc
    except jsonpatch.JsonPatchTestFailed as exc:
        raise BusinessRuleViolation(f"JSON Patch test failed: {exc}") from exc
    except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException) as exc:
        raise BusinessRuleViolation(f"JSON Patch does not apply to {_name(resource)}: {exc}") from exc
    except (TypeError, ValueError) as exc:  # e.g. a pointer into a string
        raise BusinessRuleViolation(f"JSON Patch does not apply to {_name(resource)}: {exc}") from exc
    if not isinstance(patched, dict):
        raise BusinessRuleViolation("A JSON Patch may not replace the whole resource with a non-object")
    for key in ("resourceType", "id"):
        if patched.get(key) != resource.get(key):
            raise BusinessRuleViolation(f"A JSON Patch may not change {key}", expression=[key])
    return patched


def _name(resource: Resource) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id')}"
