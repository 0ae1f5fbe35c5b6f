"""Read and write the CQL / ELM content of FHIR Library resources."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from fhir_ops.errors import BusinessRuleViolation

CQL = "text/cql"
ELM_JSON = "application/elm+json"


def raw_content(library: dict[str, Any], content_type: str) -> str | None:
    """The base64 ``data`` of the first attachment of ``content_type`` (undecoded)."""
    for attachment in library.get("content", []):
        if attachment.get("contentType", "").split(";")[0].strip() == content_type and "data" in attachment:
            return str(attachment["data"])
    return None


def content_digest(library: dict[str, Any]) -> str:
    """SHA-256 over the Library's CQL and ELM attachments (what its logic is made of)."""
    digest = hashlib.sha256()
    for content_type in (CQL, ELM_JSON):
        digest.update(b"\0" + (raw_content(library, content_type) or "").encode())
    return digest.hexdigest()


def content_of(library: dict[str, Any], content_type: str) -> str | None:
    """Decoded text of the first attachment of ``content_type`` (``None`` if there is none)."""
    for attachment in library.get("content", []):
        if attachment.get("contentType", "").split(";")[0].strip() == content_type and "data" in attachment:
            try:
                return base64.b64decode(attachment["data"]).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise BusinessRuleViolation(
                    f"Library/{library.get('id')}: {content_type} content is not base64 UTF-8",
                    expression=["Library.content.data"],
                ) from exc
    return None


def cql_of(library: dict[str, Any]) -> str | None:
    return content_of(library, CQL)


def elm_of(library: dict[str, Any]) -> dict[str, Any] | None:
    text = content_of(library, ELM_JSON)
    if text is None:
        return None
    try:
        elm: dict[str, Any] = json.loads(text)
    except ValueError as exc:
        raise BusinessRuleViolation(
            f"Library/{library.get('id')}: application/elm+json content is not JSON",
            expression=["Library.content"],
        ) from exc
    return elm


def with_elm(library: dict[str, Any], elm: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``library`` whose ``application/elm+json`` content is ``elm`` (CQL kept)."""
    data = base64.b64encode(json.dumps(elm, separators=(",", ":")).encode()).decode()
    content = [c for c in library.get("content", []) if c.get("contentType", "").split(";")[0] != ELM_JSON]
    return {**library, "content": [*content, {"contentType": ELM_JSON, "data": data}]}
