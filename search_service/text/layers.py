"""The tokens of each layer of the index, made in one place.

Four layers index every text: ``exact`` (syllables with their diacritics, lowercased, and each
document number's key), ``folded`` (the same without diacritics), ``bigram`` (folded pairs of
neighbouring syllables) and ``word`` (pyvi's multi-syllable words). The index's analyzers
(:mod:`search_service.index.analyzers`) and its fast segment writers both take their tokens
from :func:`layers`, and queries are read with the same :func:`syllables`, :func:`fold_token`
and :func:`segment`: a rule changed here changes indexing and searching together.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from search_service.text.fold import fold_token
from search_service.text.normalize import normalize_text
from search_service.text.segment import is_word, segment
from search_service.text.syllables import syllables_of


@dataclass(frozen=True, slots=True)
class Layers:
    """The syllable layers of one text, as parallel lists.

    ``exact[i]`` and ``folded[i]`` sit at ``positions[i]`` and span ``starts[i]:ends[i]`` of the
    normalized text; a number's key shares the position of its first part and comes just
    before it. ``bigram[j]`` ends with the syllable at ``exact`` index ``bigram_at[j]``.
    """

    exact: list[str]
    folded: list[str]
    positions: list[int]
    starts: list[int]
    ends: list[int]
    keys: list[bool]
    bigram: list[str]
    bigram_at: list[int]


def pairs(folded: list[str]) -> list[str]:
    """The bigram rule: each folded syllable joined to the next (``phuc_loi``)."""
    return [a + "_" + b for a, b in zip(folded, folded[1:])]


@lru_cache(maxsize=16)
def layers(value: str, mode: str = "") -> Layers:
    """The ``exact``, ``folded`` and ``bigram`` layers of ``value`` (cached: the fields of one
    text ask in turn)."""
    return _layers(normalize_text(value), mode)


def _layers(normalized: str, mode: str) -> Layers:
    exact, positions, starts, ends, keys, plain, plain_at = [], [], [], [], [], [], []
    for position, (text, start, end, key) in enumerate(syllables_of(normalized, mode)):
        if key is not None:
            exact.append(key.lower())
            positions.append(position)
            starts.append(start)
            ends.append(end)
            keys.append(True)
        plain_at.append(len(exact))
        exact.append(text.lower())
        positions.append(position)
        starts.append(start)
        ends.append(end)
        keys.append(False)
    folded = list(map(fold_token, exact))
    plain = [folded[i] for i in plain_at]
    return Layers(exact, folded, positions, starts, ends, keys, pairs(plain), plain_at[1:])


def word_tokens(value: str) -> list[tuple[str, int]]:
    """The ``word`` layer: ``(word, position)`` for pyvi's words of two or more syllables,
    lowercased; a position counts every segmented token."""
    return [(w.lower(), position)
            for position, w in enumerate(segment(normalize_text(value)).split()) if is_word(w)]


def index_layers(value: str) -> dict[str, list]:
    """Every layer of ``value`` at indexing time, computed together for the fast writers.

    ``exact``, ``bigram``, ``word``: token texts in order; ``folded``: ``(text, position)``.
    """
    normalized = normalize_text(value)
    got = _layers(normalized, "")
    words = [w.lower() for w in segment(normalized).split() if is_word(w)]
    return {"exact": got.exact, "folded": list(zip(got.folded, got.positions)),
            "bigram": got.bigram, "word": words}
