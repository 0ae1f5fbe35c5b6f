"""A readable diff between two summary reports: one line per figure (counts and scores), unified."""

from __future__ import annotations

import difflib
from typing import Any


def _label(concept: dict[str, Any]) -> str:
    coding = (concept.get("coding") or [{}])[0]
    return str(concept.get("text") or coding.get("code") or "?")


def _population_lines(prefix: str, element: dict[str, Any]) -> list[str]:
    lines = [
        f"{prefix} {p['code']['coding'][0]['code']} = {p.get('count', 0)}"
        for p in element.get("population") or []
    ]
    if "measureScore" in element:
        lines.append(f"{prefix} score = {element['measureScore'].get('value')}")
    return lines


def figures(report: dict[str, Any]) -> list[str]:
    """The figures of a summary report, one per line.

    >>> figures({"period": {"start": "a", "end": "b"}, "group": [{"id": "main", "population": [
    ...     {"code": {"coding": [{"code": "numerator"}]}, "count": 3}], "measureScore": {"value": 0.5}}]})
    ['period a/b', 'main numerator = 3', 'main score = 0.5']
    """
    period = report.get("period") or {}
    lines = [f"period {period.get('start')}/{period.get('end')}"]
    for group in report.get("group") or []:
        gid = str(group.get("id", "group"))
        lines += _population_lines(gid, group)
        for stratifier in group.get("stratifier") or []:
            name = _label((stratifier.get("code") or [{}])[0])
            for stratum in stratifier.get("stratum") or []:
                lines += _population_lines(f"{gid} [{name}: {_label(stratum.get('value') or {})}]", stratum)
    return lines


def report_diff(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    """Unified diff lines of the figures (everything is new when there is no previous report)."""
    before = figures(previous) if previous is not None else []
    return list(
        difflib.unified_diff(
            before,
            figures(current),
            fromfile="last submission" if previous is not None else "(never submitted)",
            tofile="this submission",
            lineterm="",
            n=0,
        )
    )
