"""Second looks at the best documents of a long question: pseudo-relevance feedback, term
proximity and the kind of answer asked for. They read the stored text of a few top documents
the reader may see, so nothing here depends on documents outside the reader's scope.

* **Feedback** (RM3-style): the syllables the top documents share, weighted by how well each
  document scored and how rare the syllable is, are added to the question with a small
  weight; they reorder what the question found, they never add documents.
* **Proximity**: the question's content syllables close together in a document (not only
  adjacent, which the pair fields see) multiply its score by up to ``1 + weight``.
* **Kind of answer**: a document whose heading opens with another kind of rule than the one
  asked for ("Thủ tục …" when "những yêu cầu gì" is asked; :mod:`search_service.search.asks`)
  has its score multiplied by ``1 - penalty``.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from search_service.search import asks, query
from search_service.search.highlight import fold_text
from search_service.search.ranking import Clause

TEXT_CHARS = 6000            # of a document's text, read for feedback and proximity
_WORDS = re.compile(r"[^\W_]+")


def folded_words(text: str) -> list[str]:
    """Lowercase folded syllables of ``text`` (``highlight.fold_text``).

    >>> folded_words("Phòng cháy, chữa cháy: Điều 5")
    ['phong', 'chay', 'chua', 'chay', 'dieu', '5']
    """
    return _WORDS.findall(fold_text(text[:TEXT_CHARS]))


def document_words(col, docnum: int) -> list[str]:
    fields = col.stored(docnum)
    return folded_words((fields.get("title") or "") + " \n " + (fields.get("body") or ""))


def look_again(col, scores: np.ndarray, matched: np.ndarray, question) -> np.ndarray:
    """A long question's (parsed) scores after proximity and the kind of answer asked for,
    each on its best documents (the constants of :mod:`search_service.search.query`); ``col``
    needs only ``stored(docnum)``. Only documents ``matched`` are reordered."""
    scores = scores.copy()
    if query.PROXIMITY_DOCS:
        docs, factors = proximity_factors(
            col, scores, matched, query.content_syllables(question), docs=query.PROXIMITY_DOCS,
            window=query.PROXIMITY_WINDOW, weight=query.PROXIMITY_WEIGHT)
        scores[docs] *= factors
    asked = asks.asked_kinds([f for _, f in question.terms])
    if query.KIND_PENALTY and asked:
        docs = top_documents(scores, matched, query.KIND_DOCS)
        scores[docs] *= kind_factors(col, docs, asked, query.KIND_PENALTY)
    return scores


def kind_factors(col, docs: np.ndarray, asked: frozenset[str], penalty: float) -> np.ndarray:
    """For each of ``docs``, ``1 - penalty`` if its heading opens with another kind of answer
    than those ``asked`` (:func:`asks.opens_with_another_kind`), else 1."""
    factors = np.ones(len(docs))
    for n, docnum in enumerate(docs):
        if asks.opens_with_another_kind(asked, asks.heading_of(col.stored(docnum))):
            factors[n] = 1.0 - penalty
    return factors


def top_documents(scores: np.ndarray, matched: np.ndarray, count: int) -> np.ndarray:
    docs = np.flatnonzero(matched)
    if len(docs) > count:
        docs = docs[np.argpartition(-scores[docs], count - 1)[:count]]
    return docs[np.argsort(-scores[docs], kind="stable")]


def feedback_clauses(col, scope, scores, matched, query_terms: set[str], stop, *, docs: int,
                     terms: int, weight: float, field_clause) -> list[Clause]:
    """Clauses for the ``terms`` syllables the ``docs`` best documents share most (RM1
    weights times idf), each weighted relative to the best by ``weight``."""
    best = top_documents(scores, matched, docs)
    if len(best) < 2:
        return []
    top = scores[best].max() or 1.0
    relevance: Counter = Counter()
    for docnum in best:
        words = document_words(col, docnum)
        if not words:
            continue
        share = math.exp(scores[docnum] / top - 1.0)      # the better documents count more
        for word, count in Counter(words).items():
            if len(word) > 1 and word.isalpha() and word not in query_terms and not stop(word):
                relevance[word] += share * count / len(words)
    weighted = {}
    for word, value in relevance.most_common(terms * 3):
        df = col.doc_frequency("body_f", word, scope)
        if df > 1:
            weighted[word] = value * math.log(1.0 + (scope.size - df + 0.5) / (df + 0.5))
    chosen = sorted(weighted, key=lambda w: (-weighted[w], w))[:terms]
    if not chosen:
        return []
    strongest = weighted[chosen[0]]
    return [field_clause(w, weight * weighted[w] / strongest) for w in chosen]


def proximity_factors(col, scores, matched, content: list[str], *, docs: int, window: float,
                      weight: float) -> tuple[np.ndarray, np.ndarray]:
    """``(docnums, factors)``: for the ``docs`` best documents, ``1 + weight × closeness``,
    where closeness is the mean over neighbouring content syllables of the question of
    ``exp(-(gap - 1) / window)``, gap being their smallest distance in the document."""
    pairs = [(a, b) for a, b in zip(content, content[1:]) if a != b]
    best = top_documents(scores, matched, docs)
    if not pairs or not len(best):
        return best, np.ones(len(best))
    wanted = set(content)
    factors = np.ones(len(best))
    for n, docnum in enumerate(best):
        positions: dict[str, list[int]] = {}
        for i, word in [(i, w) for i, w in enumerate(document_words(col, docnum))
                        if w in wanted]:
            positions.setdefault(word, []).append(i)
        closeness = sum(math.exp(-(_smallest_gap(positions[a], positions[b]) - 1) / window)
                        for a, b in pairs if a in positions and b in positions)
        factors[n] = 1.0 + weight * closeness / len(pairs)
    return best, factors


def _smallest_gap(first: list[int], second: list[int]) -> int:
    """The smallest distance between a position of ``first`` and one of ``second`` (both
    ascending), at least 1.

    >>> _smallest_gap([1, 20], [5, 23]), _smallest_gap([7], [7])
    (3, 1)
    """
    i = j = 0
    best = abs(first[0] - second[0])
    while i < len(first) and j < len(second):
        gap = first[i] - second[j]
        best = min(best, abs(gap))
        if gap < 0:
            i += 1
        else:
            j += 1
    return max(best, 1)
