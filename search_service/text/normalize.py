"""Normalize once, at the edge: :func:`normalize_text` runs on every string that enters
(ingestion or query); everything after it may assume NFC text with one tone-mark style."""

from __future__ import annotations

import re
import unicodedata

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
