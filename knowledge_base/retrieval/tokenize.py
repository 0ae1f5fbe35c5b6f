"""Chinese tokenisation for BM25: jieba search-mode tokens, lower-cased, punctuation and stop words dropped.

A private :class:`jieba.Tokenizer` is used so that words other modules add to jieba's global dictionary do
not change the index (its version depends on :data:`TOKENIZER_VERSION` only).

>>> tokens("房颤患者CHA2DS2-VASc评分")
['房颤', 'cha2ds2', 'vasc', '评分']
"""

from __future__ import annotations

import logging
import re
import threading

import jieba

#: Bump when the tokenisation changes: it is part of the knowledge-base version.
TOKENIZER_VERSION = "jieba-0.42.1/search/1"

_STOPWORDS = frozenset(
    "的 了 是 在 和 与 或 及 等 为 有 无 被 对 中 后 前 时 其 该 之 以 由 于 并 且 也 则 如 若 将 已 未 "
    "不 否 这 那 个 一 true false 患者 病历 是否".split()
)
_WORD = re.compile(r"\w", re.UNICODE)
_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def _jieba() -> jieba.Tokenizer:
    global _tokenizer  # noqa: PLW0603 - lazily built singleton, jieba's dictionary takes ~1 s to load
    with _lock:
        if _tokenizer is None:
            jieba.setLogLevel(logging.WARNING)
            tok = jieba.Tokenizer()
            tok.initialize()
            _tokenizer = tok
        return _tokenizer


def tokens(text: str) -> list[str]:
    """BM25 tokens of ``text`` (search mode: long words and their sub-words both count)."""
    out: list[str] = []
    for word in _jieba().cut_for_search(text):
        w = word.strip().lower()
        if w and _WORD.search(w) and w not in _STOPWORDS:
            out.append(w)
    return out
