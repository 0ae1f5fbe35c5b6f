"""Measurement period parsing for ``$evaluate-measure``: dates, partial dates or dateTimes."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fhir_ops.errors import BadRequest

_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime

    def fqm_start(self) -> str:
        return _iso_ms(self.start)

    def fqm_end(self) -> str:
        return _iso_ms(self.end)

    def fhir(self) -> dict[str, str]:
        """The MeasureReport ``period``."""
        return {"start": _iso_s(self.start), "end": _iso_s(self.end)}


def _iso_ms(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _iso_s(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_bound(text: str, *, end: bool, name: str) -> datetime:
    """Parse a period bound; partial dates widen to the start or the end of what they name.

    >>> parse_bound("2024", end=False, name="periodStart").isoformat()
    '2024-01-01T00:00:00+00:00'
    >>> parse_bound("2024", end=True, name="periodEnd").isoformat()
    '2024-12-31T23:59:59.999000+00:00'
    >>> parse_bound("2024-02", end=True, name="periodEnd").day
    29
    >>> parse_bound("2024-03-05T08:00:00+08:00", end=False, name="periodStart").hour
    0
    """
    text = text.strip()
    match = _PARTIAL.match(text)
    try:
        if match:
            year = int(match.group(1))
            month = int(match.group(2) or (12 if end else 1))
            if match.group(3):
                day = int(match.group(3))
            else:
                day = calendar.monthrange(year, month)[1] if end else 1
            moment = datetime(year, month, day, tzinfo=UTC)
            return moment + timedelta(days=1, milliseconds=-1) if end else moment
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"{name}: '{text}' is not a FHIR date or dateTime", expression=[name]) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_period(start: str | None, end: str | None, *, default: dict[str, str] | None = None) -> Period:
    """The measurement period from ``periodStart``/``periodEnd`` (or ``default``, a FHIR Period).

    >>> p = parse_period("2024", "2024")
    >>> p.fhir()
    {'start': '2024-01-01T00:00:00Z', 'end': '2024-12-31T23:59:59Z'}
    """
    default = default or {}
    start = start or default.get("start")
    end = end or default.get("end")
    if not start or not end:
        raise BadRequest("periodStart and periodEnd are required", expression=["periodStart", "periodEnd"])
    period = Period(
        parse_bound(start, end=False, name="periodStart"), parse_bound(end, end=True, name="periodEnd")
    )
    if period.end < period.start:
        raise BadRequest("periodEnd is before periodStart", expression=["periodEnd"])
    return period
