"""Name normalisation shared by the table and the mentions: one spelling per concept for comparison.

Full-width ASCII, brackets, Roman numerals and Chinese numerals before 级/度/型/期 and whitespace vary
between clinicians and the table (``心功能Ⅳ级（NYHA分级）`` vs ``心功能IV级(NYHA分级)``).

>>> normalise_name("心功能Ⅳ级（NYHA分级）")
'心功能4级(nyha分级)'
>>> normalise_name("三度房室传导阻滞") == normalise_name("Ⅲ度房室传导阻滞")
True
"""

from __future__ import annotations

import re

_FULL = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_ROMAN_CHARS = {"Ⅰ": "1", "Ⅱ": "2", "Ⅲ": "3", "Ⅳ": "4", "Ⅴ": "5", "Ⅵ": "6"}
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8"}
_CN_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5"}
_ROMAN_BEFORE = re.compile(r"(?<![a-z])(iv|v?i{1,3}|v)(?=[级度型期])")
_CN_BEFORE = re.compile(r"([一二三四五])(?=[级度期])")
_CN_TYPE = re.compile(r"(?<![单])([一二])(?=型)")
_SPACE = re.compile(r"[\s\u3000]+")
_DASHES = re.compile(r"[－—–~～]+")


def normalise_name(text: str) -> str:
    text = text.translate(_FULL)
    for k, v in _ROMAN_CHARS.items():
        text = text.replace(k, v)
    text = _SPACE.sub("", text).lower()
    text = text.replace("【", "[").replace("】", "]").replace("［", "[").replace("］", "]")
    text = _DASHES.sub("-", text).replace("伴有", "伴")
    text = _ROMAN_BEFORE.sub(lambda m: _ROMAN[m.group(1)], text)
    text = _CN_BEFORE.sub(lambda m: _CN_DIGITS[m.group(1)], text)
    return _CN_TYPE.sub(lambda m: _CN_DIGITS[m.group(1)], text)


def bigrams(text: str) -> list[str]:
    """Character bigrams (a single character is its own unigram).

    >>> bigrams("心衰")
    ['心衰']
    """
    return [text[i : i + 2] for i in range(len(text) - 1)] or ([text] if text else [])
