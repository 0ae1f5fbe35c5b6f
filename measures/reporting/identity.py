"""The stable identity of a summary report and the digest of what it says.

A summary report is identified by who reports (``reporter``), which indicator (the Measure's url,
without version, so a corrected Measure version replaces the figure it corrects) and the period. The
same three give the same id on the hospital and on the platform, so a resubmission replaces, never
duplicates. The digest covers what the report says, not when it was computed or stored.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from fhir_ops.errors import InvalidResource

IDENTIFIER_SYSTEM = "http://medqc.org/fhir/NamingSystem/summary-measurereport"
#: Elements that change with each computation or store write without changing what is reported.
VOLATILE = frozenset({"id", "meta", "date", "text"})


def report_key(reporter: str, measure: str, period: dict[str, Any]) -> str:
    """``reporter|measure url|start|end`` (the measure's ``|version`` is dropped).

    >>> report_key("Organization/h1", "http://x/Measure/m|1.0", {"start": "2024-01-01", "end": "2024-03-31"})
    'Organization/h1|http://x/Measure/m|2024-01-01|2024-03-31'
    """
    url = measure.split("|", maxsplit=1)[0]
    return "|".join([reporter, url, str(period.get("start", "")), str(period.get("end", ""))])


def report_id(key: str) -> str:
    """A FHIR id for ``key`` (64 characters at most, ``[A-Za-z0-9-.]``).

    >>> report_id("a|b|c|d")
    'summ-b54856b7a8705958e13238b3d67eac1cf256afefd4ad405d'
    """
    return "summ-" + hashlib.sha256(key.encode()).hexdigest()[:48]


def key_of(report: dict[str, Any]) -> str:
    """The key of a submitted summary report, from its own reporter, measure and period."""
    reporter = (report.get("reporter") or {}).get("reference")
    measure = report.get("measure")
    period = report.get("period") or {}
    missing = [
        name
        for name, value in (
            ("reporter.reference", reporter),
            ("measure", measure),
            ("period.start", period.get("start")),
            ("period.end", period.get("end")),
        )
        if not isinstance(value, str) or not value
    ]
    if missing:
        raise InvalidResource(
            f"A summary MeasureReport needs {', '.join(missing)}",
            expression=[f"MeasureReport.{m}" for m in missing],
        )
    return report_key(str(reporter), str(measure), period)


def content_digest(report: dict[str, Any]) -> str:
    """SHA-256 of the report without its volatile elements (id, meta, date, narrative)."""
    body = {k: v for k, v in report.items() if k not in VOLATILE}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
