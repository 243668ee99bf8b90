"""Snippets with query terms in ``<mark>``: everything else from the document is escaped.

Matches are found in the text folded (lowercase, no diacritics: :func:`fold_text`, which keeps
every character in its place, so a span found there is the same span of the text) by one
regular expression of plain folded syllables, linear in the text and run in C; a snippet reads
a bounded beginning of the text: no document, however large, and no query can make a result
list slow.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import islice

import numpy as np
from markupsafe import escape

from search_service.text.fold import fold

MAX_CHARS = 240      # a snippet never grows past this, whatever the text holds
# A snippet is looked for in the beginning of a long text only, so its cost is bounded
# whatever the document's size (a passage past this is rarely the best one anyway).
SCAN_CHARS = 30_000
SCAN_MATCHES = 200
CONTEXT = 3          # syllables shown before the first match
_WORD = r"[^\W_]"
_WORD_CHAR = re.compile(_WORD)
_SYLLABLE = re.compile(_WORD + "+")
_NON_SPACE = re.compile(r"\S")


def _fold_codes() -> np.ndarray:
    """For each code point below U+1F00 (Latin, Vietnamese included, Greek, Cyrillic): the
    code of its lowercase folded form where that is one character, else its own."""
    codes = np.arange(0x1F00, dtype=np.uint32)
    for code in range(0x20, 0x1F00):
        folded = fold(chr(code).lower()).lower()
        if len(folded) == 1:
            codes[code] = ord(folded)
    return codes


_FOLD_CODES = _fold_codes()


def fold_text(text: str) -> str:
    """``text`` lowercase and without diacritics, each character in its place (a character
    that would fold to more than one, or none, is kept as it is).

    A table lookup per character over the text's UTF-32 code units: six times faster than
    ``str.translate`` with a table, which looks each character up in a dict.

    >>> fold_text("Phòng CHÁY, Đường số 5")
    'phong chay, duong so 5'
    """
    if text.isascii():
        return text.lower()
    # surrogatepass: a lone surrogate (text decoded from broken UTF-16) stays in its place
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    low = codes < len(_FOLD_CODES)
    folded = np.where(low, _FOLD_CODES[np.where(low, codes, 0)], codes)
    return folded.tobytes().decode("utf-32-le", "surrogatepass")


@lru_cache(maxsize=1024)
def _pattern(terms: frozenset[str], numbers: frozenset[str]) -> re.Pattern | None:
    """In folded text: whole syllables that are one of ``terms``, and document numbers with
    one of the canonical keys ``numbers`` (``15-nq-du``) printed in any separator style."""
    alternatives = [re.escape(term) for term in sorted(terms, key=lambda t: (-len(t), t))
                    if term]
    for key in sorted(numbers, key=lambda k: (-len(k), k)):
        parts = ["0*" + p if p.isdigit() else re.escape(p) for p in key.split("-") if p]
        if parts:
            alternatives.append(r"[\s/.\-–]*".join(parts))
    if not alternatives:
        return None
    # Not preceded by a letter either: :func:`word_matches` checks that, much faster.
    return re.compile(rf"(?:{'|'.join(alternatives)})(?!{_WORD})")


def word_matches(pattern: re.Pattern, text: str, end: int | None = None):
    """Spans of the matches of ``pattern`` in ``text[:end]`` that do not start right after a
    letter or digit: what ``finditer`` gives for the same pattern behind a lookbehind for
    that, found without it, since a leading lookbehind keeps the regular expression engine
    from skipping ahead to the letters a match can start with (scanning was 2.5× slower).

    >>> list(word_matches(re.compile("loi"), "loi, Xloi loi"))
    [(0, 3), (10, 13)]
    """
    end = len(text) if end is None else end
    pos = 0
    while True:
        found = pattern.search(text, pos, end)
        if found is None:
            return
        start, stop = found.span()
        if start and _WORD_CHAR.match(text, start - 1):
            pos = start + 1          # a match may still start later inside this one
            continue
        yield start, stop
        pos = stop if stop > start else stop + 1


@lru_cache(maxsize=4096)
def term_pattern(term: str) -> re.Pattern:
    """One folded syllable, whole, in folded text (see :func:`_pattern`)."""
    return re.compile(re.escape(term) + rf"(?!{_WORD})")


def _matches(text: str, terms, numbers=(), end: int | None = None,
             most: int | None = None) -> list[tuple[int, int]]:
    """Spans of the matches in ``text[:end]``, the first ``most`` of them (``text`` folded,
    see :func:`fold_text`).

    Without number keys, each syllable is looked for on its own and the spans merged: a
    match is a whole run of letters, so the matches of different syllables never overlap and
    the merge is what one pattern of them all finds, while a syllable's pattern is compiled
    once per process and scanned with the regex engine skipping ahead to its first letter."""
    terms = [t for t in terms if t]
    if not numbers and all(_SYLLABLE.fullmatch(t) for t in terms):
        spans = {span for term in terms
                 for span in islice(word_matches(term_pattern(term), text, end), most)}
        return sorted(spans)[:most]
    pattern = _pattern(frozenset(terms), frozenset(numbers))
    if pattern is None:
        return []
    return list(islice(word_matches(pattern, text, end), most))


def mark(text: str, terms: set[str], numbers=()) -> str:
    """The whole ``text`` escaped, with every syllable of ``terms`` (folded) marked.

    >>> mark("Phúc Lợi <b>", {"phuc"})
    '<mark>Phúc</mark> Lợi &lt;b&gt;'
    >>> mark("Theo Nghị quyết 15-NQ/ĐU, đủ điều kiện", set(), ["15-nq-du"])
    'Theo Nghị quyết <mark>15-NQ/ĐU</mark>, đủ điều kiện'
    """
    return _render(text, 0, len(text), _matches(fold_text(text), terms, numbers))


def snippet(text: str, terms: set[str], numbers=()) -> str:
    """The passage of ``text`` that holds the most distinct query terms, marked and escaped.

    >>> snippet("Mở đầu. " * 40 + "Phòng cháy, chữa cháy.", {"phong", "chay"})
    '… đầu. Mở đầu. <mark>Phòng</mark> <mark>cháy</mark>, chữa <mark>cháy</mark>.'
    """
    folded = fold_text(text[:SCAN_CHARS])
    spans = _matches(folded, terms, numbers, SCAN_CHARS, SCAN_MATCHES)
    start = _context_start(text, _best_start(folded, spans)) if spans else 0
    end = min(len(text), start + MAX_CHARS)
    if end < len(text):                   # end on a word boundary
        cut = text.rfind(" ", start, end + 1)
        end = cut if cut > start else end
    shown = [(s, e) for s, e in spans if start <= s and e <= end]
    html = _render(text, start, end, shown).strip()
    prefix = "… " if _NON_SPACE.search(text, 0, start) else ""
    suffix = " …" if _NON_SPACE.search(text, end) else ""
    return prefix + html + suffix


def _best_start(folded: str, spans: list[tuple[int, int]]) -> int:
    """Start of the first match of the window (``MAX_CHARS``) with the most distinct terms
    (then the most matches): two pointers over the matches, so linear in their number."""
    keys = [folded[s:e] for s, e in spans]
    counts: dict[str, int] = {}
    best, best_score, last = spans[0][0], -1.0, 0
    for first, (start, _) in enumerate(spans):
        while last < len(spans) and spans[last][1] - start <= MAX_CHARS:
            counts[keys[last]] = counts.get(keys[last], 0) + 1
            last += 1
        score = len(counts) + 0.01 * (last - first)
        if score > best_score:
            best, best_score = start, score
        if last > first:
            counts[keys[first]] -= 1
            if not counts[keys[first]]:
                del counts[keys[first]]
        else:
            last = first + 1
    return best


def _context_start(text: str, start: int) -> int:
    """A little context before the first match: up to ``CONTEXT`` syllables."""
    offset = max(0, start - 60)
    starts = [m.start() for m in _SYLLABLE.finditer(text, offset, start)]
    if offset and starts and starts[0] == offset:
        starts = starts[1:]               # possibly the tail of a cut syllable
    if not starts:
        return start
    return starts[-CONTEXT] if len(starts) >= CONTEXT else starts[0]


def _render(text: str, start: int, end: int, spans) -> str:
    out, cursor = [], start
    for s, e in spans:
        out.append(str(escape(text[cursor:s])))
        out.append("<mark>" + str(escape(text[s:e])) + "</mark>")
        cursor = e
    out.append(str(escape(text[cursor:end])))
    return "".join(out).replace("\n", " ")
