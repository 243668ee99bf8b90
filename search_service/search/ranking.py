"""BM25F over the index's postings, accumulated in NumPy arrays.

Whoosh scores an OR of many terms one posting at a time in Python: ~0.5 s for a long
question. Here each term's postings are read block by block into arrays (and cached), and a
question's score is a handful of vectorised additions; filters, facets and sorting are array
operations over per-document columns read once per index generation.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from search_service.index.reader import EPOCH, MISSING_DATE, IndexReader, PostingsCache
from search_service.lru import LRU
from search_service.search.scope import Scope, scope_of

K1 = 1.2
# Titles are short and even, so their length counts less than a text's; 0.6 (from 0.4) lets a
# heading that is all the question asks about outrank a longer one holding the same words
# (cross-validated with KIND_PENALTY, bench/README.md).
B = {"title": 0.6, "title_f": 0.6, "title_bi": 0.6, "title_w": 0.6}
DEFAULT_B = 0.75
STORED_CHARS = 8_000_000    # characters of stored fields kept decoded per generation (~16 MB)
__all__ = ["EPOCH", "MISSING_DATE", "Clause", "Collection", "Plan", "PostingsCache", "Scope",
           "facet_key"]


@dataclass
class Clause:
    """A query part: its score is the sum of its matching alternatives, times ``boost``."""
    alternatives: list[tuple[str, str, float]]        # (field, term, boost)
    boost: float = 1.0


@dataclass
class Plan:
    """What to score: clauses summed; documents matching every clause of ``all_of`` rank
    above all others, in their usual order (short queries: all words first). ``prefer``:
    ``(mask, factor)`` pairs, a soft preference (the type or year typed) that multiplies
    the scores of the documents in ``mask``, before the lift of ``all_of``."""
    clauses: list[Clause] = field(default_factory=list)
    all_of: list[int] = field(default_factory=list)
    prefer: list[tuple[np.ndarray, float]] = field(default_factory=list)


class Collection:
    """Per-generation statistics and columns, read once and shared by every thread.

    Postings and stored fields are read through an :class:`IndexReader` of that generation,
    which one thread at a time may use: each thread works on its own :meth:`bind` of the
    collection to its own reader.
    """

    def __init__(self, reader: IndexReader, fields, facet_fields):
        self.reader = reader
        self.size = reader.size
        self.lengths = {f: reader.lengths(f) for f in fields}
        self.live = reader.live()
        self.forms: dict[str, tuple[np.ndarray, list, np.ndarray]] = {}
        self._keys: dict[str, dict] = {}             # facet_key(value) -> code, per column
        self.columns = {f: self._column(f) for f in facet_fields}
        self.published = reader.dates("published")
        self.id_rank = self._id_rank()
        self._scopes: dict[bool, Scope] = {}
        self._cache = PostingsCache()
        self._stored = LRU(STORED_CHARS, weight=_stored_weight, largest=STORED_CHARS // 8)

    def bind(self, reader: IndexReader) -> "Collection":
        """This collection read through ``reader`` (of the same generation): the arrays,
        scopes and postings cache are shared, not copied."""
        bound = copy.copy(self)
        bound.reader = reader
        return bound

    def scope(self, public_only: bool) -> Scope:
        """The public documents (``public_only``), or every live one (staff); computed once
        per generation (:func:`search_service.search.scope.scope_of`)."""
        found = self._scopes.get(public_only)
        if found is None:
            found = self._scopes[public_only] = scope_of(self, public_only)
        return found

    def _column(self, fieldname):
        """``(codes, values)``: the document's value as an index into ``values`` (-1: none).

        Values that differ only in case or spacing are one value (its first form stands
        for it here; :meth:`scope` says how each reader's documents write it); the forms
        themselves are kept in ``self.forms``."""
        values, index = [], {}
        forms, form_index, form_value = [], {}, []
        form_codes = np.full(self.size, -1, dtype=np.int32)
        missing = self.reader.missing_value(fieldname)      # a numeric column's "no value"
        for offset, part in self.reader.column_parts(fieldname, translate=True):
            code_of = {}            # per distinct value of the segment (a handful), in order
            for value in dict.fromkeys(part):
                if value in (None, "", b"", 0) or (missing is not None and value == missing):
                    code_of[value] = -1
                    continue
                if value not in form_index:
                    key = facet_key(value)
                    if key not in index:
                        index[key] = len(values)
                        values.append(value)
                    form_index[value] = len(forms)
                    forms.append(value)
                    form_value.append(index[key])
                code_of[value] = form_index[value]
            form_codes[offset:offset + len(part)] = [code_of[value] for value in part]
        form_value = np.array(form_value, dtype=np.int32)
        codes = np.append(form_value, np.int32(-1))[form_codes]    # -1 (none) picks the -1
        self._keys[fieldname] = index
        self.forms[fieldname] = (form_codes, forms, form_value)
        return codes, values

    def _id_rank(self) -> np.ndarray:
        """Each document's place in the order of ids: ties are broken by it, so an order
        never depends on which segment a document was written to."""
        ids = [""] * self.size
        for offset, part in self.reader.column_parts("id", translate=True):
            ids[offset:offset + len(part)] = part
        rank = np.empty(self.size, dtype=np.int64)
        rank[sorted(range(self.size), key=ids.__getitem__)] = np.arange(self.size)   # stable
        return rank

    def codes_of(self, fieldname: str, value) -> int:
        """The code of ``value`` (in any case) in a facet column, -2 (matches nothing) when
        absent."""
        return self._keys[fieldname].get(facet_key(value), -2)

    def stored(self, docnum: int) -> dict:
        """A document's stored fields (not to be changed: shared by every search of the
        generation). The documents read recently are kept decoded: the best documents of
        one query are often those of the next, and of its "did you mean"."""
        docnum = int(docnum)
        found, fields = self._stored.get(docnum)
        if not found:
            fields = self.reader.stored(docnum)
            self._stored.put(docnum, fields)
        return fields

    # -- postings --------------------------------------------------------------------------
    def postings(self, fieldname: str, term: str):
        """``(docnums, weights)`` arrays of a term, cached for common terms."""
        key = (fieldname, term)
        found, hit = self._cache.get(key)
        if found:
            return hit
        result = self.reader.postings(fieldname, term)
        self._cache.put(key, result)
        return result

    def recent_terms(self) -> list[tuple[str, str]]:
        """``(field, term)`` of the posting lists this generation holds decoded, most recently
        used first: what a newer generation decodes ahead of its first searches."""
        return self._cache.recent()

    def warm(self, keys, until) -> int:
        """Decode the posting lists of ``keys`` into the cache, in order, while ``until()``
        is true; returns how many were read."""
        done = 0
        for fieldname, term in keys:
            if not until():
                break
            self.postings(fieldname, term)
            done += 1
        return done

    def terms_with_prefix(self, fieldname: str, prefix: str, limit: int = 200) -> list[str]:
        """Terms of ``fieldname`` that start with ``prefix`` (number keys of a bare number),
        in any segment; at most ``limit``. A term only hidden documents hold still scores
        nothing for a reader who cannot see them."""
        return self.reader.expand_prefix(fieldname, prefix, limit)

    def doc_frequency(self, fieldname: str, term: str, scope: Scope) -> int:
        """How many documents of ``scope`` hold ``term``."""
        ids, _ = self.postings(fieldname, term)
        return int(scope.mask[ids].sum()) if len(ids) else 0

    # -- scoring ---------------------------------------------------------------------------
    def score(self, plan: Plan, scope: Scope) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, matched)`` over every document number; only documents of ``scope``
        match, and only they count in the statistics."""
        scores = np.zeros(self.size, dtype=np.float64)
        matched = np.zeros(self.size, dtype=bool)
        all_hits = np.ones(self.size, dtype=bool) if plan.all_of else None
        for number, clause in enumerate(plan.clauses):
            clause_scores, clause_hits = self._bm25f(clause, scope)
            scores += clause.boost * clause_scores
            matched |= clause_hits
            if all_hits is not None and number in plan.all_of:
                all_hits &= clause_hits
        for mask, factor in plan.prefer:
            scores = np.where(mask & matched, scores * factor, scores)
        if all_hits is not None and (all_hits & matched).any():
            # Lift documents with every word above all others, keeping their order.
            top = scores[matched].max()
            scores = np.where(all_hits & matched, scores + top, scores)
        return scores, matched

    def _bm25f(self, clause: Clause, scope: Scope):
        """BM25F: a clause's alternatives are one term seen in several fields, so their
        length-normalised frequencies add up *before* saturation (a word in the title and
        the body is not counted as two independent pieces of evidence)."""
        tf = np.zeros(self.size, dtype=np.float64)
        hits = np.zeros(self.size, dtype=bool)
        for fieldname, term, weight in clause.alternatives:
            ids, weights = self.postings(fieldname, term)
            if not len(ids):
                continue
            hits[ids] = True
            lengths = self.lengths.get(fieldname)
            if lengths is None:           # a keyword field (number keys): no length to normalise
                tf[ids] += weight * weights
                continue
            b = B.get(fieldname, DEFAULT_B)
            avg = scope.avg_length[fieldname] or 1.0
            tf[ids] += weight * weights / ((1.0 - b) + b * lengths[ids] / avg)
        hits &= scope.mask
        df = int(hits.sum())
        if not df:
            return np.zeros(self.size, dtype=np.float64), hits
        idf = math.log(1.0 + (scope.size - df + 0.5) / (df + 0.5))
        return np.where(hits, idf * tf * (K1 + 1.0) / (tf + K1), 0.0), hits


def _stored_weight(fields: dict) -> int:
    return 100 + sum(len(v) for v in fields.values() if isinstance(v, str))


def facet_key(value):
    """How facet values are compared: case and spacing aside.

    >>> facet_key("  AN NINH -  QUỐC PHÒNG"), facet_key(2024)
    ('an ninh - quốc phòng', 2024)
    """
    return " ".join(value.casefold().split()) if isinstance(value, str) else value
