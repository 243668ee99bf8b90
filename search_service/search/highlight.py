"""Snippets with query terms in ``<mark>``: everything else from the document is escaped.

Matches are found by one regular expression per query (each folded letter stands for every
letter that folds to it), so finding them is linear in the text and runs in C, and a snippet
reads a bounded beginning of the text: no document, however large, and no query can make a
result list slow.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import islice

from markupsafe import escape

from search_service.text.fold import fold, fold_token

MAX_CHARS = 240      # a snippet never grows past this, whatever the text holds
# A snippet is looked for in the beginning of a long text only, so its cost is bounded
# whatever the document's size (a passage past this is rarely the best one anyway).
SCAN_CHARS = 30_000
SCAN_MATCHES = 200
CONTEXT = 3          # syllables shown before the first match
_WORD = r"[^\W_]"
_WORD_CHAR = re.compile(_WORD)
_WORD_RUN = re.compile(_WORD + "+")
_SYLLABLE = re.compile(_WORD + "+")
_NON_SPACE = re.compile(r"\S")

# Every letter that folds to a given one (NFC text: one character folds to one character).
_VARIANTS: dict[str, set[str]] = {}
for _char in map(chr, range(0x20, 0x1F00)):
    _folded = fold(_char.lower()).lower()
    if len(_folded) == 1:
        _VARIANTS.setdefault(_folded, set()).add(_char)


def _char_class(folded: str) -> str:
    variants = _VARIANTS.get(folded, {folded})
    return "[" + "".join(re.escape(v) for v in sorted(variants)) + "]"


def any_accents(folded: str) -> str:
    """A regular expression matching every way of writing the folded ``folded`` (any case,
    any diacritics) in NFC text: ``phuc`` matches ``Phúc``, ``PHỤC``, ``phuc``."""
    return "".join(_char_class(c) for c in folded)


@lru_cache(maxsize=1024)
def _pattern(terms: frozenset[str], numbers: frozenset[str]) -> re.Pattern | None:
    """Whole syllables folding to one of ``terms``, and document numbers with one of the
    canonical keys ``numbers`` (``15-nq-du``) printed in any separator style."""
    alternatives = [any_accents(term) for term in sorted(terms, key=lambda t: (-len(t), t)) if term]
    for key in sorted(numbers, key=lambda k: (-len(k), k)):
        parts = ["0*" + p if p.isdigit() else any_accents(p) for p in key.split("-") if p]
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
    """One folded syllable, whole (see :func:`_pattern`)."""
    return re.compile(any_accents(term) + rf"(?!{_WORD})")


def _matches(text: str, terms, numbers=(), end: int | None = None,
             most: int | None = None) -> list[tuple[int, int]]:
    """Spans of the matches in ``text[:end]``, the first ``most`` of them.

    Without number keys, each syllable is looked for on its own and the spans merged: a
    match is a whole run of letters, so the matches of different syllables never overlap and
    the merge is what one pattern of them all finds; but a syllable's pattern is compiled once
    per process (a question's pattern of 15 syllables took 20 ms to compile, for every new
    question) and scanned with the regex engine skipping ahead to its first letter."""
    terms = [t for t in terms if t]
    if not numbers and all(_WORD_RUN.fullmatch(t) for t in terms):
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
    return _render(text, 0, len(text), _matches(text, terms, numbers))


def snippet(text: str, terms: set[str], numbers=()) -> str:
    """The passage of ``text`` that holds the most distinct query terms, marked and escaped.

    >>> snippet("Mở đầu. " * 40 + "Phòng cháy, chữa cháy.", {"phong", "chay"})
    '… đầu. Mở đầu. <mark>Phòng</mark> <mark>cháy</mark>, chữa <mark>cháy</mark>.'
    """
    spans = _matches(text, terms, numbers, SCAN_CHARS, SCAN_MATCHES)
    start = _context_start(text, _best_start(text, spans)) if spans else 0
    end = min(len(text), start + MAX_CHARS)
    if end < len(text):                   # end on a word boundary
        cut = text.rfind(" ", start, end + 1)
        end = cut if cut > start else end
    shown = [(s, e) for s, e in spans if start <= s and e <= end]
    html = _render(text, start, end, shown).strip()
    prefix = "… " if _NON_SPACE.search(text, 0, start) else ""
    suffix = " …" if _NON_SPACE.search(text, end) else ""
    return prefix + html + suffix


def _best_start(text: str, spans: list[tuple[int, int]]) -> int:
    """Start of the first match of the window (``MAX_CHARS``) with the most distinct terms
    (then the most matches): two pointers over the matches, so linear in their number."""
    keys = [fold_token(text[s:e].lower()) for s, e in spans]
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
