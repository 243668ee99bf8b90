"""Syllables: the unit every layer of the index and every query is made of."""

from __future__ import annotations

import re
from functools import lru_cache

from search_service.text import numbers
from search_service.text.normalize import normalize_text

SYLLABLE_RE = re.compile(r"[^\W_]+")


def _number_matches(text: str, mode: str):
    if "/" not in text and "-" not in text and mode != "query":
        return []
    if mode == "query":
        return numbers.query_doc_numbers(text)
    return numbers.find_doc_numbers(text)


@lru_cache(maxsize=16)
def syllables(value: str, mode: str = "") -> tuple:
    """``(text, start, end, number_key_or_None)`` for each syllable of ``value``.

    ``mode="query"`` also reads loosely typed numbers (``15 nq du``). Cached: the same text is
    analyzed for several fields (exact, folded, bigrams).
    """
    return syllables_of(normalize_text(value), mode)


def syllables_of(text: str, mode: str = "") -> tuple:
    """:func:`syllables` of text already normalized."""
    keys = {m.start: m.key for m in _number_matches(text, mode)}
    return tuple((m.group(), m.start(), m.end(), keys.get(m.start()))
                 for m in SYLLABLE_RE.finditer(text))
