"""Our BM25F over what the cluster returns: the query plan becomes one MATCH over per-field
keywords, each candidate's frequencies come back per keyword (``PACKEDFACTORS()``), and the
statistics (documents, average lengths, document frequencies) are those of the whole cluster
as the reader may see it, so a document scores the same whichever shard holds it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from search_service.cluster.schema import keyword
from search_service.search.ranking import B, DEFAULT_B, K1, Plan

_WORD = re.compile(r"word(\d+)=\(tf=(\d+)")


def _field_boosts() -> dict[str, float]:
    """The embedded schema's index-time boosts: Whoosh multiplies a title's frequencies by
    them, so our score must too."""
    from search_service.index.schema import build_schema

    schema = build_schema()
    return {name: float(getattr(getattr(schema[name], "format", None), "field_boost", 1.0)
                        or 1.0) for name in schema.names()}


FIELD_BOOST = _field_boosts()
# Sphinx's own ranking only picks the candidates. Not bm25f/bm25a: on an RT index whose
# documents went to a disk chunk, Sphinx 2.2.11 gives them every document alike (measured:
# WEIGHT() 0.5 for all 1,555 matches of a question over 3,000 articles, so the candidates
# were arbitrary). The sum over fields of tf × idf (idf with our ^ boosts) is computed right.
RANKER = "expr('10000*sum(tf_idf)')"


@dataclass
class Matching:
    """A plan as keywords: ``keywords[i]`` is query word ``i`` of the MATCH (Sphinx numbers
    them in order), ``clauses[c]`` lists ``(word, field, weight)`` of clause ``c``."""
    keywords: list[str] = field(default_factory=list)
    clauses: list[list[tuple[int, str, float]]] = field(default_factory=list)
    boosts: list[float] = field(default_factory=list)
    all_of: list[int] = field(default_factory=list)

    def any_of(self) -> str:
        """The OR of every keyword, each boosted roughly as its clause (for Sphinx's ranking
        of candidates only; the final score is ours)."""
        boost = [0.0] * len(self.keywords)
        for clause, factor in zip(self.clauses, self.boosts):
            for word, _, weight in clause:
                boost[word] = max(boost[word], factor * weight)
        return "(" + " | ".join(k if abs(b - 1.0) < 1e-9 else f"{k}^{b:.4g}"
                                for k, b in zip(self.keywords, boost)) + ")"

    def clause_match(self, number: int) -> str:
        return "(" + " | ".join(self.keywords[w] for w, _, _ in self.clauses[number]) + ")"


def matching(plan: Plan) -> Matching:
    out = Matching(boosts=[c.boost for c in plan.clauses], all_of=list(plan.all_of))
    index: dict[str, int] = {}
    for clause in plan.clauses:
        words = []
        for fieldname, term, weight in clause.alternatives:
            kw = keyword(fieldname, term)
            if kw not in index:
                index[kw] = len(out.keywords)
                out.keywords.append(kw)
            words.append((index[kw], fieldname, weight))
        out.clauses.append(words)
    return out


def frequencies(packed: str) -> dict[int, int]:
    """``{query word: frequency}`` from a PACKEDFACTORS() string (words with hits only).

    >>> frequencies("bm25=1, word0=(tf=2, idf=0.1), word2=(tf=0, idf=0.1), word3=(tf=1, idf=0)")
    {0: 2, 3: 1}
    """
    return {int(n): int(tf) for n, tf in _WORD.findall(packed) if tf != "0"}


@dataclass
class Stats:
    """What BM25 needs of the documents a reader may see, over the whole cluster."""
    size: int
    avg_length: dict[str, float]


def score(m: Matching, tf: dict[int, int], lengths: dict[str, int], stats: Stats,
          df: list[int]) -> tuple[float, list[bool]]:
    """One document's score and which clauses it matches: the embedded engine's BM25F
    (frequencies of one term in several fields add before saturation)."""
    total, hits = 0.0, []
    for number, clause in enumerate(m.clauses):
        weighted, hit = 0.0, False
        for word, fieldname, weight in clause:
            freq = tf.get(word)
            if not freq:
                continue
            hit = True
            freq *= FIELD_BOOST.get(fieldname, 1.0)
            if fieldname not in lengths:           # number keys: no length to normalise
                weighted += weight * freq
                continue
            b = B.get(fieldname, DEFAULT_B)
            avg = stats.avg_length.get(fieldname) or 1.0
            weighted += weight * freq / ((1.0 - b) + b * lengths[fieldname] / avg)
        hits.append(hit)
        if hit and df[number]:
            idf = math.log(1.0 + (stats.size - df[number] + 0.5) / (df[number] + 0.5))
            total += m.boosts[number] * idf * weighted * (K1 + 1.0) / (weighted + K1)
    return total, hits
