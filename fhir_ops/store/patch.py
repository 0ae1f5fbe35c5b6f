"""JSON Patch (RFC 6902, ``application/json-patch+json``) of a stored resource, with the ``jsonpatch``
library. A patch may not change the resource's type or id; the result is validated like any write."""

from __future__ import annotations

from typing import Any

import jsonpatch
import jsonpointer

from fhir_ops.errors import BadRequest, BusinessRuleViolation
from fhir_ops.store.protocol import Resource

#: Operations in one patch document (a bound like the search limits).
MAX_OPERATIONS = 1000


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
