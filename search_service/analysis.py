"""Vietnamese text normalization and the Whoosh analyzers built on it.

Normalize once, at the edge: :func:`normalize_text` runs on every string that enters
(ingestion or query); everything after it may assume NFC text with one tone-mark style.
"""

from __future__ import annotations

import re
import unicodedata

# Whoosh-free helpers first: ingestion and the web layer use them without the index.

_CHAR_MAP = str.maketrans({
    "\u00d0": "\u0110",   # Icelandic Eth, a common look-alike of Đ in legacy documents
    "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u200b": "", "\ufeff": "",
    "\u2013": "-", "\u2014": "-", "\u2011": "-", "\u2212": "-", "\u2010": "-",
})

# Old-style tone placement (hoà, khoẻ, thuỷ) becomes the style most of the corpus uses
# (hòa, khỏe, thủy). Only open syllables ending in oa/oe/uy vary; "qu" is a consonant,
# so "quý" keeps its mark on y.
_VOWEL_TONES = {
    "a": "àáảãạ", "e": "èéẻẽẹ", "y": "ỳýỷỹỵ", "o": "òóỏõọ", "u": "ùúủũụ",
}


def _tone_pairs() -> dict[str, str]:
    pairs = {}
    for first, second in (("o", "a"), ("o", "e"), ("u", "y")):
        for tone in range(5):
            old = first + _VOWEL_TONES[second][tone]
            new = _VOWEL_TONES[first][tone] + second
            for o_case, n_case in ((old, new), (old.upper(), new.upper()),
                                   (old[0].upper() + old[1], new[0].upper() + new[1])):
                pairs[o_case] = n_case
    return pairs


_TONE_PAIRS = _tone_pairs()
# Character classes rather than an alternation of the pairs: the same matches (a case mix
# outside the pairs, "oÀ", is left as it is), several times faster on long texts.
_TONE_RE = re.compile(
    r"(?<![qQ])([oO][" + "".join(sorted({k[1] for k in _TONE_PAIRS if k[0] in "oO"}))
    + r"]|[uU][" + "".join(sorted({k[1] for k in _TONE_PAIRS if k[0] in "uU"})) + r"])(?!\w)"
)
_CHAR_MAP_RE = re.compile("[" + "".join(map(chr, _CHAR_MAP)) + "]")


def normalize_tones(text: str) -> str:
    """Put tone marks in one place.

    >>> normalize_tones("văn hoá, thuỷ lợi, khoẻ, quý, Hoà")
    'văn hóa, thủy lợi, khỏe, quý, Hòa'
    """
    return _TONE_RE.sub(lambda m: _TONE_PAIRS.get(m.group(1), m.group(1)), text)


def normalize_text(text: str) -> str:
    """NFC, look-alike characters mapped, one tone-mark style. Case is kept (pyvi needs it).

    >>> normalize_text("Pho\u0301 cu\u0309a \u00d0a\u0300 Na\u0306\u0303ng\u00a0\u2013 hoa\u0300")
    'Phó của Đà Nẵng - hòa'
    """
    text = unicodedata.normalize("NFC", text)
    if _CHAR_MAP_RE.search(text):       # translate() is slow on long texts: only when needed
        text = text.translate(_CHAR_MAP)
    return normalize_tones(text)


def fold(text: str) -> str:
    """Remove diacritics the way people type without them: ``đ`` becomes ``d``.

    >>> fold("Đường Phúc Lợi")
    'Duong Phuc Loi'
    """
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return stripped.replace("đ", "d").replace("Đ", "D")


# --- Whoosh analyzers --------------------------------------------------------------------
# Classes stay at module level: Whoosh pickles the schema (and so the analyzers) into the index.

from functools import lru_cache  # noqa: E402

from whoosh.analysis import Filter, LowercaseFilter, Token, Tokenizer  # noqa: E402

SYLLABLE_RE = re.compile(r"[^\W_]+")


@lru_cache(maxsize=262144)
def fold_token(token: str) -> str:
    """:func:`fold` for one lowercase token, cached: the vocabulary is small, the calls many."""
    return fold(token)


def _number_matches(text: str, mode: str):
    from search_service import docnumber  # pure module; imported late to keep import order simple

    if "/" not in text and "-" not in text and mode != "query":
        return []
    if mode == "query":
        return docnumber.query_doc_numbers(text)
    return docnumber.find_doc_numbers(text)


@lru_cache(maxsize=16)
def syllables(value: str, mode: str = "") -> tuple:
    """``(text, start, end, number_key_or_None)`` for each syllable of ``value``.

    Cached: the same text is analyzed for several fields (exact, folded, bigrams).
    """
    return _syllables_of(normalize_text(value), mode)


