"""Pictures of indicator rates for a quality meeting: rates per month, met / not met / needs review.

SVG is written directly (text stays text, so Chinese titles render wherever the SVG is shown); PNG is
drawn with matplotlib when it is installed (``pip install 'medqc[charts]'``). The HTML report is one
self-contained page: the figures, the monthly table and the SVG inline.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from medqc.report_view import Rate

MET, NOT_MET, REVIEW, LINE = "#2e7d32", "#c62828", "#f9a825", "#1565c0"
LEGEND = (("符合", MET), ("不符合", NOT_MET), ("待复核", REVIEW))
WIDTH, HEIGHT = 760, 380
LEFT, RIGHT, TOP, BOTTOM = 56, 56, 64, 64


@dataclass(frozen=True, slots=True)
class MonthRate:
    month: str  # YYYY-MM
    rate: Rate


@dataclass(frozen=True, slots=True)
class RateSeries:
    """What a chart shows: the indicator, the whole period's figures and the figures per month."""

    title: str
    measure_id: str
    period: str
    total: Rate
    months: Sequence[MonthRate]


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def svg(series: RateSeries) -> str:
    """Stacked bars per month (met, not met, needs review; left axis: discharges) and the rate
    (right axis, %) as a line with its value at each month that has cases."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    months = list(series.months) or [MonthRate(series.period, series.total)]
    top = max([1, *(m.rate.denominator for m in months)])
    slot = plot_w / len(months)
    bar = min(48.0, slot * 0.6)
    y0 = TOP + plot_h
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="24" font-size="16" font-weight="bold">{_esc(series.title)}</text>',
        f'<text x="{LEFT}" y="44" fill="#555">{_esc(series.measure_id)} · {_esc(series.period)} · '
        f"率 {series.total.percent()}（{series.total.numerator}/{series.total.denominator}，待复核 "
        f"{series.total.needs_review}）</text>",
    ]
    for tick in range(0, 101, 25):  # rate axis (right) and grid
        y = y0 - plot_h * tick / 100
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT + plot_w + 6}" y="{y + 4:.1f}" fill="{LINE}">{tick}%</text>')
    for tick in sorted({0, top // 2, top}):  # discharges axis (left)
        y = y0 - plot_h * tick / top
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{tick}</text>')
    mid = TOP + plot_h / 2
    out.append(
        f'<text x="16" y="{mid:.0f}" fill="#555" transform="rotate(-90 16 {mid:.0f})" '
        'text-anchor="middle">出院病例数</text>'
    )
    points: list[tuple[float, float, str]] = []
    for i, month in enumerate(months):
        x = LEFT + slot * i + (slot - bar) / 2
        y = y0
        for value, color in zip(month.rate.split(), (MET, NOT_MET, REVIEW), strict=True):
            if value:
                h = plot_h * value / top
                y -= h
                out.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{color}"/>'
                )
        out.append(
            f'<text x="{x + bar / 2:.1f}" y="{y0 + 18}" text-anchor="middle">{_esc(month.month)}</text>'
        )
        if month.rate.rate is not None:
            points.append((x + bar / 2, y0 - plot_h * month.rate.rate, month.rate.percent()))
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>')
        for x, y, label in points:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{LINE}"/>')
            out.append(f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" fill="{LINE}">{label}</text>')
    legend = [*LEGEND, ("率", LINE)]
    for i, (label, color) in enumerate(legend):
        x = LEFT + i * 90
        out.append(f'<rect x="{x}" y="{HEIGHT - 24}" width="12" height="12" fill="{color}"/>')
        out.append(f'<text x="{x + 18}" y="{HEIGHT - 14}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def png(series: RateSeries, path: Path) -> None:
    """The same chart as a PNG with matplotlib. Chinese labels need a CJK font; without one the chart
    is labelled with the Measure id and English words rather than with boxes."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import font_manager
        from matplotlib import pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError as exc:
        raise RuntimeError(
            "a PNG chart needs matplotlib (pip install 'medqc[charts]'); .svg needs nothing"
        ) from exc
    cjk = {
        "Noto Sans CJK SC",
        "Noto Sans SC",
        "WenQuanYi Zen Hei",
        "Source Han Sans SC",
        "SimHei",
        "Microsoft YaHei",
    }
    fonts = sorted(cjk & {f.name for f in font_manager.fontManager.ttflist})
    labels = ("符合", "不符合", "待复核", "率") if fonts else ("met", "not met", "needs review", "rate")
    if fonts:
        plt.rcParams["font.family"] = fonts[0]
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # weight fallbacks
    months = list(series.months) or [MonthRate(series.period, series.total)]
    fig, ax = plt.subplots(figsize=(WIDTH / 100, HEIGHT / 100), dpi=100)
    names = [m.month for m in months]
    bottom = [0] * len(months)
    for part, color, label in zip(range(3), (MET, NOT_MET, REVIEW), labels, strict=False):
        values = [m.rate.split()[part] for m in months]
        ax.bar(names, values, bottom=bottom, color=color, label=label, width=0.6)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    rates = ax.twinx()
    shown = [(m.month, m.rate.rate * 100) for m in months if m.rate.rate is not None]
    if shown:
        rates.plot([n for n, _ in shown], [r for _, r in shown], color=LINE, marker="o", label=labels[3])
    rates.set_ylim(0, 105)
    rates.set_ylabel("%")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(series.title if fonts else series.measure_id, loc="left")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_chart(series: RateSeries, path: Path) -> None:
    """``path`` ending in .svg or .png."""
    suffix = path.suffix.lower()
    if suffix == ".svg":
        path.write_text(svg(series), encoding="utf-8")
    elif suffix == ".png":
        png(series, path)
    else:
        raise ValueError(f"--chart {path}: the file must end in .svg or .png")


def html_report(series: RateSeries) -> str:
    """One self-contained page for a quality meeting."""
    rows = "\n".join(
        f"<tr><td>{_esc(m.month)}</td><td>{m.rate.numerator}</td><td>{m.rate.denominator}</td>"
        f"<td>{m.rate.percent()}</td><td>{m.rate.needs_review}</td></tr>"
        for m in series.months
    )
    total = series.total
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{_esc(series.title)} · {_esc(series.period)}</title>
<style>body{{font-family:sans-serif;margin:2rem;max-width:60rem}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3rem .8rem;text-align:right}}
th:first-child,td:first-child{{text-align:left}}</style>
</head><body>
<h1>{_esc(series.title)}</h1>
<p>{_esc(series.measure_id)} · 出院日期 {_esc(series.period)}</p>
<p><strong>率 {total.percent()}</strong>：分子 {total.numerator} / 分母 {total.denominator}；
其中待复核（结论依赖病历未记录的事实）{total.needs_review} 例。</p>
{svg(series)}
<table><thead><tr><th>月份</th><th>分子</th><th>分母</th><th>率</th><th>待复核</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<p>由 MedQC <code>medqc evaluate</code> 生成：与
<code>Measure/{_esc(series.measure_id)}/$evaluate-measure</code>（reportType=population）同一计算。</p>
</body></html>
"""
