"""FHIR date/dateTime/instant values as half-open ranges of epoch seconds.

A FHIR date has an implicit precision: ``2024`` is the whole year, ``2024-03-05`` the whole day.
Searching compares ranges, so every value becomes ``(low, high)`` with ``high`` exclusive.
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import UTC, datetime, timedelta, timezone

#: Stand-ins for an open end of a Period (kept finite so every database orders them).
MIN_EPOCH = -1.0e12
MAX_EPOCH = 1.0e12

_DATE_RE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<f>\.\d+)?)?(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def parse_range(value: str) -> tuple[float, float]:
    """``(low, high)`` epoch seconds covered by a FHIR date/dateTime/instant string.

    >>> parse_range("2024")[1] - parse_range("2024")[0] == 366 * 86400
    True
    >>> parse_range("2024-01-01T00:00:00Z")
    (1704067200.0, 1704067201.0)
    """
    m = _DATE_RE.match(value.strip())
    if not m:
        raise ValueError(f"not a FHIR date/dateTime: {value!r}")
    year = int(m["y"])
    if year == 0:
        raise ValueError(f"year 0 does not exist: {value!r}")
    if m["m"] is None:
        lo = datetime(year, 1, 1, tzinfo=UTC)
        return lo.timestamp(), _month_end(year, 12)
    month = int(m["m"])
    if m["d"] is None:
        lo = datetime(year, month, 1, tzinfo=UTC)
        return lo.timestamp(), _month_end(year, month)
    day = int(m["d"])
    if m["H"] is None:
        lo = datetime(year, month, day, tzinfo=UTC)
        return lo.timestamp(), lo.timestamp() + 86400.0
    tz = UTC
    if m["tz"] and m["tz"] != "Z":
        sign = 1 if m["tz"][0] == "+" else -1
        hours, minutes = int(m["tz"][1:3]), int(m["tz"][4:6])
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    second = int(m["S"] or 0)
    frac = float(m["f"]) if m["f"] else 0.0
    lo = datetime(year, month, day, int(m["H"]), int(m["M"]), second, tzinfo=tz)
    step = 60.0 if m["S"] is None else 1.0
    start = lo.timestamp() + frac
    return start, (lo.timestamp() + step if not m["f"] else start + 0.001)


def _month_end(year: int, month: int) -> float:
    """Epoch seconds where ``month`` of ``year`` ends (by arithmetic: 9999-12 ends in year 10000, which
    ``datetime`` cannot represent).

    >>> _month_end(9999, 12) - _month_end(9999, 11) == 31 * 86400
    True
    """
    return datetime(year, month, 1, tzinfo=UTC).timestamp() + monthrange(year, month)[1] * 86400.0


def period_range(period: dict[str, str]) -> tuple[float, float]:
    """Range of a FHIR Period; a missing start or end is open."""
    lo = parse_range(period["start"])[0] if period.get("start") else MIN_EPOCH
    hi = parse_range(period["end"])[1] if period.get("end") else MAX_EPOCH
    return lo, hi


def now_instant() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
