"""Snippets with query terms in ``<mark>``: everything else from the document is escaped."""

from __future__ import annotations

from markupsafe import escape

from search_service.analysis import fold_token, syllables

WINDOW = 36        # syllables in a snippet
MAX_CHARS = 240    # a snippet never grows past this, whatever the text holds


def _matches(text: str, terms: set[str]):
    return [(start, end) for s, start, end, _ in syllables(text) if fold_token(s.lower()) in terms]


def mark(text: str, terms: set[str]) -> str:
    """The whole ``text`` escaped, with every syllable of ``terms`` (folded) marked.

    >>> mark("Phúc Lợi <b>", {"phuc"})
    '<mark>Phúc</mark> Lợi &lt;b&gt;'
    """
    return _render(text, 0, len(text), _matches(text, terms))


def snippet(text: str, terms: set[str], window: int = WINDOW) -> str:
    """The passage of ``text`` that holds the most distinct query terms, marked and escaped."""
    tokens = syllables(text)
    if not tokens:
        return ""
    hits = [i for i, (s, _, _, _) in enumerate(tokens) if fold_token(s.lower()) in terms]
    best = _best_window(tokens, hits, window)
    first, last = best, min(best + window, len(tokens)) - 1
    start, end = tokens[first][1], tokens[last][2]
    if end - start > MAX_CHARS:
        end = start + MAX_CHARS
    spans = [(tokens[i][1], tokens[i][2]) for i in hits if first <= i <= last and tokens[i][2] <= end]
    html = _render(text, start, end, spans)
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text.rstrip()) else ""
    return prefix + html + suffix


def _best_window(tokens, hits: list[int], window: int) -> int:
    """Index of the first syllable of the window with the most distinct matched terms."""
    if not hits:
        return 0
    best, best_score = hits[0], -1.0
    for i, first in enumerate(hits):
        inside = [h for h in hits[i:] if h < first + window]
        distinct = {fold_token(tokens[h][0].lower()) for h in inside}
        score = len(distinct) + 0.01 * len(inside)
        if score > best_score:
            best, best_score = first, score
    return max(0, best - 3)   # a little context before the first match


def _render(text: str, start: int, end: int, spans) -> str:
    out, cursor = [], start
    for s, e in spans:
        out.append(str(escape(text[cursor:s])))
        out.append("<mark>" + str(escape(text[s:e])) + "</mark>")
        cursor = e
    out.append(str(escape(text[cursor:end])))
    return "".join(out).replace("\n", " ")
