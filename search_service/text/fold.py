"""Diacritics removed the way people type without them (``đ`` becomes ``d``)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache


def fold(text: str) -> str:
    """Remove diacritics the way people type without them: ``đ`` becomes ``d``.

    >>> fold("Đường Phúc Lợi")
    'Duong Phuc Loi'
    """
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return stripped.replace("đ", "d").replace("Đ", "D")


@lru_cache(maxsize=262144)
def fold_token(token: str) -> str:
    """:func:`fold` for one lowercase token, cached: the vocabulary is small, the calls many."""
    return fold(token)
