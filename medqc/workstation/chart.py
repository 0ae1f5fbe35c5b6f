"""A server-rendered SVG chart of verdicts over time: one 100 %-stacked bar per month (met, not met,
needs review), the met rate above it. Geometry here, markup in the template (autoescaped)."""

from __future__ import annotations

from dataclasses import dataclass, field

HEIGHT = 160
BAR = 30
GAP = 14
LEFT = 36
TOP = 22
BOTTOM = 34
#: (key, label, colour) from the bottom of a bar up
SERIES = (
    ("met", "达标 met", "#2e7d32"),
    ("not-met", "未达标 not met", "#c62828"),
    ("needs-review", "待审核 needs review", "#f9a825"),
)


@dataclass(slots=True)
class Segment:
    key: str
    label: str
    colour: str
    count: int
    y: float
    height: float


@dataclass(slots=True)
class Bar:
    month: str
    x: float
    total: int
    rate: str
    segments: list[Segment] = field(default_factory=list)


@dataclass(slots=True)
class Chart:
    title: str
    width: float
    height: float
    bars: list[Bar]
    baseline: float
    top: float
    gridlines: list[tuple[float, str]]


def chart(title: str, months: dict[str, dict[str, int]]) -> Chart:
    """The chart of ``months`` (``YYYY-MM`` → verdict → count), months in order.

    >>> c = chart("心内科", {"2026-11": {"met": 1, "not-met": 3}})
    >>> [(s.key, s.count, s.height) for s in c.bars[0].segments], c.bars[0].rate
    ([('met', 1, 40.0), ('not-met', 3, 120.0)], '25%')
    """
    bars: list[Bar] = []
    for index, month in enumerate(sorted(months)):
        counts = months[month]
        total = sum(counts.get(key, 0) for key, _, _ in SERIES)
        bar = Bar(
            month=month,
            x=LEFT + GAP + index * (BAR + GAP),
            total=total,
            rate=f"{round(100 * counts.get('met', 0) / total)}%" if total else "—",
        )
        y = float(TOP + HEIGHT)
        for key, label, colour in SERIES:
            count = counts.get(key, 0)
            if not count:
                continue
            height = HEIGHT * count / total
            y -= height
            bar.segments.append(Segment(key, label, colour, count, round(y, 2), round(height, 2)))
        bars.append(bar)
    width = LEFT + GAP + max(1, len(bars)) * (BAR + GAP) + 10
    grid = [(TOP + HEIGHT * (1 - p / 100), f"{p}%") for p in (0, 50, 100)]
    return Chart(title, width, TOP + HEIGHT + BOTTOM, bars, TOP + HEIGHT, TOP, grid)
