"""Numbers with units after an anchor (NIHSS 3分, LVEF 43%), and durations in hours (胸痛3小时, 2h入院)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_COMPARATOR = r"(?P<cmp>[<>≤≥＜＞]=?|小于|大于|低于|高于|不足|超过|约)?"
_DECIMAL = r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
#: With a unit, a count may also be written in Chinese (十五枚, 二十三枚, 两枚, 十二个): not an ordinal
#: (第二枚), not the tail of a longer numeral, not the adverb 十分 (十分虚弱).
_NUMBER_OR_CN = (
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
    r"|(?<![第零一二两三四五六七八九十百千])(?!十分)[一二两三四五六七八九十]{1,3}(?![百千万]))"
)

_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNIT_HOURS = {
    "分钟": 1 / 60,
    "min": 1 / 60,
    "mins": 1 / 60,
    "小时": 1.0,
    "h": 1.0,
    "hr": 1.0,
    "hrs": 1.0,
    "时": 1.0,
    "天": 24.0,
    "日": 24.0,
    "d": 24.0,
    "晚": 24.0,
    "周": 168.0,
    "星期": 168.0,
    "w": 168.0,
    "月": 720.0,
    "年": 8760.0,
}
_DURATION = re.compile(
    r"(?P<num>\d+(?:\.\d+)?|[零一二两三四五六七八九十半]+)\s*(?P<half>个半)?\s*(?:个)?\s*(?P<approx>多|余)?\s*"
    r"(?P<unit>分钟|mins?|小时|hrs?|h|天|日|d|周|星期|w|个?月|年|晚)(?P<more>余|多|半)?(?![A-Za-z])",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Quantity:
    value: float
    start: int
    end: int
    comparator: str | None = None


def chinese_number(text: str) -> float | None:
    """Small Chinese numerals: 三 → 3, 十二 → 12, 二十 → 20, 半 → 0.5.

    >>> chinese_number("十二"), chinese_number("半"), chinese_number("4.5")
    (12.0, 0.5, 4.5)
    """
    try:
        return float(text)
    except ValueError:
        pass
    if text == "半":
        return 0.5
    if "十" in text:
        tens, _, ones = text.partition("十")
        t = _CN_DIGITS.get(tens, 1) if tens else 1
        o = _CN_DIGITS.get(ones, 0) if ones else 0
        return float(t * 10 + o)
    if len(text) == 1 and text in _CN_DIGITS:
        return float(_CN_DIGITS[text])
    return None


def number_after(
    text: str, pos: int, *, unit: str, max_gap: int, value_pattern: str | None = None, hi: int | None = None
) -> Quantity | None:
    """The first number (with ``unit``) starting within ``max_gap`` characters after ``pos``.

    With a ``unit`` that cannot be empty, a Chinese count reads too (淋巴结十五枚 → 15); a ``value_pattern``
    group holding a Chinese count (``([一二两三四五六七八九十]+|\\d+)``) is read the same way.

    >>> number_after("NIHSS评分：3分，mRS 1分", 5, unit="分", max_gap=12)
    Quantity(value=3.0, start=8, end=9, comparator=None)
    >>> number_after("肠周淋巴结二十三枚", 5, unit="枚", max_gap=12)
    Quantity(value=23.0, start=5, end=8, comparator=None)
    """
    stop = pos + max_gap + 12 if hi is None else min(hi, pos + max_gap + 12)
    window = text[pos:stop]
    if not unit:
        default = rf"{_COMPARATOR}\s*{_DECIMAL}"
    elif re.fullmatch(f"(?:{unit})", "") is None:  # a unit that must be written: Chinese counts too
        default = rf"{_COMPARATOR}\s*{_NUMBER_OR_CN}\s*(?:{unit})"
    else:
        default = rf"{_COMPARATOR}\s*{_DECIMAL}\s*(?:{unit})"
    pattern = value_pattern or default
    m = re.search(pattern, window, re.IGNORECASE)
    if m is None or m.start() > max_gap:
        return None
    group = "num" if "num" in m.groupdict() else 1
    raw = m.group(group) or ""
    value = parse_number(raw)
    if value is None and re.fullmatch(r"[一二两三四五六七八九十]{1,3}", raw):
        value = chinese_number(raw)
    if value is None:
        return None
    cmp_ = m.groupdict().get("cmp")
    return Quantity(value, pos + m.start(group), pos + m.end(group), cmp_ or None)


def parse_number(text: str) -> float | None:
    """A decimal written with ASCII or full-width characters; None when it is not a number.

    >>> parse_number("0．7"), parse_number("１２"), parse_number("3-4"), parse_number("1,500")
    (0.7, 12.0, None, 1500.0)
    """
    text = unicodedata.normalize("NFKC", text).strip()
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", text):
        text = text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Duration:
    hours: float
    start: int
    end: int


def durations(text: str, lo: int = 0, hi: int | None = None) -> list[Duration]:
    """Every duration in ``text[lo:hi]`` converted to hours.

    >>> [d.hours for d in durations("反复胸痛1周，加重半天，2h于1月2日入院，90分钟")]
    [168.0, 12.0, 2.0, 1.5]
    >>> [d.hours for d in durations("胸痛1天余，十余小时，3小时多")]
    [36.0, 10.5, 3.5]
    """
    out: list[Duration] = []
    for m in _DURATION.finditer(text, lo, len(text) if hi is None else hi):
        number = chinese_number(m.group("num"))
        unit = m.group("unit").lower().lstrip("个")
        if number is None or unit not in _UNIT_HOURS:
            continue
        if unit in {"日", "月"} and re.search(r"[年月]\s*$", text[max(0, m.start() - 2) : m.start()]):
            continue  # a date (1月2日), not a duration
        if unit == "月" and re.match(r"\s*\d{1,2}\s*[日号]", text[m.end() : m.end() + 4]):
            continue
        if m.group("half") or m.group("more") == "半":
            number += 0.5
        elif m.group("approx") or m.group("more"):  # 1天余, 十余小时: more than N units, read as N + ½
            number += 0.5
        out.append(Duration(number * _UNIT_HOURS[unit], m.start(), m.end()))
    return out
