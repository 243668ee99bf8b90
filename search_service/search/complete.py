"""Completion while typing: document numbers, document types and categories, titles.

Everything is taken from the documents the reader may see (a :class:`~ranking.Scope`) and
ordered by statistics of those documents alone, like every score.
"""

from __future__ import annotations

import numpy as np

from search_service.text.fold import fold
from search_service.text.numbers import canonical
from search_service.search.query import parse_query
from search_service.search.ranking import Clause, Plan

MIN_PREFIX = 2          # a last syllable this long is completed; a shorter one must be whole
MAX_EXPANSIONS = 200    # words completing the last syllable that are looked at
MAX_FACET_ITEMS = 2     # types and categories offered at most


def complete(col, scope, prefix: str, limit: int) -> list[dict]:
    """``[{"text", "kind", "id"}]``: numbers (``kind="number"``), then types and categories
    (``"type"``, ``"category"``; no id: they stand for a filtered search), then titles
    (``"document"``), at most ``limit`` in all."""
    items = _numbers(col, scope, prefix, limit)
    items += _facet_values(col, scope, prefix)[:max(0, min(MAX_FACET_ITEMS, limit - len(items)))]
    items += _titles(col, scope, prefix, limit - len(items))
    return items[:limit]


def _numbers(col, scope, prefix: str, limit: int) -> list[dict]:
    """Documents whose số/ký hiệu starts like ``prefix`` (typed in any separator style)."""
    key = number_prefix(prefix)
    if key is None:
        return []
    keys = _visible(col, scope, "number_key",
                    col.reader.expand_prefix("number_key", key))
    docs = np.flatnonzero(_mask(col, scope, "number_key", keys))
    docs = docs[np.lexsort((col.id_rank[docs], -col.published[docs]))][:limit]
    items = []
    for docnum in docs:
        fields = col.stored(docnum)
        items.append({"text": fields.get("doc_number") or fields.get("title", ""),
                      "kind": "number", "id": fields["id"]})
    return items


def number_prefix(prefix: str) -> str | None:
    """The start of a number key that ``prefix`` types (``15/NQ`` → ``15-nq``), or None."""
    if not any(c.isdigit() for c in prefix):
        return None
    try:
        return canonical(prefix)
    except ValueError:
        return None


def _facet_values(col, scope, prefix: str) -> list[dict]:
    """Types and categories whose words start with what is typed, most documents first."""
    wanted = fold(prefix).lower().split()
    if not wanted:
        return []
    found = []
    for name, kind in (("doc_type", "type"), ("category", "category")):
        codes, values = col.columns[name][0], scope.labels[name]
        counts = np.bincount(codes[scope.mask & (codes >= 0)], minlength=len(values))
        for code, value in enumerate(values):
            words = fold(str(value)).lower().split()
            if counts[code] and _starts_with_words(words, wanted):
                found.append((-int(counts[code]), str(value), kind))
    return [{"text": value, "kind": kind, "id": None} for _, value, kind in sorted(found)]


def _starts_with_words(words: list[str], wanted: list[str]) -> bool:
    """``wanted`` appears in ``words`` in order, the last one possibly unfinished."""
    for start in range(len(words) - len(wanted) + 1):
        window = words[start:start + len(wanted)]
        if window[:-1] == wanted[:-1] and window[-1].startswith(wanted[-1]):
            return True
    return False


def _titles(col, scope, prefix: str, limit: int) -> list[dict]:
    """Titles holding every syllable typed, the last one possibly unfinished; best first."""
    folded = [f for _, f in parse_query(prefix, words=False).terms]   # no pyvi per keystroke
    if not folded or limit <= 0:
        return []
    *whole, last = folded
    matched = scope.mask.copy()
    for term in whole:
        matched &= _mask(col, scope, "title_f", [term])
    lasts = [last]
    if len(last) >= MIN_PREFIX:
        lasts = _visible(col, scope, "title_f",
                         col.reader.expand_prefix("title_f", last))
    matched &= _mask(col, scope, "title_f", lasts or [last])
    if not matched.any():
        return []
    plan = Plan([Clause([("title_f", t, 1.0)]) for t in whole + [last]])
    scores, _ = col.score(plan, scope)
    docs = np.flatnonzero(matched)
    docs = docs[np.lexsort((col.id_rank[docs], -col.published[docs], -scores[docs]))]
    return title_items((col.stored(d) for d in docs), limit)


def title_items(documents, limit: int) -> list[dict]:
    """The first ``limit`` distinct titles of ``documents`` (stored fields, best first)."""
    items, seen = [], set()
    for fields in documents:
        title = fields.get("title", "")
        if title and title not in seen:
            seen.add(title)
            items.append({"text": title, "kind": "document", "id": fields["id"]})
            if len(items) == limit:
                break
    return items


def _visible(col, scope, fieldname: str, candidates) -> list[str]:
    """Terms that a document of ``scope`` holds, the first ``MAX_EXPANSIONS`` of them."""
    terms = []
    for term in candidates:
        if col.doc_frequency(fieldname, term, scope):
            terms.append(term)
            if len(terms) == MAX_EXPANSIONS:
                break
    return terms


def _mask(col, scope, fieldname: str, terms) -> np.ndarray:
    mask = np.zeros(col.size, dtype=bool)
    for term in terms:
        mask[col.postings(fieldname, term)[0]] = True
    return mask & scope.mask