def _syllables_of(text: str, mode: str) -> tuple:
    """:func:`syllables` of text already normalized."""
    keys = {m.start: m.key for m in _number_matches(text, mode)}
    return tuple((m.group(), m.start(), m.end(), keys.get(m.start()))
                 for m in SYLLABLE_RE.finditer(text))


class SyllableTokenizer(Tokenizer):
    """Splits normalized text into syllables; a document number also becomes one key token.

    ``15/NQ-ĐU`` yields the key ``15-nq-du`` (at the position of its first part) followed by
    its parts ``15``, ``NQ``, ``ĐU``, so the number is found whole and by its parts.
    """

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        mode = "query" if mode == "query" else ""
        for offset, (text, start, end, key) in enumerate(syllables(value, mode)):
            pos = start_pos + offset
            if key is not None:
                yield self._emit(token, key, pos, start, end, start_char, True)
            yield self._emit(token, text, pos, start, end, start_char, False)

    @staticmethod
    def _emit(token, text, pos, start, end, start_char, is_key):
        token.text = text
        token.boost = 1.0
        token.stopped = False
        token.is_number_key = is_key
        if token.positions:
            token.pos = pos
        if token.chars:
            token.startchar, token.endchar = start_char + start, start_char + end
        return token


class FoldFilter(Filter):
    """Removes diacritics so ``phuc loi`` and ``Phúc Lợi`` meet (``đ`` → ``d``)."""

    def __call__(self, tokens):
        for t in tokens:
            t.text = fold_token(t.text)
            yield t


class SyllableBigramFilter(Filter):
    """Joins each pair of neighbouring syllables (``phuc_loi``): word-like precision without
    relying on segmentation, which varies with context. Number keys take no part."""

    def __call__(self, tokens):
        previous = None
        for t in tokens:
            if getattr(t, "is_number_key", False):
                continue
            if previous is not None:
                text = t.text
                t.text = previous + "_" + text
                yield t
                t.text = text
            previous = t.text


class VietnameseWordTokenizer(Tokenizer):
    """pyvi word segmentation; yields only multi-syllable words (``hội_nghị``), lowercased.

    pyvi needs the original case and diacritics to join words, so it runs before lowercasing;
    single syllables are left to the syllable fields.
    """

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for word in segment(normalize_text(value)).split():
            if "_" in word and all(part.isalpha() for part in word.split("_")):
                token.text = word.lower()
                token.boost = 1.0
                token.stopped = False
                if positions:
                    token.pos = pos
                yield token
            pos += 1


@lru_cache(maxsize=8)
def segment(text: str) -> str:
    """pyvi's segmentation of ``text``; cached because several fields analyze one text."""
    from search_service.segmenter import default_segmenter

    return default_segmenter().segment(text) if text.strip() else ""


def index_layers(value: str) -> dict[str, list]:
    """What each named analyzer below yields for ``value`` at indexing time, computed together.

    ``exact``, ``bigram``, ``word``: token texts in order; ``folded``: ``(text, position)``.
    Equal to running the analyzers one by one (a test compares them); an ingest analyzes
    every text four times, and the Token pipeline costs more than the work itself.
    """
    normalized = normalize_text(value)
    exact, positions, plain = [], [], []
    for position, (text, _, _, key) in enumerate(_syllables_of(normalized, "")):
        if key is not None:             # a number's key shares its first part's position
            exact.append(key.lower())
            positions.append(position)
        exact.append(text.lower())
        positions.append(position)
        plain.append(fold_token(text.lower()))
    words = [w.lower() for w in segment(normalized).split()
             if "_" in w and all(part.isalpha() for part in w.split("_"))]
    return {"exact": exact, "folded": list(zip(map(fold_token, exact), positions)),
            "bigram": [a + "_" + b for a, b in zip(plain, plain[1:])], "word": words}


# Named analyzers, one per kind of field.

def exact_analyzer():
    """Syllables with their diacritics (one tone style), lowercased: exact matches rank higher.

    Syllables without diacritics are kept too: in a query typed with diacritics, ``trong``
    means ``trong`` and not ``trọng``, and 'did you mean' needs to know how often each is
    written."""
    return SyllableTokenizer() | LowercaseFilter()


def folded_analyzer():
    """Syllables without diacritics: the recall layer (``phuc loi`` finds ``Phúc Lợi``)."""
    return SyllableTokenizer() | LowercaseFilter() | FoldFilter()


def bigram_analyzer():
    """Folded syllable pairs: phrase-like precision that survives missing diacritics."""
    return SyllableTokenizer() | LowercaseFilter() | FoldFilter() | SyllableBigramFilter()


def word_analyzer():
    """pyvi's multi-syllable words, with diacritics."""
    return VietnameseWordTokenizer()
